"""What doctor's detectors take and give: the Evidence they look at, the Finding they
return, and the registry (`@detector(pitfall_id)`) that diagnose() runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wandb_local_kit.server import client, health
from wandb_local_kit.server.doctor_catalogue import FAIL, NOTE, PITFALL, WARN
from wandb_local_kit.server.doctor_observe import LocalFacts


@dataclass
class Finding:
    pitfall: str
    severity: str
    checked: str
    found: str
    fix: str = ""  # specific fix; the pitfall's generic one when empty

    def render(self) -> str:
        p = PITFALL[self.pitfall]
        return "\n".join(
            [
                f"[{self.severity.upper()}] {p.title} ({p.id})",
                f"  checked: {self.checked}",
                f"  found:   {self.found}",
                f"  symptom: {p.symptom}",
                f"  cause:   {p.cause}",
                f"  fix:     {self.fix or p.fix}",
            ]
        )


@dataclass
class Evidence:
    target: client.Target
    report: health.Report
    local: LocalFacts
    values: dict[str, str]


Detector = Callable[[Evidence], "Finding | None"]


DETECTORS: dict[str, Detector] = {}


def detector(pitfall_id: str):
    def register(fn: Detector) -> Detector:
        assert pitfall_id in PITFALL, pitfall_id
        DETECTORS[pitfall_id] = fn
        return fn

    return register


def layer(ev: Evidence, name: str) -> health.Layer | None:
    return ev.report.layer(name)


def diagnose(ev: Evidence) -> list[Finding]:
    out = []
    for fn in DETECTORS.values():
        f = fn(ev)
        if f is not None:
            out.append(f)
    order = {FAIL: 0, WARN: 1, NOTE: 2}
    return sorted(out, key=lambda f: order[f.severity])
