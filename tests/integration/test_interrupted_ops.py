"""Interrupted operations: Ctrl-C in each phase of `backup` (embedded and
external storage), and during `up`, `restore` and `upgrade`, leaves a deployment that
`health` passes, or one that the command the kit printed brings back; the runs logged
before are still there, and no one-off container the command started lives on.

Each command runs as a real child process in its own process group; the test reads
its output line by line and, when the line that opens the phase appears, sends SIGINT
to the whole group, as a terminal's Ctrl-C does (docker and compose children too).
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from wandb_local_kit.core.errors import EXIT_INTERRUPTED
from wandb_local_kit.stack import settings
from wandb_local_kit.stack.compose import ONE_OFF_LABEL

from tests.integration.helpers import ROOT, kit, s3_client, wait_for
from tests.integration.sdk import run_sdk, sdk_env

OLD, NEW = "kit-test-interrupt/wandb-standin:1.0", "kit-test-interrupt/wandb-standin:1.1"
MIGRATION_SECONDS = 8
# wandb/local takes seconds to stop its many processes; the stand-in, a fraction of one.
# With a slow stop, Ctrl-C can land while the engine is still stopping wandb, as it did
# in CI (stop 29: `up` found wandb running, then saw it exit).
SHUTDOWN_SECONDS = 3


def _cli(server, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "wandb_local_kit", *args,
        "--compose-dir", str(settings.default_compose_dir()),
        "--env-file", str(server.env_file),
    ]  # fmt: skip


# cmd as a terminal's foreground command gets it: with SIGINT at its default. A test run
# started in the background (`nohup make test &`, some CI runners) passes SIGINT on ignored,
# and a Python that starts with SIGINT ignored never raises KeyboardInterrupt: the kit
# would then run to the end, as it should for a background job (bare-machine run 1 of
# session 7: all eight cases "exit 0, expected 130").
CTRL_C_REACHES_IT = [
    sys.executable, "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])",
]  # fmt: skip


def interrupt_at(
    cmd: list[str], marker: str, timeout: float = 300, once: Callable[[], bool] | None = None
) -> tuple[int, str]:
    """Runs cmd; when a line of its output contains marker (and then `once()` holds, if
    given), sends SIGINT to its process group. Returns its exit code and its whole
    output (stdout and stderr together)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # lines arrive as they are printed
    proc = subprocess.Popen(
        [*CTRL_C_REACHES_IT, *cmd], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    out: list[str] = []
    sent = False
    deadline = time.monotonic() + timeout
    try:
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                break
            out.append(line)
            if not sent and marker in line:
                if once:
                    wait_for(lambda: _holds(once), timeout=60, what=f"{marker!r}, then {once}")
                os.killpg(proc.pid, signal.SIGINT)
                sent = True
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except (queue.Empty, subprocess.TimeoutExpired):
        raise AssertionError(f"{cmd[3:5]} did not end in {timeout:.0f} s:\n{''.join(out)}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # nothing it started outlives it
        except (ProcessLookupError, PermissionError):
            pass
    text = "".join(out)
    assert sent, f"{marker!r} never appeared in the output of {cmd[3:5]}:\n{text}"
    return code, text


def _holds(condition: Callable[[], bool]) -> None:
    assert condition()


PRINTED = re.compile(r"`([^`]*\bup --env-file [^`]*)`")


def recover(server, output: str) -> str:
    """Runs the `... up --env-file ...` command the interrupted one printed, if any,
    exactly as printed (`wandb-kit` or `python -m wandb_local_kit`), and returns it;
    then `health` must pass (the server may still be starting or migrating)."""
    printed = ""
    for command in PRINTED.findall(output):
        printed = command
        args = shlex.split(command)
        if args[0] == "wandb-kit":  # not on this PATH: the same CLI from this tree
            args = [sys.executable, "-m", "wandb_local_kit", *args[1:]]
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"`{command}` failed:\n{done.stdout}{done.stderr}"
        break

    def healthy() -> None:
        health = kit(server, "health", timeout=120)
        assert health.returncode == 0, health.stdout + health.stderr

    try:
        wait_for(healthy, timeout=120, what="wandb after the interruption")
    except AssertionError as err:
        raise AssertionError(
            f"health fails after the interruption, and the output "
            f"{'named ' + printed if printed else 'printed no command'}:\n{output}"
        ) from err
    return printed


def answers(server) -> bool:
    try:
        requests.get(f"{server.base_url}/ready", timeout=1)
    except requests.RequestException:
        return False
    return True


def one_off_containers(server) -> list[str]:
    """Throwaway containers of the stack's project: those of `compose run` (storage-init
    copying the bucket, say) and the kit's own `docker run` (tar over a volume). An
    interrupted command must not leave one behind, still writing."""
    names: set[str] = set()
    for labels in (
        [f"label=com.docker.compose.project={server.project}",
         "label=com.docker.compose.oneoff=True"],
        [f"label={ONE_OFF_LABEL}={server.project}"],
    ):  # fmt: skip
        listed = subprocess.run(
            ["docker", "ps", "-a", "--format", "{{.Names}}",
             *(arg for label in labels for arg in ("--filter", label))],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        names.update(listed.stdout.split())
    return sorted(names)


@pytest.fixture(scope="module")
def stack(stacks, test_image, tmp_path_factory):
    """One embedded stack on an image tag of this module's own, so `upgrade` has a
    second tag (whose first start migrates for a while) to go to."""
    standin = test_image("wandb-standin")
    for tag, dockerfile in (
        (OLD, f"FROM {standin}\nENV STANDIN_SHUTDOWN_SECONDS={SHUTDOWN_SECONDS}\n"),
        (NEW, f"FROM {OLD}\nENV STANDIN_MIGRATION_SECONDS={MIGRATION_SECONDS}\n"),
    ):
        subprocess.run(
            ["docker", "build", "-q", "-t", tag, "-"],
            input=dockerfile, text=True, check=True, capture_output=True,
        )  # fmt: skip
    server = stacks.start("embedded", "off", WANDB_IMAGE=OLD)
    try:
        env = sdk_env(server, tmp_path_factory.mktemp("sdk"))
        logged = run_sdk("log", "interrupted", env)
        yield server, env, logged
    finally:
        stacks.stop(server)
        for tag in (OLD, NEW):
            subprocess.run(["docker", "rmi", tag], capture_output=True)


def assert_interrupted_and_recovered(stack, code: int, output: str) -> str:
    server, env, logged = stack
    assert code == EXIT_INTERRUPTED, output
    assert "Traceback" not in output, output
    assert one_off_containers(server) == [], output
    printed = recover(server, output)
    # No data lost: the run logged before the interruption reads back whole.
    assert run_sdk("check", logged["path"], env)["image_ok"]
    return printed


@pytest.mark.standin_only(
    "STANDIN_ knob: a stand-in image with STANDIN_SHUTDOWN_SECONDS and STANDIN_MIGRATION_SECONDS"
)
@pytest.mark.parametrize(
    "phase",
    [
        "copying /vol while wandb runs",  # pass 1, wandb running
        "stopping wandb for the final pass",  # wandb stopping / stopped, pass 2
        "starting wandb again",  # wandb starting after pass 2
    ],
)
def test_backup_interrupted_in_each_phase(stack, phase, tmp_path):
    server = stack[0]
    dest = tmp_path / "backups"
    code, output = interrupt_at(
        _cli(server, "backup", "--dest", str(dest)),
        phase,
        # Stopping: Ctrl-C once wandb no longer answers, while the engine still stops it.
        once=(lambda: not answers(server)) if phase.startswith("stopping") else None,
    )
    assert_interrupted_and_recovered(stack, code, output)
    # An interrupted backup leaves no half-written directory behind.
    assert not list(dest.glob("*.partial")), list(dest.iterdir())


# Enough objects that copying the bucket lasts seconds: Ctrl-C lands while the copy
# runs, not after it. With the few objects one run logs, the copy was over before the
# check looked, and a copy outliving its backup showed only on a loaded machine
# (session 8's first bare-machine run).
SEEDED_OBJECTS = 400


def _seed_bucket(server) -> None:
    v = server.values
    s3 = s3_client(
        v["WANDB_BUCKET_PUBLIC_URL"], v["WANDB_S3_ACCESS_KEY"], v["WANDB_S3_SECRET_KEY"],
        v.get("AWS_REGION", "us-east-1"), pool=8,
    )  # fmt: skip
    body = os.urandom(16 * 1024)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(
            lambda i: s3.put_object(Bucket=v["WANDB_BUCKET_NAME"], Key=f"seed/{i:04d}", Body=body),
            range(SEEDED_OBJECTS),
        ))  # fmt: skip


@pytest.fixture(scope="module")
def external(stacks, tmp_path_factory):
    """MySQL and the bucket in the stack: backup's phases are a dump and a bucket copy."""
    server = stacks.start("external", "off")
    try:
        _seed_bucket(server)
        env = sdk_env(server, tmp_path_factory.mktemp("sdk-external"))
        yield server, env, run_sdk("log", "interrupted-external", env)
    finally:
        stacks.stop(server)


@pytest.mark.portable
@pytest.mark.parametrize(
    "phase",
    ["dumping the W&B database", "copying the bucket through the S3 API"],
)
def test_external_backup_interrupted_in_each_phase(external, phase, tmp_path):
    dest = tmp_path / "backups"
    server = external[0]
    code, output = interrupt_at(
        _cli(server, "backup", "--dest", str(dest)),
        phase,
        # The bucket copy: Ctrl-C once its container runs, so the copy is under way.
        once=(lambda: bool(one_off_containers(server))) if "bucket" in phase else None,
    )
    assert_interrupted_and_recovered(external, code, output)
    assert not list(dest.glob("*.partial")), list(dest.iterdir())


@pytest.fixture(scope="module")
def backup_dir(stack, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("good-backups")
    made = kit(stack[0], "backup", "--dest", str(dest))
    assert made.returncode == 0, made.stdout + made.stderr
    (found,) = [p for p in dest.iterdir() if p.is_dir()]
    return found


@pytest.mark.standin_only(
    "STANDIN_ knob: a stand-in image with STANDIN_SHUTDOWN_SECONDS and STANDIN_MIGRATION_SECONDS"
)
def test_restore_interrupted(stack, backup_dir):
    code, output = interrupt_at(_cli(stack[0], "restore", str(backup_dir), "--force"), "verified")
    assert_interrupted_and_recovered(stack, code, output)


@pytest.mark.standin_only(
    "STANDIN_ knob: a stand-in image with STANDIN_SHUTDOWN_SECONDS and STANDIN_MIGRATION_SECONDS"
)
def test_up_interrupted(stack):
    server = stack[0]
    down = kit(server, "down")  # data kept: `up` then starts the stopped stack
    assert down.returncode == 0, down.stdout + down.stderr
    code, output = interrupt_at(_cli(server, "up"), "starting the stack")
    # Interrupted inside compose: the stack may be half started, so it says how to finish.
    assert assert_interrupted_and_recovered(stack, code, output), output


@pytest.mark.standin_only(
    "STANDIN_ knob: a stand-in image with STANDIN_SHUTDOWN_SECONDS and STANDIN_MIGRATION_SECONDS"
)
def test_upgrade_interrupted_while_wandb_is_recreated(stack, tmp_path):
    server = stack[0]
    code, output = interrupt_at(
        _cli(server, "upgrade", "--to", "1.1", "--dest", str(tmp_path / "b")),
        "recreating wandb on",
    )
    # .env names the new image already: finishing is `up`, and the rollback is named too.
    assert assert_interrupted_and_recovered(stack, code, output), output
    assert "roll back" in output and f"WANDB_IMAGE='{OLD}'" in output
    assert f"WANDB_IMAGE='{NEW}'" in server.env_file.read_text()
