"""`wandb-kit doctor`: health plus local checks, turned into known pitfalls with fixes.

PITFALLS is the table of self-hosting problems users hit again and again (HOST
mismatch, a bucket URL clients cannot reach, missing CORS, a proxy's 413, license,
ARM hosts, wrong key, SDK/server versions, volume permissions, disk, ...). Each
detector looks at the evidence (the health report, the kit's .env, and facts about
this machine and the compose project) and returns a Finding: what was checked, what
was found, and the fix. The pitfall table of docs/troubleshooting.md is rendered from
the same table (`wandb-kit doctor --markdown`), and a unit test keeps the two equal.

Detectors are pure functions of the evidence; `observe_local()` gathers the facts.
This module runs them (examine) and keeps every public name of doctor in one place;
each job has its own module:
- doctor_catalogue: the pitfalls (id, title, symptom, cause, fix) and severities;
- doctor_observe: LocalFacts and observe_local(), the facts of this machine;
- doctor_findings: Evidence, Finding, the `@detector` registry and diagnose();
- doctor_detect_settings, _server, _sso_license, _stack, _storage: the detectors, by
  what they look at;
- doctor_render: the docs' pitfall table, a finding as JSON, the exit codes' help.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE
from wandb_local_kit.server import (  # noqa: F401  (each registers its detectors)
    client,
    doctor_detect_server,
    doctor_detect_settings,
    doctor_detect_sso_license,
    doctor_detect_stack,
    doctor_detect_storage,
    health,
)
from wandb_local_kit.server.doctor_catalogue import (
    FAIL,
    NOTE,
    PITFALL,
    PITFALLS,
    SEVERITIES,
    WARN,
    Pitfall,
)
from wandb_local_kit.server.doctor_detect_stack import GIB
from wandb_local_kit.server.doctor_findings import (
    DETECTORS,
    Detector,
    Evidence,
    Finding,
    detector,
    diagnose,
)
from wandb_local_kit.server.doctor_observe import LocalFacts, bucket_controls_of, observe_local
from wandb_local_kit.server.doctor_render import DOCTOR_EXIT_CODES, finding_json, render_markdown
from wandb_local_kit.stack.deployment import Deployment

__all__ = [
    "DETECTORS",
    "DOCTOR_EXIT_CODES",
    "FAIL",
    "GIB",
    "NOTE",
    "PITFALL",
    "PITFALLS",
    "SEVERITIES",
    "WARN",
    "Detector",
    "Evidence",
    "Examination",
    "Finding",
    "LocalFacts",
    "Pitfall",
    "detector",
    "diagnose",
    "examine",
    "exit_code",
    "observe_local",
    "render_markdown",
]

# diagnose() runs the detectors in registration order, and findings of one severity are
# reported in that order: keep the order doctor has always had, whatever the order the
# detector modules are imported in (a detector not named here runs after these).
REPORT_ORDER = (
    "host-mismatch", "bucket-unreachable", "cors-missing", "body-limit", "wrong-key",
    "no-key", "not-ready", "dirty-migration", "untrusted-cert", "sdk-version-range",
    "license-missing", "license-expiry", "license-seats", "license-unread",
    "oidc-discovery", "oidc-issuer", "oidc-method", "oidc-redirect", "arm-host",
    "disk-low", "memory-low", "volume-permissions", "container-restarts",
    "stack-not-running", "unreachable", "bind-loopback", "clock-skew", "admin-api-on",
    "own-storage", "bucket-controls",
)  # fmt: skip
for _id in sorted(DETECTORS, key=lambda i: REPORT_ORDER.index(i) if i in REPORT_ORDER else 99):
    DETECTORS[_id] = DETECTORS.pop(_id)


def exit_code(findings: list[Finding], report: health.Report) -> int:
    if report.exit_code == EXIT_UNREACHABLE:
        return EXIT_UNREACHABLE
    if any(f.severity == FAIL for f in findings) or report.exit_code == EXIT_USAGE:
        return EXIT_USAGE
    if any(f.severity == WARN for f in findings) or report.exit_code == EXIT_FAILED:
        return EXIT_FAILED
    return EXIT_OK


@dataclass
class Examination:
    report: health.Report
    local: LocalFacts
    findings: list[Finding]
    exit_code: int
    secrets: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "health": self.report.to_json(),
            "local": {k: v for k, v in asdict(self.local).items() if k != "logs"},
            "compose_error": self.local.compose_error,
            "findings": [finding_json(f) for f in self.findings],
            "exit_code": self.exit_code,
        }


def examine(
    deployment: Deployment,
    target: client.Target,
    deep: bool = True,
    timeout: float = 10.0,
    lab_users: int | None = None,
    lab_file: str = "",
) -> Examination:
    """health (deep by default), this machine and the compose project, then every
    pitfall the evidence shows. lab_users: how many users a lab file lists (seats)."""
    key, key_source = client.find_key(target)
    report = health.run(target, key, key_source, deep=deep, timeout=timeout)
    if target.values:
        report.layers.append(health.check_license(target.values, lab_users, lab_file))
    local = observe_local(deployment, target.values)
    local.bucket_controls = bucket_controls_of(target, timeout)
    if target.values and local.stack_running:
        from wandb_local_kit.server import usage

        surveyed = usage.survey(deployment, target, key, timeout, quick=True)
        local.usage = surveyed.to_json()
        local.usage_warnings = [list(w) for w in usage.warnings(surveyed)]
    findings = diagnose(Evidence(target, report, local, target.values))
    secrets = tuple(s for s in (key, *deployment.secrets) if s)
    return Examination(report, local, findings, exit_code(findings, report), secrets)
