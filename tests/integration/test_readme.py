"""The README's commands are tests: the shell blocks of a newcomer's first hour run as
written, in a fresh clone, against the stand-in, so the README cannot drift from the kit.

Sybil reads the README's fenced `bash` blocks (the same parser its pytest integration
uses). Each block of the first-hour sections carries an HTML comment a reader does not
see: `<!-- readme: stand-in journey -->` runs it, in order, in one shell state;
`<!-- readme: not run: WHY -->` says why it does not. A block with neither fails.

One shortcut, said plainly: the fresh clone's `.venv` is made from this test run's own
environment (a venv whose path puts the clone's `deploy/` first and this run's installed
packages after it, stamped as `scripts/setup-venv.sh` stamps a finished one), so `make
venv` finds it up to date instead of spending a minute on pip. Everything else is the
README's text, run by bash.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser

pytestmark = pytest.mark.standin_only(
    "stand-in journey: runs the README's first-hour blocks, `wandb-kit init --standin` first"
)

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# The sections a newcomer follows in their first hour.
FIRST_HOUR = (
    "Two commands on a fresh machine",
    "Installed with pip instead of a checkout",
    "Calling `wandb-kit`",
    "Trying the kit without the real image",
    "A lab's people as a file",
)
MARKER = re.compile(r"<!-- readme: (.+?) -->\s*$")
JOURNEY = "stand-in journey"
BLOCK_SECONDS = 900  # image builds, two container recreations per --admin-api, the smoke suite


def _blocks(text: str | None = None) -> list[dict]:
    """Every bash block of the README: its section, its marker (or None), its code."""
    if text is not None:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "README.md").write_text(text)
            return _blocks_of(Path(tmp) / "README.md")
    return _blocks_of(README)


def _blocks_of(path: Path) -> list[dict]:
    document = Sybil([CodeBlockParser(language="bash")]).parse(path)
    source = path.read_text()
    headings = [(m.start(), m.group(1)) for m in re.finditer(r"^#+ (.+)$", source, re.M)]
    blocks = []
    for example in document.examples():
        before = source[: example.start].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        section = [name for at, name in headings if at < example.start][-1]
        blocks.append(
            {"line": example.line, "section": section, "code": example.parsed,
             "marker": marker.group(1) if marker else None}
        )  # fmt: skip
    return blocks


def _journey(text: str | None = None) -> list[dict]:
    return [b for b in _blocks(text) if b["marker"] == JOURNEY]


def test_every_first_hour_block_runs_or_says_why_not():
    first_hour = [b for b in _blocks() if b["section"] in FIRST_HOUR]
    assert {b["section"] for b in first_hour} >= {
        "Two commands on a fresh machine",
        "Trying the kit without the real image",
        "A lab's people as a file",
    }, "a first-hour section lost its commands, or was renamed (update FIRST_HOUR)"
    unmarked = [b["line"] for b in first_hour if b["marker"] is None]
    assert not unmarked, f"README lines {unmarked}: mark the block to run or say why not"
    for block in first_hour:
        if block["marker"] != JOURNEY:
            assert block["marker"].startswith("not run: ") and len(block["marker"]) > 20, block
    journey = "\n".join(b["code"] for b in _journey())
    for step in ("init --standin", "make up", "login --bootstrap", "people apply", "smoke",
                 "down --volumes"):  # fmt: skip
        assert step in journey, f"the stand-in journey no longer shows {step!r}"


def test_a_block_without_a_marker_is_found():
    broken = README.read_text().replace("<!-- readme: stand-in journey -->\n", "", 1)
    assert any(b["marker"] is None for b in _blocks(broken) if b["section"] in FIRST_HOUR)


# --- the journey, run as written ------------------------------------------------------------


def _fresh_clone(tmp: Path) -> Path:
    clone = tmp / "wandb-local-kit"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    # The README as this checkout has it (a change not yet committed is what is tested).
    for name in ("README.md",):
        shutil.copy2(ROOT / name, clone / name)
    _venv_from_this_run(clone)
    wheels = ROOT / "build" / "wheels"
    if wheels.is_dir():  # the images' wheelhouse: what pip would download again
        shutil.copytree(wheels, clone / "build" / "wheels")
    return clone


def _venv_from_this_run(clone: Path) -> None:
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    here = sysconfig.get_path("purelib")
    (purelib / "00-wandb-kit-clone.pth").write_text(
        f"import sys; sys.path.insert(0, {str(clone / 'deploy')!r})\n"
        f"import site; site.addsitedir({here!r})\n"
    )
    script = venv / "bin" / "wandb-kit"
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom wandb_local_kit.cli import main\n"
        "sys.exit(main())\n"
    )
    script.chmod(0o755)
    stamp = ROOT / ".venv" / ".kit-installed"
    if stamp.is_file():
        shutil.copy2(stamp, venv / ".kit-installed")


def _run_block(code: str, clone: Path, env: dict[str, str], state: Path) -> str:
    """One block in bash, as a reader pastes it: exit on the first failing command, the
    working folder and exported variables carried from the block before."""
    script = f"set -euo pipefail\n[ -f {state} ] && . {state}\n{code}\nexport -p > {state}\n"
    result = subprocess.run(
        ["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True,
        timeout=BLOCK_SECONDS, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, f"this README block failed (exit {result.returncode}):\n" \
        f"{code}\n--- output ---\n{out[-4000:]}"  # fmt: skip
    return out


@pytest.mark.xdist_group("readme")
def test_the_standin_journey_runs_as_written_in_a_fresh_clone(tmp_path, docker_client):
    clone = _fresh_clone(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), WANDB_CONFIG_DIR=str(home / ".config" / "wandb"))
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT / ".venv"))
    )
    state = tmp_path / "shell-state"
    outputs = []
    try:
        for block in _journey():
            outputs.append(_run_block(block["code"], clone, env, state))
    finally:
        subprocess.run(
            [str(clone / ".venv" / "bin" / "wandb-kit"), "down", "--volumes", "--yes"],
            cwd=clone, env=env, capture_output=True, timeout=300,
        )  # fmt: skip
    people, smoke = outputs[1], outputs[2]
    assert "0 change(s)" in people, "the second apply of the same file changed something"
    assert (clone / "smoke.html").is_file()
    assert "passed" in smoke and "0 failed" in smoke
    assert not list((clone / "compose").glob("*.tmp"))
    # Nothing the journey wrote (settings, the CI key, certificates) waits for a `git add -A`:
    # only the two files the reader made on purpose are untracked and not ignored.
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=clone, capture_output=True,
        text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    untracked = sorted(line[3:] for line in status if line.startswith("?? "))
    assert untracked == ["lab.yaml", "smoke.html"], status
    ignored = [line[3:] for line in status if line.startswith("!! ")]
    assert any(path.startswith("compose/service-accounts") for path in ignored), ignored
