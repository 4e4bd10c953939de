"""The GitHub Actions workflows (.github/workflows) are checked offline, as `make lint`
does: check-jsonschema against GitHub's workflow schema (vendored in the tool) for their
structure, zizmor --offline for their security. The committed workflows pass both, and a
copy broken on purpose fails them: a typo'd key, an action pinned to a tag, not a SHA."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.require import unavailable

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CHECKOUT_PINNED = "uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"


def _tool(name: str) -> str:
    # The venv's bin first (the `test` extra installs both there), then PATH.
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        unavailable(f"{name} is not installed", "pip install -e '.[test]'")
    return str(found)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)


def check_schema(*files: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        _tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        *map(str, files),
    )


def zizmor(workflows_dir: Path) -> subprocess.CompletedProcess[str]:
    # The same flags as `make lint`; the colour off so the output can be matched.
    return _run(
        _tool("zizmor"),
        "--offline",
        "--strict-collection",
        "--no-progress",
        "--color",
        "never",
        str(workflows_dir),
    )


def _copy(tmp_path: Path, edit: tuple[str, str] | None = None) -> Path:
    """The committed workflows in tmp_path/.github/workflows (zizmor collects a
    directory by that layout), test.yml changed by replacing edit[0] with edit[1]."""
    dest = tmp_path / ".github" / "workflows"
    shutil.copytree(WORKFLOWS, dest)
    config = ROOT / ".github" / "zizmor.yml"
    if config.exists():
        shutil.copy(config, tmp_path / ".github" / "zizmor.yml")
    if edit:
        path = dest / "test.yml"
        text = path.read_text()
        assert edit[0] in text, f"test.yml no longer has {edit[0]!r}: update this test"
        path.write_text(text.replace(edit[0], edit[1]))
    return dest


def _out(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def test_there_are_workflows():
    assert {"test.yml", "real-server.yml"} <= {p.name for p in WORKFLOWS.glob("*.yml")}


def test_committed_workflows_pass_the_schema():
    proc = check_schema(*sorted(WORKFLOWS.glob("*.yml")))
    assert proc.returncode == 0, _out(proc)


def test_committed_workflows_pass_zizmor():
    proc = zizmor(WORKFLOWS)
    assert proc.returncode == 0, _out(proc)
    assert "No findings" in proc.stdout, _out(proc)


def test_a_typo_in_a_key_fails_both(tmp_path):
    broken = _copy(tmp_path, ("runs-on:", "run-on:"))
    proc = check_schema(*sorted(broken.glob("*.yml")))
    assert proc.returncode != 0, _out(proc)
    assert "'runs-on' is a required property" in proc.stdout, _out(proc)
    # Without --strict-collection zizmor would only warn and audit the other workflow.
    proc = zizmor(broken)
    assert proc.returncode != 0, _out(proc)
    assert "'run-on' was unexpected" in proc.stderr, _out(proc)


@pytest.mark.parametrize("ref", ["v4", "main"])
def test_an_action_pinned_to_a_tag_or_branch_fails_zizmor(tmp_path, ref):
    broken = _copy(tmp_path, (CHECKOUT_PINNED, f"uses: actions/checkout@{ref}"))
    proc = zizmor(broken)
    assert proc.returncode != 0, _out(proc)
    assert "unpinned-uses" in proc.stdout, _out(proc)
    assert f"actions/checkout@{ref}" in proc.stdout, _out(proc)
    # The schema cannot tell: a tag is a valid `uses:`. That is what zizmor is for.
    assert check_schema(*sorted(broken.glob("*.yml"))).returncode == 0


@pytest.mark.parametrize(
    "edit, audit",
    [
        (("        with:\n          persist-credentials: false\n", ""), "artipacked"),
        (("permissions:\n  contents: read\n", ""), "excessive-permissions"),
    ],
    ids=["checkout-persists-credentials", "no-permissions"],
)
def test_dropping_a_hardening_line_fails_zizmor(tmp_path, edit, audit):
    proc = zizmor(_copy(tmp_path, edit))
    assert proc.returncode != 0, _out(proc)
    assert f"[{audit}]" in proc.stdout, _out(proc)


def _steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def test_secrets_only_reach_a_steps_environment():
    # zizmor (regular persona) does not flag `${{ secrets.X }}` inside `run:`, where it
    # would land on a command line and in the script GitHub writes to disk: checked here.
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for job_id, step in _steps(workflow):
            outside_env = {k: v for k, v in step.items() if k != "env"}
            assert "secrets." not in str(outside_env), (path.name, job_id, step.get("name"))
        assert "secrets." not in str({k: v for k, v in workflow.items() if k != "jobs"})


def test_the_real_server_lane_is_gated_on_the_license():
    workflow = yaml.safe_load((WORKFLOWS / "real-server.yml").read_text())
    check, lane = workflow["jobs"]["license-check"], workflow["jobs"]["real-server"]
    assert "configured" in check["outputs"]
    assert lane["needs"] == "license-check"
    assert lane["if"] == "needs.license-check.outputs.configured == 'true'"
    assert all("secrets." not in str(job.get("if", "")) for job in workflow["jobs"].values())
