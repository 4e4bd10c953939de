"""`wandb-kit people` as a lab admin meets it in the first hour: an empty file, --prune,
a username another account holds, two applies at once, Ctrl-C, the kit's own account in
`show`, and an instance admin's key without a browser (--admin-api).

Against a fake server (remote.Server replaced by tests/fakewandb.py's FakePeople: what it
holds, every change it is asked for) and, for --admin-api, a fake compose (Compose.up
records the .env it would read)."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest
from wandb_local_kit.cli import main
from wandb_local_kit.core.envfile import read_env, render
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.server import bootstrap, client
from wandb_local_kit.server.people import labfile, remote
from wandb_local_kit.stack import identity, settings
from wandb_local_kit.stack.compose import Compose

from tests.fakewandb import FakePeople

URL = "http://wandb.lab.test:8080"
KEY = "local-" + "f6" * 20


def _user(username, email, admin=False, active=True):
    return remote.RemoteUser(username, email, admin, active)


def _member(team, user, role="member"):
    return remote.RemoteMember(team, user.username, user.email, "", role, False, False, handle=user)


ROOT = _user("root", "root@lab.org", admin=True)  # the key's own user
KIT = _user("admin", "admin@localhost", admin=True)  # the admin API key's identity
BOB = _user("bob", "bob@lab.org")


@pytest.fixture
def fake(monkeypatch, tmp_path):
    people = FakePeople(caller="root", users=[ROOT, KIT, BOB], scim=True)
    monkeypatch.setattr(remote, "Server", people.server)
    monkeypatch.setattr(client, "find_key", lambda where: (KEY, "test"))
    monkeypatch.setattr(client, "probe", lambda where: None)
    monkeypatch.setenv("WANDB_KIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WANDB_KIT_LOCK_WAIT", raising=False)
    monkeypatch.chdir(tmp_path)
    return people


def _people(*args: str, url: bool = True) -> int:
    return main(["people", *args, *(["--url", URL] if url else [])])


def _lab(tmp_path: Path, text: str) -> str:
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return str(path)


def _changes(fake: FakePeople) -> list[str]:
    return [c for c in fake.calls if c != "read"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


ANA = "users:\n  - email: ana@lab.org\n    username: ana\n"


# --- 1. an empty file ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# the lab, to be filled in\n",
        "users:\n",
        "users: []\nteams: []\n",
        "service_accounts:\n",
    ],
    ids=["empty", "comment-only", "bare-users", "empty-lists", "no-users-no-teams"],
)
@pytest.mark.parametrize("action", [("plan",), ("apply", "--prune", "--yes")])
def test_an_empty_lab_file_is_refused_before_the_server_is_asked(
    fake, tmp_path, capsys, text, action
):
    # Before: "0 change(s) planned (the server matches the file)"; with --prune, every
    # user but the key's own deactivated without a word.
    assert _people(action[0], _lab(tmp_path, text), *action[1:]) == 2
    err = capsys.readouterr().err
    assert "lists no users and no teams; nothing was changed" in err
    assert "--allow-empty" in err and "people show -o FILE" in err
    assert fake.calls == [] and fake.keys == []


def test_allow_empty_is_the_deliberate_way(fake, tmp_path, capsys):
    assert _people("plan", _lab(tmp_path, "users: []\n"), "--allow-empty") == 0
    assert "0 change(s) planned" in capsys.readouterr().out


# --- 2. --prune: a count, a question, never the applying identity --------------------------


def test_prune_without_a_terminal_needs_yes_and_changes_nothing(fake, tmp_path, capsys):
    lab = _lab(tmp_path, ANA)
    assert _people("apply", lab, "--prune") == 2
    err = capsys.readouterr().err
    assert "--prune would have 1 user(s) deactivated" in err and "--yes" in err
    assert "nothing was changed" in err and _changes(fake) == []
    assert _people("apply", lab, "--prune", "--yes") == 0
    assert "patch bob" in " ".join(_changes(fake))


@pytest.mark.parametrize(("answer", "code"), [("n\n", 2), ("\n", 2), ("y\n", 0)])
def test_prune_on_a_terminal_says_how_many_and_asks(
    fake, tmp_path, capsys, monkeypatch, answer, code
):
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    assert _people("apply", _lab(tmp_path, ANA), "--prune") == code
    out = capsys.readouterr().out
    assert "--prune: 1 user(s) deactivated" in out and "- user bob@lab.org: deactivate" in out
    assert ("patch bob" in " ".join(_changes(fake))) is (code == 0)
    if code:
        assert _changes(fake) == []


def test_prune_never_deactivates_the_keys_own_user_nor_the_kits_account(fake, tmp_path, capsys):
    # Before: admin@localhost (the admin API key's identity) was deactivated with the rest:
    # `login --bootstrap` and --admin-api then fail.
    assert _people("plan", _lab(tmp_path, ANA), "--prune") == 0
    out = capsys.readouterr().out
    assert "- user bob@lab.org: deactivate" in out
    assert "root@lab.org: deactivate" not in out and "admin@localhost: deactivate" not in out
    assert "root@lab.org (the identity applying this file) is not in the file; kept" in out
    assert "admin@localhost (the kit's own account" in out


# --- 3. usernames and emails other accounts hold -------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (  # a new person, a username an older account holds (SCIM: 409 mid-apply)
            "users:\n  - email: bo@lab.org\n  - email: bob2@lab.org\n    username: bob\n",
            ["lab.yaml line 3", "username 'bob' (bob2@lab.org)", "bob@lab.org", "fix:"],
        ),
        (  # the email is an account of another name
            "users:\n  - email: bob@lab.org\n    username: robert\n",
            ["lab.yaml line 2", "already the account 'bob'", "write username: bob"],
        ),
        (  # a new team named like a user (one namespace)
            ANA + "teams:\n  - name: bob\n",
            ["lab.yaml line 5", "team name 'bob' is the username of bob@lab.org", "rename"],
        ),
    ],
    ids=["username-taken", "email-is-another-account", "team-named-like-a-user"],
)
@pytest.mark.parametrize("action", ["plan", "apply"])
def test_what_another_account_holds_is_refused_in_plan(fake, tmp_path, capsys, text, words, action):
    # Before: plan passed, and apply failed on SCIM's 409 ("check the server's log").
    assert _people(action, _lab(tmp_path, text)) == 2
    err = capsys.readouterr().err
    assert "another account on the server holds; nothing was changed" in err
    for w in words:
        assert w in err, err
    assert _changes(fake) == []


def test_a_deactivated_account_still_holds_its_username(fake, tmp_path, capsys):
    fake.users = [ROOT, _user("bob", "bob@old.org", active=False)]
    assert _people("plan", _lab(tmp_path, ANA.replace("ana", "bob"))) == 2
    assert "bob@old.org (deactivated)" in capsys.readouterr().err


# --- 4. two applies at once ------------------------------------------------------------------


def test_a_second_apply_on_the_same_server_is_refused_naming_the_first(fake, tmp_path, capsys):
    lab = _lab(tmp_path, ANA)
    second: list[int] = []

    def meanwhile(change):
        if change.startswith("create_user") and not second:
            before = list(fake.calls)
            second.append(_people("apply", lab))
            assert fake.calls == before  # the second read and changed nothing

    fake.hook = meanwhile
    assert _people("apply", lab) == 0
    assert second == [2]
    err = capsys.readouterr().err
    assert f"`people apply` (pid {os.getpid()}, started " in err
    assert "was not started and nothing was changed" in err
    assert _changes(fake) == ["create_user ana@lab.org"]


# --- 5. Ctrl-C during apply --------------------------------------------------------------------


@pytest.mark.parametrize("json_out", [False, True])
def test_ctrl_c_during_apply_says_what_was_done_and_how_to_finish(fake, tmp_path, capsys, json_out):
    text = ANA + "teams:\n  - name: vision\n    members:\n      - user: ana\n"

    def ctrl_c(change):
        if change.startswith("create_team"):
            raise KeyboardInterrupt

    fake.hook = ctrl_c
    lab = _lab(tmp_path, text)
    assert _people("apply", lab, *(["--json"] if json_out else [])) == 130
    out, err = capsys.readouterr()
    assert "interrupted during `people apply`: 1 of 3 change(s) made" in err
    assert f"run `wandb-kit people apply {lab}` again" in err and "nothing twice" in err
    assert "+ user ana@lab.org" in (err if json_out else out)


# --- 6. the kit's own account in `show` --------------------------------------------------------


def test_show_marks_the_kits_account_and_its_file_applies_with_0_changes(fake, tmp_path, capsys):
    fake.teams = {"vision": [_member("vision", KIT, "admin"), _member("vision", BOB)]}
    shown = tmp_path / "shown.yaml"
    assert _people("show", "-o", str(shown)) == 0
    text = shown.read_text()
    before = text.split("- email: admin@localhost")[0].splitlines()[-1]
    assert before.startswith("# the kit's own account") and "--prune keeps it" in before
    assert _people("apply", str(shown)) == 0
    assert "0 change(s) made" in capsys.readouterr().out and _changes(fake) == []

    lab_only = tmp_path / "lab-only.yaml"
    assert _people("show", "-o", str(lab_only), "--without-kit-accounts") == 0
    assert "admin@localhost" not in lab_only.read_text()
    assert "bob@lab.org" in lab_only.read_text()
    capsys.readouterr()
    # ... and that file, pruned, leaves the kit's account active (its team place goes)
    assert _people("plan", str(lab_only), "--prune") == 0
    out = capsys.readouterr().out
    assert "admin@localhost: deactivate" not in out


# --- 7. --admin-api: an instance admin's key without a browser --------------------------------


@pytest.fixture
def stack(fake, tmp_path, monkeypatch):
    """The kit's .env (admin API off) and a fake compose: each `up` records the switch it
    would start the server with, and the deployment's lock is tried from the server."""
    compose_dir = settings.default_compose_dir()
    values = settings.build_values({}, settings.example_values(compose_dir), {"host": URL})
    values["WANDB_ADMIN_API_ENABLED"] = "false"
    env_file = tmp_path / "lab.env"
    env_file.write_text(render((compose_dir / ".env.example").read_text(), values))
    env_file.chmod(0o600)
    ups: list[str] = []
    monkeypatch.setattr(
        Compose, "up", lambda self, *a, **k: ups.append(read_env(env_file)[bootstrap.ADMIN_SWITCH])
    )
    monkeypatch.setattr(bootstrap, "_server_runs_here", lambda deployment: True)
    monkeypatch.setattr(identity, "refuse_foreign", lambda *a: None)
    monkeypatch.setattr(client, "find_key", lambda where: (None, ""))  # no personal key
    return env_file, read_env(env_file)["WANDB_ADMIN_API_KEY"], ups


def test_admin_api_uses_the_env_key_and_turns_it_off_again(stack, fake, tmp_path, capsys):
    env_file, admin_key, ups = stack
    locked: list[bool] = []

    def try_the_lock(change):
        from wandb_local_kit.stack.deployment import Deployment

        try:
            with Deployment.load(None, env_file, must_exist=True).locked("up", wait_s=0):
                locked.append(False)
        except KitError:
            locked.append(True)

    fake.hook = try_the_lock
    lab = _lab(tmp_path, ANA)
    assert _people("apply", lab, "--admin-api", "--env-file", str(env_file), url=False) == 0
    out, err = capsys.readouterr()
    assert fake.keys == [admin_key] and ups == ["true", "false"]
    assert read_env(env_file)[bootstrap.ADMIN_SWITCH] == "false"
    assert locked and all(locked)  # the deployment's lock held throughout
    assert "turning the admin API off again" in out and admin_key not in out + err


def test_admin_api_with_json_and_show(stack, fake, tmp_path, capsys):
    env_file, admin_key, ups = stack
    loc = ["--admin-api", "--env-file", str(env_file)]
    assert _people("plan", _lab(tmp_path, ANA), "--json", *loc, url=False) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["changes"] == 1  # the progress lines went to stderr
    assert "turning the admin API off again" in err
    assert _people("show", *loc, url=False) == 0
    assert "email: admin@localhost" in capsys.readouterr().out
    assert fake.keys == [admin_key, admin_key] and ups == ["true", "false"] * 2


@pytest.mark.parametrize("ending", [KeyboardInterrupt, KitError])
def test_admin_api_is_off_again_however_the_command_ends(stack, fake, tmp_path, ending):
    env_file, _, ups = stack

    def fail(change):
        raise ending("stopped") if ending is KitError else ending

    fake.hook = fail
    code = _people("plan", _lab(tmp_path, ANA), "--admin-api", "--env-file", str(env_file))
    assert code in (1, 2, 130) and ups == ["true", "false"]
    assert read_env(env_file)[bootstrap.ADMIN_SWITCH] == "false"


def test_admin_api_refuses_another_server(stack, fake, tmp_path, capsys):
    env_file, _, ups = stack
    code = main(
        ["people", "show", "--admin-api", "--env-file", str(env_file), "--url", "http://x.test"]
    )
    assert code == 2 and ups == [] and fake.calls == []
    assert "--admin-api works on the kit's own stack" in capsys.readouterr().err


def test_without_a_key_the_fix_names_admin_api(fake, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(client, "find_key", lambda where: (None, ""))
    assert _people("plan", _lab(tmp_path, ANA)) == 2
    assert "--admin-api" in capsys.readouterr().err


def test_what_show_writes_reads_back_with_the_kit_comment():
    lab = labfile.LabFile(users=(labfile.User("admin@localhost", "admin", True),))
    text = labfile.dump(lab, frozenset({"admin@localhost"}))
    assert "# the kit's own account" in text and labfile.parse(text) == lab
