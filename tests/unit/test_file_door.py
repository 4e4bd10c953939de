"""The one door for files (core/files.py), tried with what the operating system can put
at a path: a device node, a named pipe, a symlink, a folder, a full disk, text that is not
UTF-8, a document nested too deep, and two writers at once.

Two guards keep it the one door: every path option of every command is given each odd
kind of file (found by walking the real parser, so a new option is covered the day it is
added), and a scan of deploy/ fails when a module opens a file for writing around the door.
We run as root (CI and the developers' machines), so device nodes and tmpfs mounts are real.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from wandb_local_kit import cli
from wandb_local_kit.commands import argtypes
from wandb_local_kit.core import files
from wandb_local_kit.core.errors import KitError

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "deploy" / "wandb_local_kit"
FULL = os.makedev(1, 7)  # the numbers of /dev/full: every write to it fails with ENOSPC
DOCUMENTED = {0, 1, 2, 3}
SECONDS = 20  # a command given a fifo must answer within this (it used to hang forever)


def _device(path: Path) -> Path:
    os.mknod(path, stat.S_IFCHR | 0o666, FULL)
    return path


def _node_intact(path: Path) -> bool:
    info = os.lstat(path)
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == FULL


@contextlib.contextmanager
def _full_disk(tmp_path: Path, fill: bool = True):
    """A 64 KiB tmpfs, filled to the last block (or left empty: a small disk)."""
    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        if fill:
            with open(mount / "filler", "wb") as f, contextlib.suppress(OSError):
                f.write(b"x" * 1024 * 1024)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


# --- the door itself -------------------------------------------------------------------------


def test_a_device_is_never_replaced_by_a_write(tmp_path):
    node = _device(tmp_path / "full-device")
    with pytest.raises(KitError) as err:
        files.write_text(node, "report")
    assert "a character device, not a regular file" in err.value.problem
    assert _node_intact(node)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full-device"], "a temporary remained"


def test_reading_a_named_pipe_is_refused_at_once_not_a_hang(tmp_path):
    fifo = tmp_path / "lab.yaml"
    os.mkfifo(fifo)
    result: dict = {}

    def read():
        try:
            files.read_text(fifo, "the lab file")
        except KitError as err:
            result["problem"] = err.problem

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(SECONDS)
    assert not reader.is_alive(), "reading a fifo hung"
    assert "named pipe" in result["problem"]


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    target = tmp_path / "config-repo" / "wandb.env"
    target.parent.mkdir()
    target.write_text("OLD=1\n")
    target.chmod(0o600)
    link = tmp_path / ".env"
    link.symlink_to(target)
    landed = files.write_text(link, "NEW=1\n", private=True)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "NEW=1\n" and landed == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert files.shown(link, landed) == f"{link} (a link; wrote {target})"


def test_a_folder_is_refused_as_a_file(tmp_path):
    with pytest.raises(KitError) as err:
        files.write_text(tmp_path, "x")
    assert "is a folder" in err.value.problem
    with pytest.raises(KitError) as err:
        files.read_text(tmp_path, "the lab file")
    assert "is a folder" in err.value.problem


def test_a_full_disk_is_the_users_to_fix_and_the_old_file_survives(tmp_path):
    with _full_disk(tmp_path) as disk:
        settings = disk / "filler"
        before = settings.read_bytes()
        with pytest.raises(KitError) as err:
            files.write_bytes(settings, b"y" * 200_000)
        assert err.value.exit_code == 2
        assert "full" in err.value.problem or "no space" in err.value.problem
        assert settings.read_bytes() == before
        assert sorted(p.name for p in disk.iterdir()) == ["filler"], "a temporary remained"


def test_an_os_error_after_work_says_what_was_done(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(KitError) as err:
        files.write_text(tmp_path / "r.json", "{}", exit_code=1, done="the checks ran")
    assert err.value.exit_code == 1
    assert "no space left" in err.value.problem and "the checks ran" in err.value.problem
    assert not list(tmp_path.iterdir())


def test_text_that_is_not_utf8_names_its_line(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_bytes(b"users:\n  - name: J\xf6rg\n")
    with pytest.raises(KitError) as err:
        files.read_text(path, "the lab file")
    assert "not UTF-8" in err.value.problem and "line 2" in err.value.problem
    assert "iconv" in err.value.fix


def test_a_document_nested_too_deep_is_refused_not_a_crash(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text("[" * 30_000 + "]" * 30_000)
    with pytest.raises(KitError) as err:
        files.load_json(path, "the manifest")
    assert "levels deep" in err.value.problem
    path.write_text(json.dumps({"a": [[[[1]]]]}))
    assert files.load_json(path) == {"a": [[[[1]]]]}


def test_a_file_over_the_limit_is_refused(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(b"A=1\n" * 1000)
    with pytest.raises(KitError) as err:
        files.read_text(path, "the settings file", limit=1024)
    assert "larger than" in err.value.problem


def test_two_writers_at_once_never_collide(tmp_path):
    """Two `init`s at once used to share one temporary name (FileNotFoundError)."""
    target = tmp_path / ".env"
    errors: list[BaseException] = []

    def write(tag: str):
        try:
            for i in range(40):
                files.write_text(target, f"{tag}={i}\n" * 50, private=True)
        except BaseException as err:  # noqa: BLE001 - the test reports any of them
            errors.append(err)

    writers = [threading.Thread(target=write, args=(t,)) for t in ("A", "B", "C")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
    assert not errors, errors
    lines = set(target.read_text().splitlines())
    assert len(lines) == 1, "a file mixed two writers' text"
    assert [p.name for p in tmp_path.iterdir()] == [".env"]


def test_every_ordinary_os_error_is_explained_with_the_path_and_a_fix():
    import errno

    for number in (
        errno.ENOSPC,
        errno.EACCES,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.EROFS,
        errno.ELOOP,
        errno.ENAMETOOLONG,
        errno.EDQUOT,
    ):
        err = files.explain(OSError(number, os.strerror(number)), "/srv/x/report.json")
        assert err.exit_code == 2
        assert "/srv/x/report.json" in err.problem, number
        assert err.fix
    assert not files.is_file_error(ConnectionRefusedError(111, "refused"))


# --- every path option of every command -----------------------------------------------------

FILE_TYPES = {argtypes.file_path, argtypes.output_file, argtypes.output_file_or_stdout}
FOLDER_TYPES = {argtypes.folder_path}
PATH_TYPES = FILE_TYPES | FOLDER_TYPES | {argtypes.user_path}
# Values for the other required arguments, so each command reaches its path checks.
FILLERS = {
    "service": "wandb",
    "file": "{tmp}/absent.yaml",
    "backup": "{tmp}/absent-backup",
    "to": "0.83.0",
    "action": "load",
    "files": "{tmp}/absent.yaml",
    "source": "http://127.0.0.1:9",
    "target": "http://127.0.0.1:9",
}
DEAD_URL = "http://127.0.0.1:9"


def _path_options():
    """(command words, option, the option's type, the parser) for every option of every
    command whose value is a path."""
    found = []

    def walk(parser: argparse.ArgumentParser, words: list[str]):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
            elif action.type is not None and (action.type in PATH_TYPES or action.type is Path):
                found.append((tuple(words), action, parser))

    walk(cli.build_parser(), [])
    return found


OPTIONS = _path_options()


def _ids():
    return [
        f"{' '.join(w)}:{a.option_strings[-1] if a.option_strings else a.dest}"
        for w, a, _ in OPTIONS
    ]


def test_every_path_option_uses_a_path_type_of_the_door():
    """A plain `type=Path` skips every check: each path option names what it expects."""
    plain = [i for i, (_, action, _) in zip(_ids(), OPTIONS, strict=True) if action.type is Path]
    assert not plain, f"path options with type=Path (use argtypes.file_path, ...): {plain}"
    assert len(OPTIONS) >= 60


def _argv(words, action, parser, value: str, tmp: Path) -> list[str]:
    argv = list(words)
    for other in parser._actions:
        if other is action or other.option_strings or isinstance(other, argparse._HelpAction):
            continue
        if other.nargs not in ("?", "*"):
            argv.append(FILLERS[other.dest].format(tmp=tmp))
    if any("--url" in a.option_strings for a in parser._actions):
        argv += ["--url", DEAD_URL]
    if action.option_strings:
        return [*argv, f"{action.option_strings[-1]}={value}"]
    position = [a.dest for a in parser._actions if not a.option_strings].index(action.dest)
    argv.insert(len(words) + position, value)
    return argv


def _run(argv: list[str], tmp: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    old = dict(os.environ)
    os.environ.update(
        HOME=str(tmp),
        WANDB_KIT_HOME=str(tmp / "home"),
        WANDB_KIT_CRASH_DIR=str(tmp),
        DOCKER_HOST="unix:///nonexistent/docker.sock",
    )
    for key in [k for k in os.environ if k.startswith("WANDB_") and k != "WANDB_KIT_HOME"]:
        if key not in ("WANDB_KIT_CRASH_DIR",):
            del os.environ[key]

    def hung(signum, frame):
        raise TimeoutError(f"`wandb-kit {' '.join(argv)}` did not answer in {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(SECONDS)
    here = os.getcwd()
    os.chdir(tmp)  # a default output (support-bundle's archive) lands in the test's folder
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        os.chdir(here)
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.environ.clear()
        os.environ.update(old)
    return code, out.getvalue() + err.getvalue()


# A path that may be either a file or a folder (user_path) has no wrong kind.
ODD_CASES = [
    pytest.param(*option, kind, id=f"{name}-{kind}")
    for option, name in zip(OPTIONS, _ids(), strict=True)
    for kind in ("device", "fifo", "wrong kind")
    if kind != "wrong kind" or option[1].type in FILE_TYPES | FOLDER_TYPES
]


@pytest.mark.parametrize(("words", "action", "parser", "kind"), ODD_CASES)
def test_an_odd_file_at_any_path_option_is_refused_and_left_alone(
    words, action, parser, kind, tmp_path
):
    (tmp_path / "home").mkdir()
    odd = tmp_path / "odd"
    if kind == "device":
        _device(odd)
    elif kind == "fifo":
        os.mkfifo(odd)
    elif action.type in FOLDER_TYPES:
        odd.write_text("a file where a folder is meant\n")
    else:
        (odd / "inside").mkdir(parents=True)
    before = {p.name: os.lstat(p).st_mode for p in tmp_path.rglob("*")}
    code, out = _run(_argv(words, action, parser, str(odd), tmp_path), tmp_path)
    assert code == 2, out[-1500:]
    assert "Traceback" not in out and "internal error" not in out
    if kind == "device":
        assert _node_intact(odd)
    elif kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(odd).st_mode)
    assert {p.name: os.lstat(p).st_mode for p in tmp_path.rglob("*")} == before


# Options whose purpose is to write the file: through a link they write its target.
WRITE_THROUGH = {("init", "--env-file")}


@pytest.mark.parametrize(("words", "action", "parser"), OPTIONS, ids=_ids())
def test_a_symlink_at_any_path_option_stays_a_link(words, action, parser, tmp_path):
    (tmp_path / "home").mkdir()
    real = tmp_path / "real"
    if action.type in FOLDER_TYPES:
        real.mkdir()
        (real / "kept.txt").write_text("kept\n")
    else:
        real.write_text("# kept\n")
    link = tmp_path / "link"
    link.symlink_to(real)
    snapshot = {p.name: p.read_bytes() for p in [real, *real.glob("*")] if p.is_file()}
    code, out = _run(_argv(words, action, parser, str(link), tmp_path), tmp_path)
    assert code in DOCUMENTED, out[-1500:]
    assert "Traceback" not in out
    assert link.is_symlink() and os.readlink(link) == str(real)
    option = action.option_strings[-1] if action.option_strings else action.dest
    if (words[0], option) not in WRITE_THROUGH:
        assert {p.name: p.read_bytes() for p in [real, *real.glob("*")] if p.is_file()} == snapshot


# --- the findings, one by one ----------------------------------------------------------------


def _kit(argv, tmp, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "DOCKER_"))}
    environ.update(
        HOME=str(tmp),
        WANDB_KIT_HOME=str(tmp),
        WANDB_KIT_CRASH_DIR=str(tmp),
        DOCKER_HOST="unix:///nonexistent/docker.sock",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *argv],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_init_over_a_device_leaves_the_device(tmp_path):
    node = _device(tmp_path / "settings")
    result = _kit(["init", "--env-file", str(node)], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "character device" in result.stderr
    assert _node_intact(node)


def test_preflight_on_a_device_advises_neither_chmod_nor_init_over_it(tmp_path):
    node = _device(tmp_path / "null-like")
    result = _kit(["preflight", "--env-file", str(node)], tmp_path)
    assert result.returncode == 2
    out = result.stdout + result.stderr
    assert "chmod" not in out and f"init --env-file {node}" not in out
    assert _node_intact(node)


def test_init_through_a_symlinked_env_file_keeps_the_link_and_says_so(tmp_path):
    target = tmp_path / "repo" / "wandb.env"
    target.parent.mkdir()
    result = _kit(["init", "--env-file", str(target)], tmp_path)
    assert result.returncode == 0, result.stderr
    link = tmp_path / ".env"
    link.symlink_to(target)
    result = _kit(
        ["init", "--env-file", str(link), "--host", "http://wandb.lab.test:8080"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    assert "WANDB_HOST='http://wandb.lab.test:8080'" in target.read_text()
    assert f"(a link; wrote {target})" in result.stdout


def test_init_on_a_full_disk_is_exit_2_not_a_bug(tmp_path):
    with _full_disk(tmp_path) as disk:
        result = _kit(["init", "--env-file", str(disk / ".env")], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "full" in result.stderr and "internal error" not in result.stderr


def test_two_inits_at_once_both_end_well(tmp_path):
    env_file = tmp_path / "shared.env"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wandb_local_kit", "init", "--env-file", str(env_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "WANDB_KIT_CRASH_DIR": str(tmp_path),
                "DOCKER_HOST": "unix:///nonexistent/docker.sock",
            },
        )
        for _ in range(3)
    ]
    results = [(p.wait(120), p.stderr.read()) for p in procs]
    assert all(code in (0, 2) for code, _ in results), results
    assert not any("internal error" in err for _, err in results), results
    assert any(code == 0 for code, _ in results)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_smoke_html_on_a_device_is_refused_before_the_checks(tmp_path):
    node = _device(tmp_path / "full")
    result = _kit(["smoke", "--url", DEAD_URL, "--html", str(node)], tmp_path)
    assert result.returncode == 2 and "character device" in result.stderr
    assert _node_intact(node)


def test_an_unwritable_report_after_the_work_is_exit_1_and_says_what_ran(tmp_path, monkeypatch):
    """The report's place was fine at the start; the disk filled while the checks ran."""
    from wandb_local_kit.commands import smoke

    args = argparse.Namespace(json=tmp_path / "r.json", junit=None, html=None, keep=False)
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "full")))
    with pytest.raises(KitError) as err:
        smoke._write_reports(
            args, [], {"server": DEAD_URL}, {"passed": 3, "failed": 0, "skipped": 1}
        )
    assert err.value.exit_code == 1
    assert "the checks ran (3 passed, 0 failed, 1 skipped)" in err.value.problem


def test_an_os_error_escaping_a_command_is_exit_2_with_the_path(monkeypatch, capsys):
    def denied(args):
        raise PermissionError(13, "Permission denied", "/srv/wandb/.env")

    command = cli.Command("status", "", None, denied)
    monkeypatch.setattr(cli, "COMMANDS", [command])
    monkeypatch.setitem(cli.BY_NAME, "status", command)
    assert cli.main(["status"]) == 2
    err = capsys.readouterr().err
    assert "/srv/wandb/.env" in err and "internal error" not in err


def test_bundle_save_onto_a_small_disk_says_so_before_docker_save(tmp_path, monkeypatch):
    """It used to run `docker save` into the full disk and then ask whether the Docker engine
    was running."""
    from wandb_local_kit.ops import bundle

    monkeypatch.setattr(bundle, "_image_bytes", lambda images: 300 * files.MIB)
    with _full_disk(tmp_path, fill=False) as disk:
        with pytest.raises(KitError) as err:
            bundle._check_room(disk / "images.tar", ["wandb/local:0.83.0"])
    assert "needs about 300 MiB" in err.value.problem and "df -h" in err.value.fix
    assert "Docker engine" not in err.value.render()


# --- nothing writes around the door ---------------------------------------------------------

# Writes that are not a person's files, each with its reason. Everything else goes through
# core/files.py.
ALLOWED = {
    "core/files.py": "the door itself",
    "core/lock.py": "the lock file: an flock'd file in the kit's home, never a user's path",
    "core/crash.py": "the crash trace: O_EXCL in the temporary folder, private",
    "ops/backup.py": "the database dump streamed into the backup's own new folder",
    "smoke/checks/artifacts.py": "payloads in the smoke run's own temporary folder",
    "smoke/checks/files.py": "payloads in the smoke run's own temporary folder",
    "smoke/checks/media.py": "payloads in the smoke run's own temporary folder",
    "smoke/checks/transport.py": "payloads in the smoke run's own temporary folder",
    "smoke/processes.py": "the actors' logs and results in the smoke run's temporary folder",
    "smoke/status.py": "progress of an actor in the smoke run's temporary folder",
    "bench/phases.py": "payloads in the bench run's own temporary folder",
    "bench/actor.py": "payloads in the bench run's own temporary folder",
    "ops/bundle.py": "`docker save` writes the partial bundle beside the target, which was "
    "checked first (core/files); its manifest is appended, then it is renamed onto the target",
}


def _writes(tree: ast.AST) -> list[int]:
    """Line numbers of calls that open a file for writing or replace one."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if isinstance(func, ast.Attribute) and ast.unparse(func.value) == "files":
            continue  # through the door
        modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
        modes += [
            k.value.value
            for k in node.keywords
            if k.arg == "mode" and isinstance(k.value, ast.Constant)
        ]
        writing_open = name == "open" and any(
            isinstance(m, str) and set(m) & set("wax+") for m in modes
        )
        os_open = (
            name == "open"
            and isinstance(func, ast.Attribute)
            and ast.unparse(func.value) == "os"
            and "O_WRONLY" in ast.unparse(node)
            or "O_RDWR" in ast.unparse(node)
            and name == "open"
        )
        if (
            writing_open
            or os_open
            or name in ("write_text", "write_bytes", "replace", "rename", "mkstemp", "fdopen")
        ):
            if name in ("replace", "rename") and not (
                isinstance(func, ast.Attribute)
                and (ast.unparse(func.value) == "os" or len(node.args) == 1)
            ):
                continue  # str.replace(a, b), dataclasses.replace(obj, ...) and the like
            if any(k.arg == "fileobj" for k in node.keywords):
                continue  # a tar in memory
            lines.append(node.lineno)
    return lines


def test_no_module_writes_a_file_around_the_door():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in ALLOWED or rel == "testing.py":  # testing.py writes through envfile
            continue
        for line in _writes(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{rel}:{line}")
    assert not offenders, (
        "these write files without core/files.py (use files.write_text / write_bytes, or add "
        f"the module to ALLOWED with the reason): {offenders}"
    )


def test_the_scan_catches_a_write_around_the_door():
    for code in (
        'Path(p).write_text("x")',
        'open(p, "w")',
        "os.replace(a, b)",
        'open(p, mode="ab")',
        "os.open(p, os.O_WRONLY | os.O_CREAT)",
    ):
        assert _writes(ast.parse(code)), code
    assert not _writes(ast.parse('text.replace("a", "b"); open(p); open(p, "rb")'))
    assert not _writes(ast.parse("replace(ctx, workdir=w); files.write_text(p, t)"))


# --- generated: OS conditions at any path option ---------------------------------------------

from hypothesis import HealthCheck, given  # noqa: E402 - the generated half of this module
from hypothesis import settings as budget  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CONDITIONS = {
    # what is at the path: bytes of a regular file, or a place on a full disk
    "not UTF-8": b"WANDB_HOST='http://b\xe4d.lab'\nusers:\n  - email: j\xf6rg@lab\n",
    "deep nesting": b"[" * 20_000 + b"]" * 20_000,
    "deep YAML": b"users:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 3000)),
    "empty": b"",
    "binary": bytes(range(256)) * 64,
}


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory):
    with _full_disk(tmp_path_factory.mktemp("disk")) as disk:
        yield disk


@budget(
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    print_blob=True,
)
@given(option=st.sampled_from(OPTIONS), condition=st.sampled_from([*CONDITIONS, "full disk"]))
def test_os_conditions_at_any_path_option_are_never_a_bug(option, condition, full_disk):
    words, action, parser = option
    with contextlib.ExitStack() as stack:
        import tempfile

        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        (tmp / "home").mkdir()
        if condition == "full disk":
            path = full_disk / ("new-folder" if action.type in FOLDER_TYPES else "new-file")
        elif action.type in FOLDER_TYPES:
            path = tmp / "folder"
            path.mkdir()
            (path / "compose.yaml").write_bytes(CONDITIONS[condition])
            (path / "manifest.json").write_bytes(CONDITIONS[condition])
        else:
            path = tmp / "file"
            path.write_bytes(CONDITIONS[condition])
        before = {
            str(p): p.read_bytes() for p in [*tmp.rglob("*"), *full_disk.rglob("*")] if p.is_file()
        }
        code, out = _run(_argv(words, action, parser, str(path), tmp), tmp)
        assert code in DOCUMENTED, f"exit {code}:\n{out[-1500:]}"
        assert "Traceback" not in out
        after = {
            str(p): p.read_bytes() for p in [*tmp.rglob("*"), *full_disk.rglob("*")] if p.is_file()
        }
        if code != 0:
            changed = {k for k in before if after.get(k) != before[k]}
            assert not changed, f"a refused command changed {changed}"


def test_a_bundle_whose_manifest_nests_too_deep_is_refused_not_a_bug(tmp_path):
    import tarfile

    from wandb_local_kit.ops import bundle

    data = b"[" * 30_000 + b"]" * 30_000
    with tarfile.open(tmp_path / "b.tar", "w") as tar:
        info = tarfile.TarInfo(bundle.MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(KitError) as err:
        bundle.verify(tmp_path / "b.tar")
    assert "levels deep" in err.value.problem


def test_a_compose_file_entry_nested_too_deep_is_named_not_a_crash(tmp_path):
    """COMPOSE_FILE may name a file of the user's own; a hostile one must not crash."""
    import shutil

    from wandb_local_kit.stack import settings

    compose = tmp_path / "compose"
    shutil.copytree(settings.default_compose_dir(), compose)
    (compose / "mine.yaml").write_text("services:\n  x: " + "[" * 20_000 + "]" * 20_000 + "\n")
    values = settings.build_values({}, settings.example_values(compose), {})
    values["COMPOSE_FILE"] = "compose.yaml:mine.yaml"
    problems = [p.render() for p in settings.validate(values, compose)]
    assert any("mine.yaml" in p and "not a compose file" in p for p in problems), problems
