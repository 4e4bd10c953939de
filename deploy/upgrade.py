"""`wandb-kit upgrade --to TAG`: preflight, backup, new image, recreate, wait, verify;
on failure, print the rollback rather than guess.

Order matters: the new image is pulled (or loaded from a bundle) BEFORE anything
changes, so a tag that does not exist leaves the running server untouched. Then
.env names the new image and compose recreates wandb; first start of a new version
runs database migrations, which must never be interrupted (an interrupted
migration leaves a "Dirty database version" that needs manual repair), hence the
long wait.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from deploy.errors import EXIT_FAILED, EXIT_OK, KitError

MIGRATION_WAIT_S = 900


def configure(p: argparse.ArgumentParser) -> None:
    from deploy.stack import add_location_options

    add_location_options(p)
    p.add_argument("--to", required=True, metavar="TAG", help="the new wandb/local tag")
    p.add_argument("--bundle", type=Path, help="load the image from this bundle, no pull")
    p.add_argument("--dest", type=Path, help="where the pre-upgrade backup goes")
    p.add_argument(
        "--wait-timeout",
        type=int,
        default=MIGRATION_WAIT_S,
        help=f"seconds to wait for /ready after recreate (default {MIGRATION_WAIT_S})",
    )
    p.add_argument("--skip-preflight", action="store_true")


def new_image(current: str, tag: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag) or tag == "latest":
        raise KitError(f"{tag!r} is not a pinned image tag", fix="give a release tag, e.g. 0.84.0")
    repo = current.rsplit(":", 1)[0] if ":" in current.split("/")[-1] else current
    return f"{repo}:{tag}"


def set_env_value(env_file: Path, key: str, value: str) -> None:
    from deploy.envfile import quote, write_private

    text = env_file.read_text()
    line = f"{key}={quote(key, value)}"
    text, n = re.subn(rf"^{key}=.*$", lambda _: line, text, flags=re.M)
    write_private(env_file, text if n else text + line + "\n")


def _image_present(image: str) -> bool:
    return (
        subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0
    )


def cmd_upgrade(args) -> int:
    from deploy import backup as ops
    from deploy import bundle

    env_file = args.env_file or args.compose_dir / ".env"
    stack = ops.Stack.from_env(args.compose_dir, env_file)
    old = stack.values.get("WANDB_IMAGE", "")
    target = new_image(old, args.to)
    if target == old:
        print(f"already on {old}; nothing to do")
        return EXIT_OK
    if not args.skip_preflight:
        from deploy.stack import run_preflight

        print("preflight:")
        if any(c.status == "fail" for c in run_preflight(args, stack.values, stack.compose)):
            raise KitError("preflight failed; nothing was changed", fix="fix the items above")

    # 1. The new image first: a missing tag must not touch the running server.
    if args.bundle:
        bundle.load(args.bundle)
    elif not _image_present(target):
        print(f"pulling {target}")
        pulled = subprocess.run(["docker", "pull", target], capture_output=True, text=True)
        if pulled.returncode != 0:
            raise KitError(
                f"cannot get {target}: {pulled.stderr.strip()[-300:]}",
                fix="check the tag, or bring it with `wandb-kit bundle load`; "
                f"nothing was changed, the server still runs {old}",
            )
    if not _image_present(target):
        raise KitError(
            f"{target} is not on this host after loading",
            fix=f"check the bundle's images; the server still runs {old}",
        )

    # 2. A backup to come back to.
    dest = args.dest or args.compose_dir.parent / "backups"
    saved = ops.backup(stack, dest)

    # 3. Recreate on the new image and wait through migrations.
    set_env_value(env_file, "WANDB_IMAGE", target)
    print(
        f"recreating wandb on {target}; the first start runs database migrations. "
        "Do NOT stop or restart the server while they run: an interrupted migration "
        "leaves the database dirty."
    )
    rollback = (
        f"roll back: set WANDB_IMAGE='{old}' in {env_file}, then "
        f"`wandb-kit restore {saved} --force` (the backup taken before the upgrade)"
    )
    up = stack.compose.run(
        "up",
        "--detach",
        "--wait",
        "--wait-timeout",
        str(args.wait_timeout),
        capture=True,
        check=False,
    )
    if up.returncode != 0:
        raise KitError(
            f"wandb on {target} did not become healthy within {args.wait_timeout} s "
            f"({up.stderr.strip()[-300:]}); if migrations are still running (see "
            "`wandb-kit logs wandb`), wait and check `wandb-kit health`",
            fix=rollback,
            exit_code=EXIT_FAILED,
        )

    # 4. Prove it: the deep health check (signed URL upload, CORS, large post).
    from deploy import health

    if not _deep_health(health, args, stack):
        raise KitError(
            f"wandb on {target} is up but `health --deep` failed (above)",
            fix=rollback,
            exit_code=EXIT_FAILED,
        )
    print(f"upgraded {old} -> {target}; backup before the upgrade: {saved}")
    return EXIT_OK


def _deep_health(health, args, stack) -> bool:
    from deploy import client

    target = client.target_from_args(
        argparse.Namespace(
            url=None, ca_file=None, compose_dir=args.compose_dir, env_file=args.env_file
        )
    )
    key, source = client.find_key(target)
    report = health.run(target, key, source, deep=True, timeout=30.0)
    print(health.render(report, (key,) if key else ()))
    return report.exit_code in (0, 1)  # warnings (plain http, no CORS) do not fail it
