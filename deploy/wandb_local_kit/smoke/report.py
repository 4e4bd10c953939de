"""The suite's reports: a console table, JSON, and JUnit XML (one testcase per check)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict

from wandb_local_kit.smoke.context import FAIL, INTERRUPTED, PASS, SKIP, WARN, Result

STYLE = {PASS: "green", WARN: "yellow", FAIL: "bold red", SKIP: "cyan", INTERRUPTED: "magenta"}


def summary_counts(results: list[Result]) -> dict[str, int]:
    statuses = (PASS, WARN, FAIL, SKIP, INTERRUPTED)
    return {s: sum(r.status == s for r in results) for s in statuses}


def console_table(results: list[Result]):
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="wandb-kit smoke", show_lines=False)
    for col in ("check", "status", "seconds", "compared / detail", "run"):
        table.add_column(col, overflow="fold")
    for r in results:
        text = r.compared if r.status in (PASS,) else (r.detail or r.compared)
        if r.status == WARN:
            text = f"{r.compared}\nwarning: {r.detail}"
        # Escaped: a check's text is not markup ("pip install 'wandb-local-kit[media]'"
        # would lose its extra, a server's message its brackets).
        table.add_row(
            escape(r.check),
            f"[{STYLE[r.status]}]{r.status}[/]",
            f"{r.seconds:.1f}",
            escape(text),
            escape(r.run_urls[0]) if r.run_urls else "",
        )
    return table


def to_json(results: list[Result], meta: dict) -> str:
    from wandb_local_kit.smoke.evidence import for_json

    return json.dumps(
        {
            "meta": meta,
            "summary": summary_counts(results),
            # The evidence as data (what was compared, both sides); only the thumbnails
            # stay on the HTML page, so the JSON stays small.
            "checks": [{**asdict(r), "evidence": for_json(r.evidence)} for r in results],
        },
        indent=2,
    )


def to_junit(results: list[Result], meta: dict) -> str:
    counts = summary_counts(results)
    suite = ET.Element(
        "testsuite",
        name="wandb-kit smoke",
        tests=str(len(results)),
        failures=str(counts[FAIL]),
        errors="0",
        skipped=str(counts[SKIP] + counts[INTERRUPTED]),
        time=f"{sum(r.seconds for r in results):.2f}",
    )
    props = ET.SubElement(suite, "properties")
    for key, value in meta.items():
        ET.SubElement(props, "property", name=key, value=str(value))
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname="wandb_kit.smoke", name=r.check, time=f"{r.seconds:.2f}"
        )
        if r.status == FAIL:
            ET.SubElement(case, "failure", message=r.detail[:500]).text = r.detail
        elif r.status == SKIP:
            ET.SubElement(case, "skipped", message=r.detail)
        elif r.status == INTERRUPTED:  # not run to its end: no verdict, as a skip has none
            ET.SubElement(case, "skipped", type="interrupted", message=r.detail)
        out = "\n".join(filter(None, [r.compared, *r.warnings, *r.run_urls]))
        if out:
            ET.SubElement(case, "system-out").text = out
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
