"""`wandb-kit storage`: the deployment's disk, who takes it, how fast it fills.

Reads only: it measures, records one sample beside .env (the growth rate comes from
these samples) and reports; it never deletes anything (docs/storage-growth.md).
Exit 0, or 1 when a warning stands (little free space, full within two weeks), 2 when
the disk could not be measured (the stack is not running)."""

from __future__ import annotations

import argparse
import json
import sys

from wandb_local_kit.commands.argtypes import output_file
from wandb_local_kit.commands.common import add_target_options, deployment, target
from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_OK, KitError

STORAGE_EXIT_CODES = """\
exit codes of storage:
  0    measured; no warning
  1    measured; a warning: free space under 10% or full within 14 days
  2    bad input, or the disk could not be measured (is the stack running?)"""


def configure_storage(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--html",
        type=output_file,
        help="write one self-contained HTML page here: usage over time and the forecast",
    )
    p.add_argument(
        "--no-record",
        dest="record",
        action="store_false",
        help="measure without adding a sample to the deployment's history",
    )
    p.epilog = STORAGE_EXIT_CODES
    p.formatter_class = argparse.RawDescriptionHelpFormatter


def _render(u, out) -> None:
    from wandb_local_kit.core.usage_samples import iso_utc
    from wandb_local_kit.server.usage import size, warnings

    s = u.sample
    print(f"disk: {size(s.used)} used by the deployment; {size(s.free)} free of "
          f"{size(s.total)}", file=out)  # fmt: skip
    for p in u.parts:
        print(f"  {p.label}: {size(p.used)} (its disk: {size(p.fs_free)} free of "
              f"{size(p.fs_total)})", file=out)  # fmt: skip
    fc = u.forecast
    if fc.full_at is not None:
        print(f"growth: {size(fc.bytes_per_day)} a day; full on {iso_utc(fc.full_at)[:10]} "
              f"({fc.days_left(u.now):.1f} days; {fc.reason})", file=out)  # fmt: skip
    else:
        print(f"forecast: {fc.reason}", file=out)
    for title, rows in (("by project", u.projects), ("by team (the server's count)", u.teams)):
        if rows:
            print(f"{title}:", file=out)
            for name, nbytes in rows[:20]:
                print(f"  {size(nbytes):>10}  {name}", file=out)
    for w, fix in warnings(u):
        print(f"warning: {w}\n  fix: {fix}", file=out)
    for note in u.notes:
        print(f"note: {note}", file=out)


def storage(args) -> int:
    from wandb_local_kit.core.redact import redact
    from wandb_local_kit.server import client, usage

    dep = deployment(args)
    where = target(args)
    key, _source = client.find_key(where)
    u = usage.survey(dep, where, key, record=args.record)
    if u.sample is None:
        raise KitError(
            f"the disk of {dep.project} could not be measured: {u.notes[-1]}",
            fix="start the stack (wandb-kit up), then run wandb-kit storage again",
        )
    if args.json:
        print(redact(json.dumps(u.to_json(), indent=2), extra=dep.secrets))
    else:
        _render(u, sys.stdout)
    if args.html:
        from wandb_local_kit.core.htmlpage import write
        from wandb_local_kit.server.usage_html import render

        write(args.html, render(u, dep.describe()), EXIT_FAILED)
    sys.stdout.flush()
    return EXIT_FAILED if usage.warnings(u) else EXIT_OK
