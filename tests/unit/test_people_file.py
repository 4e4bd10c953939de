"""The lab file of `wandb-kit people`: every problem named with its line and fix, all at once;
what `show` writes reads back to the same content."""

from __future__ import annotations

import pytest
from wandb_local_kit.core.errors import EXIT_USAGE, KitError
from wandb_local_kit.server.people import labfile

from tests.require import unavailable

GOOD = """\
users:
  - email: ana@lab.org
    username: ana
    admin: true
  - email: bob@lab.org
teams:
  - name: vision
    members:
      - user: ana
        role: admin
      - user: bob@lab.org
service_accounts:
  - name: ci-vision
    team: vision
"""


def problems(text: str) -> str:
    with pytest.raises(KitError) as exc:
        labfile.parse(text, "lab.yaml")
    assert exc.value.exit_code == EXIT_USAGE
    assert "nothing was changed" in exc.value.problem
    return exc.value.render()


def test_good_file_reads_with_defaults():
    lab = labfile.parse(GOOD)
    assert [u.email for u in lab.users] == ["ana@lab.org", "bob@lab.org"]
    assert lab.users[0].admin and not lab.users[1].admin
    assert lab.teams[0].members == (
        labfile.Member("ana", "admin"),
        labfile.Member("bob@lab.org", "member"),
    )
    assert lab.service_accounts == (labfile.ServiceAccount("ci-vision", "vision"),)


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (("    admin: true", "    admn: true"), 4, ["unknown key 'admn'", "did you mean 'admin'"]),
        (("  - email: bob@lab.org", "  - email: ana@lab.org"), 5, ["duplicate email ana@lab.org"]),
        (("    team: vision", "    team: visoin"), 13, ["unknown team 'visoin'", "add the team"]),
        (("        role: admin", "        role: owner"), 10, ["invalid role 'owner'", "viewer"]),
        (
            ("      - user: bob@lab.org", "      - user: ana@lab.org"),
            11,
            ["ana@lab.org is listed twice"],
        ),
        (("      - user: bob@lab.org", "      - user: zed"), 11, ["unknown user 'zed'"]),
        (("    admin: true", "    admin: yes please"), 4, ["admin must be true or false"]),
    ],
)
def test_bad_file_names_the_line_and_the_fix(edit, line, words):
    text = problems(GOOD.replace(*edit))
    assert f"lab.yaml line {line}:" in text, text
    for w in words:
        assert w in text, text
    assert "fix:" in text


def test_all_problems_reported_at_once():
    text = problems(GOOD.replace("role: admin", "role: boss").replace("team: vision", "team: x"))
    assert "2 problem(s)" in text and "line 10" in text and "line 13" in text


def test_not_yaml_or_wrong_shape():
    text = problems_or_error("users:\n\t- email: a\n")
    assert "lab.yaml line 2 is not valid YAML" in text and "fix:" in text
    assert "must be a list" in problems("users: ana@lab.org\n")


def problems_or_error(text: str) -> str:
    with pytest.raises(KitError) as exc:
        labfile.parse(text, "lab.yaml")
    return exc.value.render()


def test_dump_reads_back_to_the_same_file():
    lab = labfile.parse(GOOD)
    again = labfile.parse(labfile.dump(lab))
    assert again.users == lab.users and again.teams == lab.teams
    assert again.service_accounts == lab.service_accounts


# --- files the OS makes odd, and the command around the file -------------------------------

import os  # noqa: E402 - the section's own imports
import stat  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from wandb_local_kit.cli import main  # noqa: E402
from wandb_local_kit.core.files import MAX_DEPTH  # noqa: E402
from wandb_local_kit.server import client  # noqa: E402
from wandb_local_kit.server.people import remote  # noqa: E402

from tests.fakewandb import FakePeople  # noqa: E402


def _kit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(cwd), WANDB_KIT_HOME=str(cwd), NETRC=str(cwd / ".netrc"))
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *args],
        capture_output=True, text=True, timeout=30, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_named_pipe_as_the_lab_file_is_refused_at_once(tmp_path):
    # Before: `people plan FIFO` waited forever for a writer.
    fifo = tmp_path / "lab.yaml"
    os.mkfifo(fifo)
    result = _kit("people", "plan", str(fifo), "--url", "http://127.0.0.1:9", cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "is a named pipe" in out and "regular file" in out and "Traceback" not in out
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_lab_file_that_is_not_utf8_names_the_line(tmp_path):
    # Before: "internal error (a bug)", exit 70.
    lab = tmp_path / "lab.yaml"
    lab.write_bytes(b"users:\n  - email: jos\xe9@lab.org\n")
    with pytest.raises(KitError) as exc:
        labfile.load(lab)
    assert exc.value.exit_code == EXIT_USAGE
    assert "is not UTF-8 text (line 2" in exc.value.problem and "iconv" in exc.value.fix


@pytest.mark.parametrize(
    "text",
    [
        "users:\n" + "- " * 30000 + "x\n",  # 30,000 levels: the YAML reader's own recursion
        "users: " + "[" * 30000 + "]" * 30000 + "\n",
        "users: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",  # readable, too deep
    ],
    ids=["block-30000", "flow-30000", "flow-past-the-limit"],
)
def test_a_deeply_nested_lab_file_is_refused_with_the_depth_limit(text):
    # Before: RecursionError, "internal error (a bug)", exit 70.
    with pytest.raises(KitError) as exc:
        labfile.parse(text, "lab.yaml")
    assert exc.value.exit_code == EXIT_USAGE
    assert f"lab.yaml nests lists or mappings more than {MAX_DEPTH} levels deep" in (
        exc.value.problem
    )


LAB_WITH_SA = """\
users:
  - email: ana@lab.org
teams:
  - name: vision
    members:
      - user: ana@lab.org
        role: admin
service_accounts:
  - name: ci-vision
    team: vision
"""


@pytest.fixture
def fake_server(monkeypatch, tmp_path):
    bob = remote.RemoteUser("bob", "bob@lab.org", False, True)
    people = FakePeople(caller="admin", users=[bob], scim=False, scim_reason="no license")
    monkeypatch.setattr(remote, "Server", people.server)
    monkeypatch.setattr(client, "find_key", lambda where: ("local-" + "f6" * 20, "test"))
    monkeypatch.setattr(client, "probe", lambda where: people.calls.append("probe"))
    monkeypatch.setenv("WANDB_KIT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return people


def _people(*args: str) -> int:
    return main(["people", *args, "--url", "http://wandb.lab.test:8080"])


def test_people_show_refuses_a_folder_or_a_device_before_contacting_the_server(
    fake_server, tmp_path, capsys
):
    # Before: the server was read, then writing failed: exit 70.
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o600, os.makedev(1, 7))
    for output, said in ((tmp_path, "is a folder"), (full, "is a character device")):
        with pytest.raises(SystemExit) as exc:
            _people("show", "-o", str(output))
        assert exc.value.code == 2
        assert said in capsys.readouterr().err
    assert fake_server.calls == [] and fake_server.made == []
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_people_show_writes_through_a_link_and_dash_is_standard_output(
    fake_server, tmp_path, capsys
):
    target = tmp_path / "repo" / "people.yaml"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "people.yaml"
    link.symlink_to(target)
    assert _people("show", "-o", str(link)) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "bob@lab.org" in target.read_text()
    assert f"wrote {link} (a link; wrote {target})" in capsys.readouterr().out
    # `-o -`: the lab file on standard output, no file named "-".
    assert _people("show", "-o", "-") == 0
    assert "email: bob@lab.org" in capsys.readouterr().out
    assert not (tmp_path / "-").exists()


def test_people_apply_checks_the_keys_folder_before_changing_the_server(
    fake_server, tmp_path, capsys
):
    # Before: the user, the team and the service account were created, then the key
    # could not be written: a traceback, exit 70, and no way to get the key back.
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB_WITH_SA)
    not_a_folder = tmp_path / "keys"
    not_a_folder.write_text("a file\n")
    with pytest.raises(SystemExit) as exc:  # refused as the command line is read
        _people("apply", str(lab), "--keys-dir", str(not_a_folder))
    assert exc.value.code == 2
    assert "is not a folder (it is a file)" in capsys.readouterr().err
    assert not_a_folder.read_text() == "a file\n"
    assert fake_server.calls == [] and fake_server.made == []


def test_people_apply_refuses_a_keys_folder_it_cannot_create_before_any_change(
    fake_server, tmp_path, capsys
):
    if os.access("/proc/sys", os.W_OK):
        unavailable("needs a folder this user cannot write (/proc/sys is writable here)")
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB_WITH_SA)
    assert _people("apply", str(lab), "--keys-dir", "/proc/sys/wandb-kit-keys") == 2
    err = capsys.readouterr().err
    assert "the keys folder (--keys-dir)" in err and "not writable" in err
    assert "nothing was changed" in err
    assert fake_server.calls == [] and fake_server.made == []
    # Without service accounts no key is written: the folder is not in the way.
    lab.write_text(LAB_WITH_SA.split("service_accounts:")[0])
    assert _people("apply", str(lab), "--keys-dir", "/proc/sys/wandb-kit-keys") == 0
    assert "create_user ana@lab.org" in fake_server.calls


def test_a_key_that_cannot_be_written_after_the_server_changed_says_how_to_finish(
    fake_server, tmp_path, capsys
):
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB_WITH_SA)
    keys = tmp_path / "keys"

    # The folder passes the check, then is replaced by a file (another process, a full
    # disk...) while the server creates the account: the race no check can close.
    def meanwhile(change):
        if change.startswith("create_service_account"):
            keys.write_text("taken\n")

    fake_server.hook = meanwhile
    assert _people("apply", str(lab), "--keys-dir", str(keys)) == 1
    out, err = capsys.readouterr()
    assert "create_service_account vision ci-vision" in fake_server.calls
    assert "service account ci-vision in team vision was created on the server" in err
    assert "wandb-kit people apply" in err and "again" in err
    assert "+ user ana@lab.org" in out  # what was done is on the record
    assert "e5e5" not in out + err
