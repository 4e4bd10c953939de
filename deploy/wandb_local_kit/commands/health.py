"""`wandb-kit health` and `wandb-kit doctor`: is the server well, and if not, why."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from wandb_local_kit.commands.argtypes import positive_seconds
from wandb_local_kit.commands.common import add_target_options, deployment, target
from wandb_local_kit.core.errors import EXIT_OK, KitError
from wandb_local_kit.core.redact import redact
from wandb_local_kit.server import client, doctor, health

if TYPE_CHECKING:  # server/usage is imported when the disk is measured, not before
    from wandb_local_kit.server.usage import Usage
    from wandb_local_kit.stack.deployment import Deployment

MAX_TIMEOUT_S = 3600.0  # an hour per request: longer is a typo, and overflows the clocks


def timeout_seconds(text: str) -> float:
    """argparse type of --timeout: positive_seconds, at most MAX_TIMEOUT_S."""
    value = positive_seconds(text)
    if value > MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} seconds is out of range: a timeout is above 0 and at most "
            f"{MAX_TIMEOUT_S:.0f} (an hour); give e.g. 10"
        )
    return value


def _target(args):
    """target(args), once the URL it names is one a request can use (a URL of 100,000
    characters, or a host name DNS cannot take, is refused here without echoing it)."""
    if getattr(args, "url", None):
        health.refuse_unusable_url(args.url, "--url")
    where = target(args)
    health.refuse_unusable_url(where.url, where.source)
    return where


def configure_health(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    p.add_argument(
        "--deep",
        action="store_true",
        help="also upload+download a file via signed URLs, check the storage's "
        "CORS, and POST 10 MB of GraphQL (creates and deletes a run in project "
        f"{health.HEALTH_PROJECT})",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=client.DEFAULT_TIMEOUT_S,
        help="seconds per request (default %(default)s; the 10 MB POST gets >= 60)",
    )
    add_lab_file_option(p)
    p.epilog = health.HEALTH_EXIT_CODES
    p.formatter_class = argparse.RawDescriptionHelpFormatter


def run_health(args) -> int:
    where = _target(args)
    key, key_source = client.find_key(where)
    users, lab_file = lab_users(args)
    report = health.run(where, key, key_source, deep=args.deep, timeout=args.timeout)
    if where.values:
        report.layers.append(health.check_license(where.values, users, lab_file))
    if args.deep and where.values:
        layer = health.bucket_controls_layer(where, args.timeout)
        if layer is not None:
            report.layers.append(layer)
    dep = deployment(args, must_exist=False)  # once: the disk layer and the secrets
    if where.values:
        disk = _disk_layer(dep, where, key, args.timeout)
        if disk is not None:
            report.layers.append(disk)
    secrets = ((key,) if key else ()) + tuple(dep.secrets)
    if args.json:
        print(redact(json.dumps(report.to_json(), indent=2), extra=secrets))
    else:
        print(health.render(report, secrets))
    sys.stdout.flush()
    return report.exit_code


def _disk_layer(
    dep: Deployment, where: client.Target, key: str | None, timeout: float
) -> health.Layer | None:
    """The deployment's disk and its forecast (server/usage; also records a sample);
    None when it cannot be measured (the other layers say why the stack is down)."""
    import time

    from wandb_local_kit.server import usage

    if not dep.env_file.is_file():
        return None
    started = time.monotonic()
    u = usage.survey(dep, where, key, timeout, quick=True)
    return disk_layer_of(u, time.monotonic() - started)


def disk_layer_of(u: Usage, seconds: float) -> health.Layer | None:
    """health's disk layer for a survey: a warning names what fills the disk, else the
    free space and the forecast; None when no container answered df. The survey's JSON
    is built once (each build re-runs usage.warnings()), for the outlook and the facts."""
    from wandb_local_kit.server import usage

    sample = u.sample
    if sample is None:
        return None
    warned = usage.warnings(u)
    facts = u.to_json()
    fc = facts["forecast"]
    outlook = f"full {fc['full_at'][:10]}" if fc["full_at"] else fc["reason"]
    free = f"{usage.size(sample.free)} free of {usage.size(sample.total)}"
    detail = "; ".join(w for w, _ in warned) or f"{free}; forecast {outlook}"
    return health.Layer(
        "disk", health.WARN if warned else health.OK, seconds, detail,
        warned[0][1] if warned else "", facts=facts,
    )  # fmt: skip


def configure_doctor(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    p.add_argument(
        "--no-deep",
        dest="deep",
        action="store_false",
        help="skip the signed-URL, CORS and 10 MB POST checks",
    )
    p.add_argument("--json", action="store_true", help="print findings as JSON")
    p.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=client.DEFAULT_TIMEOUT_S,
        help=f"seconds per request (default %(default)s, at most {MAX_TIMEOUT_S:.0f})",
    )
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print the pitfall table (docs/troubleshooting.md) and exit",
    )
    add_lab_file_option(p)
    p.epilog = doctor.DOCTOR_EXIT_CODES
    p.formatter_class = argparse.RawDescriptionHelpFormatter


def run_doctor(args) -> int:
    if args.markdown:
        print(doctor.render_markdown())
        return EXIT_OK
    where = _target(args)
    users, lab_file = lab_users(args)
    exam = doctor.examine(
        deployment(args, must_exist=False), where, args.deep, args.timeout, users, lab_file
    )
    if args.json:
        print(redact(json.dumps(exam.to_json(), indent=2), extra=exam.secrets))
        return exam.exit_code
    print(health.render(exam.report, exam.secrets))
    if exam.local.compose_error and where.values:
        print(f"(compose project not inspected: {exam.local.compose_error})")
    print()
    if not exam.findings:
        print("doctor: no known pitfall found")
    for f in exam.findings:
        print(redact(f.render(), extra=exam.secrets))
        print()
    counts = {s: sum(f.severity == s for f in exam.findings) for s in doctor.SEVERITIES}
    fail, warn, note = (counts[s] for s in doctor.SEVERITIES)
    print(f"doctor: {fail} failure(s), {warn} warning(s), {note} note(s) (exit {exam.exit_code})")
    sys.stdout.flush()
    return exam.exit_code


def add_lab_file_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lab-file",
        metavar="YAML",
        help="a lab file (top-level `users:` list): warn when it lists more users than "
        "the license grants seats",
    )


def lab_users(args) -> tuple[int | None, str]:
    """How many users --lab-file lists (None without one); a bad file stops here,
    before any check runs."""
    if not getattr(args, "lab_file", None):
        return None, ""
    from pathlib import Path

    from wandb_local_kit.server.license import LabFileError, count_users

    path = Path(args.lab_file).expanduser().resolve()
    try:
        return count_users(path), str(path)
    except LabFileError as err:
        raise KitError(
            str(err), fix="pass a YAML lab file whose top level has `users:` (a list)"
        ) from None
