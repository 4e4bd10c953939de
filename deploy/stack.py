"""`wandb-kit init / preflight / up / down / status / logs`: the stack's life cycle."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from deploy import preflight as pf
from deploy import settings
from deploy.compose import Compose
from deploy.envfile import read_env, render, write_private
from deploy.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, KitError

CA_EXPORT_NAME = "wandb-root-ca.crt"
CADDY_ROOT_CA = "/data/caddy/pki/authorities/local/root.crt"


def add_location_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--compose-dir",
        type=Path,
        default=settings.default_compose_dir(),
        help="the kit's compose directory (default: %(default)s)",
    )
    p.add_argument(
        "--env-file", type=Path, default=None, help="settings file (default: COMPOSE_DIR/.env)"
    )


def _env_path(args) -> Path:
    return args.env_file or args.compose_dir / ".env"


def load(args) -> dict[str, str]:
    path = _env_path(args)
    if not path.exists():
        raise KitError(f"{path} does not exist", fix="run `wandb-kit init` first")
    return read_env(path)


def compose_for(args, values: dict[str, str]) -> Compose:
    files = [f for f in values.get("COMPOSE_FILE", "compose.yaml").split(":") if f]
    return Compose(
        directory=args.compose_dir,
        env_file=_env_path(args),
        project=values.get("COMPOSE_PROJECT_NAME") or None,
        files=files,
    )


# --- init ---------------------------------------------------------------------------


def configure_init(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument("--storage", choices=settings.STORAGE_CHOICES)
    p.add_argument("--tls", choices=settings.TLS_CHOICES)
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


def build_values(existing: dict[str, str], defaults: dict[str, str], args) -> dict[str, str]:
    values = {**defaults, **{k: v for k, v in existing.items() if v != ""}}
    for key, flag in (
        ("WANDB_STORAGE", "storage"),
        ("WANDB_TLS", "tls"),
        ("WANDB_HOST", "host"),
        ("WANDB_BIND", "bind"),
        ("WANDB_BUCKET_PUBLIC_URL", "bucket_url"),
        ("WANDB_EXTERNAL_MYSQL_URL", "external_mysql_url"),
        ("WANDB_EXTERNAL_BUCKET_URL", "external_bucket_url"),
    ):
        given = getattr(args, flag, None)
        if given == "-":
            given = sys.stdin.readline().strip()
        if given:
            values[key] = given
    host = urlsplit(values.get("WANDB_HOST", ""))
    if values.get("WANDB_TLS", "off") != "off" and host.scheme == "http" and not args.host:
        # Turning TLS on: clients now come through the proxy's HTTPS port.
        port = values.get("WANDB_HTTPS_PORT", "443")
        netloc = host.hostname + ("" if port == "443" else f":{port}")
        values["WANDB_HOST"] = urlunsplit(("https", netloc, "", "", ""))
    bucket = urlsplit(values.get("WANDB_BUCKET_PUBLIC_URL", ""))
    wanted = settings.bucket_scheme(values.get("WANDB_TLS", "off"))
    explicit = getattr(args, "bucket_url", None)
    if bucket.scheme in ("http", "https") and bucket.scheme != wanted and not explicit:
        # TLS turned on or off: the bucket endpoint moves behind Caddy or back.
        values["WANDB_BUCKET_PUBLIC_URL"] = urlunsplit((wanted, bucket.netloc, "", "", ""))
    return settings.derive(settings.generate_secrets(values))


def cmd_init(args) -> int:
    path = _env_path(args)
    example = args.compose_dir / ".env.example"
    if not example.exists():
        raise KitError(f"{example} is missing", fix="run from a checkout of wandb-local-kit")
    existing = read_env(path)
    values = build_values(existing, settings.example_values(args.compose_dir), args)
    problems = settings.validate(values, args.compose_dir)
    if problems:
        print(
            f"error: {len(problems)} setting(s) need attention; {path} was not written:",
            file=sys.stderr,
        )
        for problem in problems:
            print("  " + problem.render().replace("\n", "\n  "), file=sys.stderr)
        return EXIT_USAGE
    generated = [k for k in settings.SECRET_FACTORIES if not existing.get(k)]
    write_private(path, render(example.read_text(), values))
    print(f"wrote {path} (mode 0600)")
    print(
        f"  storage {values['WANDB_STORAGE']}, TLS {values['WANDB_TLS']}, "
        f"clients use {values['WANDB_HOST']}"
    )
    print(f"  compose files: {values['COMPOSE_FILE']}")
    if generated and existing:
        print(f"  generated: {', '.join(generated)}; kept every existing value")
    elif generated:
        print(f"  generated: {', '.join(generated)} (never printed; they stay in the file)")
    print("next: wandb-kit up   (or: make up)")
    return EXIT_OK


# --- preflight ----------------------------------------------------------------------


def configure_preflight(p: argparse.ArgumentParser) -> None:
    add_location_options(p)


def _running(compose: Compose) -> bool:
    try:
        return any(s.get("State") == "running" for s in compose.services())
    except KitError:
        return False


def run_preflight(args, values: dict[str, str], compose: Compose) -> list[pf.Check]:
    from deploy.storage_checks import check_own_storage

    facts = pf.observe(values, args.compose_dir, stack_running=_running(compose))
    checks = pf.check(facts, values, args.compose_dir)
    # Your own MySQL / bucket (bring your own), checked as W&B will use them.
    checks += check_own_storage(values)
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"  [{c.status:>4}] {c.name:<{width}}  {c.detail}")
        if c.fix and c.status != pf.OK:
            print(f"  {'':>6} {'':<{width}}  fix: {c.fix}")
    return checks


def cmd_preflight(args) -> int:
    values = load(args)
    checks = run_preflight(args, values, compose_for(args, values))
    if any(c.status == pf.FAIL for c in checks):
        return EXIT_USAGE
    return EXIT_FAILED if any(c.status == pf.WARN for c in checks) else EXIT_OK


# --- up / down / status / logs ------------------------------------------------------


def configure_up(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument("--skip-preflight", action="store_true", help="start without host checks")


def cmd_up(args) -> int:
    values = load(args)
    compose = compose_for(args, values)
    if not args.skip_preflight:
        print("preflight:")
        if any(c.status == pf.FAIL for c in run_preflight(args, values, compose)):
            raise KitError("preflight failed; nothing was started", fix="fix the items above")
    print(
        "starting the stack; first boot runs database migrations, which may take "
        "minutes: do not interrupt them (an interrupted migration can leave the "
        "database dirty)"
    )
    compose.up()
    host = values["WANDB_HOST"]
    print(f"\nW&B is up at {host}")
    if values.get("WANDB_TLS") == "internal":
        ca = export_internal_ca(compose, args.compose_dir)
        print(f"  TLS by Caddy's internal CA; its root certificate: {ca}")
        print(f"  trust it in the SDK: export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca}")
        print(
            "  (or add it to the system store: cp it to /usr/local/share/ca-certificates/ "
            "&& update-ca-certificates)"
        )
    if values.get("WANDB_STORAGE") == "external":
        if values.get("WANDB_EXTERNAL_BUCKET_URL"):
            via = "your store"
        elif values.get("WANDB_TLS") != "off":
            via = "through Caddy, same certificate"
        else:
            via = "SeaweedFS"
        print(
            f"  bucket endpoint ({via}): {values['WANDB_BUCKET_PUBLIC_URL']}; training "
            "nodes and browsers must reach it too"
        )
    print(
        f"  first account: open {host}/signup (it becomes the admin), then get an API key "
        f"at {host}/authorize"
    )
    if values.get("WANDB_ADMIN_API_ENABLED") == "true":
        print("  headless: the admin API key in .env (WANDB_ADMIN_API_KEY) works as an API key")
    print("next: wandb-kit configure && wandb-kit login, then make smoke")
    return EXIT_OK


def export_internal_ca(compose: Compose, compose_dir: Path) -> Path:
    target = compose_dir / "certs" / CA_EXPORT_NAME
    target.parent.mkdir(exist_ok=True)
    compose.run("cp", f"caddy:{CADDY_ROOT_CA}", str(target))
    return target


def configure_down(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument(
        "--volumes", action="store_true", help="also DELETE the data volumes (asks first)"
    )
    p.add_argument("--yes", action="store_true", help="do not ask before deleting data")


def cmd_down(args) -> int:
    values = load(args)
    compose = compose_for(args, values)
    if args.volumes and not args.yes:
        project = values.get("COMPOSE_PROJECT_NAME", "wandb")
        if not sys.stdin.isatty():
            raise KitError(
                "--volumes deletes every run, file and artifact of this server, "
                "and there is no terminal to confirm it",
                fix="add --yes to confirm, after `wandb-kit backup`",
            )
        answer = input(f"This deletes ALL data of project '{project}'. Type its name to confirm: ")
        if answer.strip() != project:
            print("not confirmed; nothing was deleted")
            return EXIT_USAGE
    compose.down(volumes=args.volumes)
    print("stack stopped" + ("; data volumes deleted" if args.volumes else "; data kept"))
    return EXIT_OK


def configure_status(p: argparse.ArgumentParser) -> None:
    add_location_options(p)


def cmd_status(args) -> int:
    values = load(args)
    services = compose_for(args, values).services()
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
    stopped = [
        s
        for s in services
        if s.get("State") != "running" and not str(s.get("Status", "")).startswith("Exited (0)")
    ]
    return EXIT_FAILED if unhealthy or stopped else EXIT_OK


def configure_logs(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument("service", nargs="*", help="only these services")
    p.add_argument("--follow", "-f", action="store_true")
    p.add_argument("--tail", default="200", help="lines per service (default 200, or all)")


def cmd_logs(args) -> int:
    values = load(args)
    extra = ["--follow"] if args.follow else []
    compose_for(args, values).run("logs", "--tail", args.tail, *extra, *args.service)
    return EXIT_OK
