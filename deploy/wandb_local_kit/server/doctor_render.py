"""doctor's rendering: the pitfall table of docs/troubleshooting.md, a finding as JSON, the exit
codes' help text. (A finding's text form is Finding.render.)"""

from __future__ import annotations

from dataclasses import asdict

from wandb_local_kit.server.doctor_catalogue import PITFALL, PITFALLS
from wandb_local_kit.server.doctor_findings import Finding


def render_markdown() -> str:
    """The pitfall table of docs/troubleshooting.md, rendered from PITFALLS."""
    rows = [
        "| pitfall | symptom | cause | fix |",
        "|---|---|---|---|",
    ]
    for p in PITFALLS:
        cells = [f"**{p.title}** (`{p.id}`)", p.symptom, p.cause, p.fix]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


DOCTOR_EXIT_CODES = """\
exit codes of doctor:
  0    no problem found (notes only)
  1    warnings only
  2    at least one failure found
  3    server unreachable"""


def finding_json(f: Finding) -> dict:
    """A finding with its pitfall's title, symptom and cause, and the fix that applies."""
    return {
        **asdict(f),
        **{k: getattr(PITFALL[f.pitfall], k) for k in ("title", "symptom", "cause")},
        "fix": f.fix or PITFALL[f.pitfall].fix,
    }
