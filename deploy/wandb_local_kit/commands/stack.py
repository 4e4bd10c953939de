"""`wandb-kit init / preflight / up / down / status / logs`: the stack's life cycle."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from wandb_local_kit.commands.common import add_location_options, deployment
from wandb_local_kit.core import files
from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, KitError
from wandb_local_kit.server import sso
from wandb_local_kit.stack import images, settings
from wandb_local_kit.stack import preflight as pf
from wandb_local_kit.stack.deployment import Deployment, check_compose_dir

# --- init ---------------------------------------------------------------------------


def configure_init(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument("--storage", choices=settings.STORAGE_CHOICES)
    p.add_argument("--tls", choices=settings.TLS_CHOICES)
    p.add_argument("--acme-email", help="with --tls acme: the email of the ACME account")
    p.add_argument(
        "--project", help="compose project name: one per deployment on an engine (default wandb)"
    )
    p.add_argument("--host", help="URL clients use, e.g. http://wandb.lab.example:8080")
    p.add_argument("--bind", help="host address to publish on (127.0.0.1 or 0.0.0.0)")
    p.add_argument("--bucket-url", help="public endpoint of the bundled bucket (not localhost)")
    p.add_argument(
        "--external-mysql-url",
        metavar="URL|-",
        help="your MySQL, mysql://USER:PASSWORD@HOST:3306/DB, instead of the bundled one "
        "('-' reads it from standard input, keeping the password off the command line)",
    )
    p.add_argument(
        "--external-bucket-url",
        metavar="URL|-",
        help="your bucket, s3://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET?region=R&tls=true, "
        "instead of the bundled SeaweedFS ('-' reads it from standard input)",
    )
    p.add_argument(
        "--image",
        help="the server image, pinned (default wandb/local:<tag>; a mirror or another "
        "registry: REGISTRY/wandb/local:<tag>)",
    )
    p.add_argument(
        "--standin",
        nargs="?",
        const="free",
        choices=settings.STANDIN_TIERS,
        help="try the kit on the project's W&B stand-in (a test double, not W&B; build it "
        "first: scripts/build-images.sh wandb-standin); =enterprise adds the stand-in's "
        "placeholder Enterprise license (teams' service accounts, SCIM); =off goes back "
        "to the real image",
    )
    cleanup_options = p.add_argument_group("W&B's own clean-up (docs/storage-growth.md)")
    cleanup_options.add_argument(
        "--data-retention-period",
        metavar="HOURSh",
        help="how long a deleted run's files stay before W&B removes them, e.g. 168h "
        "(the server's default) or 720h",
    )
    cleanup_options.add_argument(
        "--artifact-gc",
        choices=("true", "false"),
        help="W&B's artifact garbage collection; true makes storage-init version your "
        "own bucket and expire old versions (not offered on the bundled store)",
    )
    cleanup_options.add_argument(
        "--bucket-noncurrent-days",
        metavar="DAYS",
        help="with --artifact-gc true: days before a deleted file's old version expires "
        "(default 7)",
    )
    sso_options = p.add_argument_group("SSO (OpenID Connect)")
    sso_options.add_argument(
        "--oidc-issuer", metavar="URL", help="the provider's issuer, exactly (https)"
    )
    sso_options.add_argument("--oidc-client-id", metavar="ID", help="the client id at the provider")
    sso_options.add_argument(
        "--oidc-secret-file",
        metavar="FILE",
        help="a file (mode 600) holding the client secret, kept off the command line",
    )
    sso_options.add_argument(
        "--oidc-method", choices=("pkce", "implicit"), help="implicit (W&B's default) or pkce"
    )
    sso_options.add_argument(
        "--no-oidc", action="store_true", help="turn SSO off (clears the WANDB_OIDC_* settings)"
    )


def init(args) -> int:
    dep = deployment(args, must_exist=False)
    check_compose_dir(dep.compose_dir)
    example = dep.compose_dir / ".env.example"
    if not example.exists():
        raise KitError(f"{example} is missing", fix="reinstall wandb-local-kit")
    existing = dict(dep.values)
    choices = {flag: getattr(args, flag, None) for flag in settings.CHOICE_KEYS}
    choices["standin"] = getattr(args, "standin", None)
    for flag in ("external_mysql_url", "external_bucket_url"):
        if choices[flag] == "-":  # a URL with a password, kept off the command line
            choices[flag] = sys.stdin.readline().strip()
            if not choices[flag]:
                option = "--" + flag.replace("_", "-")
                raise KitError(
                    f"{option} - read nothing from standard input",
                    fix=f"pipe the URL in, e.g. `cat url.txt | wandb-kit init {option} -`, "
                    "or type it and press Enter",
                )
    existing, secret_problems = _sso_choices(args, existing, choices)
    from wandb_local_kit.stack import identity

    defaults = settings.example_values(dep.compose_dir)
    choices, picked = identity.pick_free(existing, defaults, choices, dep.env_file)
    values = settings.build_values(existing, defaults, choices, host_cpus=os.cpu_count())
    values = settings.place_user_files(values, dep.home, dep.compose_dir)
    problems = secret_problems + settings.validate(values, dep.compose_dir)
    if problems:
        print(
            f"error: {len(problems)} setting(s) need attention; {dep.env_file} was not written:",
            file=sys.stderr,
        )
        for problem in problems:
            print("  " + problem.render().replace("\n", "\n  "), file=sys.stderr)
        return EXIT_USAGE
    generated = [k for k in settings.SECRET_FACTORIES if not existing.get(k)]
    unwritable = dep.unwritable()
    if unwritable:
        raise unwritable
    dep.home.mkdir(parents=True, exist_ok=True)
    landed = dep.write(values, files.read_text(example, "the settings template"))
    print(f"wrote {files.shown(dep.env_file, landed)} (mode 0600)")
    print(
        f"  storage {values['WANDB_STORAGE']}, TLS {values['WANDB_TLS']}, "
        f"clients use {values['WANDB_HOST']}"
    )
    print(f"  compose files: {values['COMPOSE_FILE']}")
    for note in picked:
        print(f"  picked {note}; --project / --host choose others")
    if generated and existing:
        print(f"  generated: {', '.join(generated)}; kept every existing value")
    elif generated:
        print(f"  generated: {', '.join(generated)} (never printed; they stay in the file)")
    if sso.enabled(values):
        print(
            f"  SSO: {values[sso.ISSUER]} ({sso.method_of(values)}); register "
            f"{sso.redirect_uri(values['WANDB_HOST'])} at the provider, then `wandb-kit doctor`"
        )
    from wandb_local_kit.core import locations
    from wandb_local_kit.core.invocation import kit_command

    # `make` only where there is a Makefile (a checkout), not for a wheel's user.
    make = "   (or: make up)" if locations.is_checkout() else ""
    print(f"next: {kit_command()} up{make}")
    return EXIT_OK


def _sso_choices(args, existing: dict[str, str], choices: dict) -> tuple[dict, list]:
    """--no-oidc clears the SSO settings; --oidc-secret-file is read here (the secret
    never passes through the command line). A bad file is a Problem like any other."""
    if getattr(args, "no_oidc", False):
        if any(
            getattr(args, f, None) for f in ("oidc_issuer", "oidc_client_id", "oidc_secret_file")
        ):
            return existing, [
                settings.Problem(
                    "--no-oidc", "was given with --oidc-* options", "pass one or the other"
                )
            ]
        existing = {k: v for k, v in existing.items() if k not in sso.KEYS}
    if getattr(args, "oidc_secret_file", None):
        try:
            choices["oidc_client_secret"] = sso.read_secret_file(
                Path(args.oidc_secret_file).expanduser().resolve()
            )
        except ValueError as err:
            return existing, [err.args[0]]
    return existing, []


# --- preflight ----------------------------------------------------------------------


def configure_preflight(p: argparse.ArgumentParser) -> None:
    add_location_options(p)


def print_checks(checks: list[pf.Check]) -> None:
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"  [{c.status:>4}] {c.name:<{width}}  {c.detail}")
        if c.fix and c.status != pf.OK:
            print(f"  {'':>6} {'':<{width}}  fix: {c.fix}")


def preflight_ok(dep: Deployment) -> bool:
    """Runs and prints preflight; False when a check failed."""
    checks = pf.run(dep)
    print_checks(checks)
    return not any(c.status == pf.FAIL for c in checks)


def preflight(args) -> int:
    checks = pf.run(deployment(args))
    print_checks(checks)
    if any(c.status == pf.FAIL for c in checks):
        return EXIT_USAGE
    return EXIT_FAILED if any(c.status == pf.WARN for c in checks) else EXIT_OK


# --- up / down / status / logs ------------------------------------------------------


def configure_up(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument("--skip-preflight", action="store_true", help="start without host checks")


def up(args) -> int:
    dep = deployment(args)
    with dep.locked("up"):
        if not args.skip_preflight:
            print("preflight:")
            if not preflight_ok(dep):
                raise KitError("preflight failed; nothing was started", fix="fix the items above")
        images.ensure(dep.compose, dep.values)  # a missing image: the way out, not Docker's
        try:
            # The message inside the try: a Ctrl-C that lands while it is printed still
            # gets the way to finish (the test interrupts the moment this line appears).
            print(
                "starting the stack; first boot runs database migrations, which may take "
                "minutes: do not interrupt them (an interrupted migration can leave the "
                "database dirty)",
                flush=True,
            )
            dep.compose.up()
        except KeyboardInterrupt:
            # Compose may have created or started only some services: say how to finish.
            from wandb_local_kit.core.invocation import up_command

            print(
                "interrupted; the stack may be half started: "
                f"`{up_command(dep.env_file)}` starts it again",
                file=sys.stderr,
            )
            raise
        ca = dep.export_internal_ca() if dep.tls == "internal" else None
    values, host = dep.values, dep.url
    print(f"\nW&B is up at {host}")
    if ca:
        print(f"  TLS by Caddy's internal CA; its root certificate: {ca}")
        print(f"  trust it in the SDK: export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca}")
        print(
            "  (or add it to the system store: cp it to /usr/local/share/ca-certificates/ "
            "&& update-ca-certificates)"
        )
    if dep.storage == "external":
        if values.get("WANDB_EXTERNAL_BUCKET_URL"):
            via = "your store"
        elif dep.tls != "off":
            via = "through Caddy, same certificate"
        else:
            via = "SeaweedFS"
        print(
            f"  bucket endpoint ({via}): {values['WANDB_BUCKET_PUBLIC_URL']}; training "
            "nodes and browsers must reach it too"
        )
    _next_steps(dep, host)
    return EXIT_OK


def _next_steps(dep: Deployment, host: str) -> None:
    """What to do now, as this user can run it: a user whose stored key this server
    accepts is sent on to `smoke`; otherwise the ways to a first account and a key."""
    import os

    from wandb_local_kit.commands.client import _next_step
    from wandb_local_kit.core.invocation import runnable
    from wandb_local_kit.server import client

    where = client.target_for(dep, environ=dict(os.environ))
    step = _next_step(where, answers=True)
    if "verified" in step and "not verified" not in step:
        print(runnable(f"  {step}"))
        return
    print(
        f"  no account yet? open {host}/signup (the first account becomes the admin), "
        f"then get an API key at {host}/authorize"
    )
    print(runnable("  headless: `wandb-kit login --bootstrap --email YOU@LAB` creates it"))
    print(runnable("next: `wandb-kit configure` and `wandb-kit login`, then `wandb-kit smoke`"))


def configure_down(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument(
        "--volumes", action="store_true", help="also DELETE the data volumes (asks first)"
    )
    p.add_argument("--yes", action="store_true", help="do not ask before deleting data")


def down(args) -> int:
    dep = deployment(args)
    if args.volumes and not args.yes:
        if not sys.stdin.isatty():
            raise KitError(
                "--volumes deletes every run, file and artifact of this server, "
                "and there is no terminal to confirm it",
                fix="add --yes to confirm, after `wandb-kit backup`",
            )
        answer = input(
            f"This deletes ALL data of project '{dep.project}'. Type its name to confirm: "
        )
        if answer.strip() != dep.project:
            print("not confirmed; nothing was deleted")
            return EXIT_USAGE
    with dep.locked("down"):
        dep.compose.down(volumes=args.volumes)
    print("stack stopped" + ("; data volumes deleted" if args.volumes else "; data kept"))
    return EXIT_OK


def configure_status(p: argparse.ArgumentParser) -> None:
    add_location_options(p)


def status(args) -> int:
    services = deployment(args).compose.services()
    if not services:
        print("the stack is not running (wandb-kit up starts it)")
        return EXIT_FAILED
    for s in services:
        health = s.get("Health") or "-"
        print(
            f"  {s.get('Service', '?'):<12} {s.get('State', '?'):<10} {health:<10} "
            f"{s.get('Status', '')}"
        )
    unhealthy = [
        s
        for s in services
        if s.get("State") == "running" and s.get("Health") not in ("", None, "healthy")
    ]
    stopped = [s for s in services if s.get("State") != "running" and not _finished_job(s)]
    for s in stopped:  # a long-running service that exited, even with code 0, is down
        name = s.get("Service", "?")
        print(
            f"the {name} service is not running ({s.get('Status') or s.get('State')}); "
            f"`wandb-kit logs {name}` shows why, `wandb-kit up` starts it again"
        )
    return EXIT_FAILED if unhealthy or stopped else EXIT_OK


# One-shot jobs of the compose files (restart: "no"): exiting 0 is their success.
ONE_SHOT_SERVICES = frozenset({"storage-init", "caddy-ca"})


def _finished_job(service: dict) -> bool:
    return service.get("Service") in ONE_SHOT_SERVICES and str(
        service.get("Status", "")
    ).startswith("Exited (0)")


def configure_logs(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument("service", nargs="*", help="only these services")
    p.add_argument("--follow", "-f", action="store_true")
    p.add_argument("--tail", default="200", help="lines per service (default 200, or all)")


def logs(args) -> int:
    dep = deployment(args)
    if args.tail != "all" and not args.tail.isdigit():
        raise KitError(f"--tail {args.tail!r} is not a number of lines", fix="use e.g. 200, or all")
    unknown = sorted(set(args.service) - set(dep.compose.service_names()))
    if unknown:
        raise KitError(
            f"no service named {', '.join(unknown)} in this stack",
            fix=f"use one of: {', '.join(dep.compose.service_names())}",
        )
    extra = ["--follow"] if args.follow else []
    dep.compose.run("logs", "--tail", args.tail, *extra, *args.service)
    return EXIT_OK
