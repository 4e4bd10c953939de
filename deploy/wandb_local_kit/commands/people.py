"""`wandb-kit people plan|apply|show`: a lab's users, teams and service accounts as a file."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from wandb_local_kit.commands.argtypes import file_path, folder_path, output_file_or_stdout
from wandb_local_kit.commands.common import add_target_options, target
from wandb_local_kit.core import files
from wandb_local_kit.core.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    KitError,
)


def configure_people(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="people_action", metavar="ACTION", required=True)
    for name, text in (
        ("plan", "print what `apply` would change; changes nothing"),
        ("apply", "make the server's people match the file, and print what was done"),
    ):
        a = sub.add_parser(name, help=text, description=text)
        a.add_argument("file", type=file_path, help="the lab file (YAML; `people show` writes one)")
        a.add_argument(
            "--prune",
            action="store_true",
            help="deactivate users (never delete: their runs stay) and remove team members "
            "and service accounts that the file no longer lists",
        )
        a.add_argument(
            "--keys-dir",
            type=folder_path,
            help="where service-account API keys are written, mode 0600 "
            "(default: service-accounts/ in the kit's home)",
        )
        a.add_argument("--json", action="store_true", help="print the result as JSON")
        add_target_options(a)
    s = sub.add_parser(
        "show",
        help="write the server's people as a lab file that `apply` accepts",
        description="write the server's people as a lab file that `apply` accepts",
    )
    s.add_argument(
        "-o",
        "--output",
        type=output_file_or_stdout,
        help="write to this file, checked before the server is asked (default, or `-`: "
        "standard output); a link is written through and kept",
    )
    add_target_options(s)


def people(args) -> int:
    from wandb_local_kit.server import client
    from wandb_local_kit.server.people import labfile, plan, remote, show

    lab, keys_dir = None, None
    if args.people_action in ("plan", "apply"):
        # the file is checked before the server is contacted: a bad file changes nothing
        lab = labfile.load(Path(os.path.abspath(args.file)))
        keys_dir = Path(os.path.abspath(args.keys_dir)) if args.keys_dir else _default_keys(args)
        if args.people_action == "apply" and lab.service_accounts:
            # ... and so is the folder the keys go to: never a server changed, then a key lost
            files.check_folder(keys_dir, "the keys folder (--keys-dir)")
    where = target(args)
    key, source = client.find_key(where)
    if not key:
        raise KitError(
            f"no API key for {where.url}",
            fix="people commands need an instance admin's key: export WANDB_API_KEY=... "
            "(or `wandb-kit login`)",
            exit_code=EXIT_USAGE,
        )
    unreachable = client.probe(where)
    if unreachable:
        raise KitError(
            f"the server at {where.url} does not answer ({unreachable}); nothing was changed",
            fix="start it (`wandb-kit up`) or give its URL with --url; `wandb-kit health` "
            "shows which layer fails",
            exit_code=EXIT_UNREACHABLE,
        )
    if where.ca_hint:
        os.environ.setdefault("REQUESTS_CA_BUNDLE", where.ca_hint)
        os.environ.setdefault("SSL_CERT_FILE", where.ca_hint)
    server = remote.Server(where.url, key, verify=where.verify)
    names = {t.name for t in lab.teams} if lab else set()
    state = server.read(names)
    if args.people_action == "show":
        return _show(args, state, labfile.dump(show.from_remote(state)))
    the_plan = plan.compute(lab, state, args.prune, keys_dir)
    if not state.scim:
        the_plan.notes.append(
            f"SCIM is not available ({state.scim_reason}): choosing usernames, instance-admin "
            "changes, View-Only roles and deactivation need it, service accounts need the same "
            "Enterprise license"
        )
    if args.people_action == "plan":
        return _print(args, "would change", [c.line() for c in the_plan.changes], the_plan, [])
    applying = plan.Applying(server, state, keys_dir)
    lines: list[str] = []
    out = (lambda _line: None) if args.json else (lambda line: print(line, flush=True))
    plan.apply(the_plan, applying, lambda line: (lines.append(line), out(line)))
    the_plan.blocked.extend(applying.refused)
    return _print(args, "changed", lines, the_plan, applying.new_users, applying, echoed=True)


def _show(args, state, text: str) -> int:
    """The lab file to -o (checked at parse time; a link written through) or stdout."""
    if not args.output or files.is_stdout(args.output):
        sys.stdout.write(text)
        return EXIT_OK
    landed = files.write_text(args.output, text, what="people show", exit_code=EXIT_FAILED)
    print(
        f"wrote {files.shown(args.output, landed)} "
        f"({len(state.users)} users, {len(state.teams)} teams)"
    )
    return EXIT_OK


def _default_keys(args) -> Path:
    from wandb_local_kit.commands.common import deployment

    return deployment(args, must_exist=False).home / "service-accounts"


def _print(args, verb, lines, the_plan, new_users, applying=None, echoed=False) -> int:
    code = EXIT_FAILED if the_plan.blocked else EXIT_OK
    if args.json:
        print(
            json.dumps(
                {
                    "changes": len(lines),
                    "applied" if applying else "planned": lines,
                    "not_possible": the_plan.blocked,
                    "notes": the_plan.notes,
                    "new_users": [{"email": e, "username": u} for e, u in new_users],
                    "key_files": [str(p) for p in (applying.key_files if applying else [])],
                }
            )
        )
        return code
    if not echoed:
        for line in lines:
            print(line)
    print(
        f"{len(lines)} change(s) {'made' if applying else 'planned'}"
        + ("" if applying or lines else " (the server matches the file)")
    )
    for text in the_plan.blocked:
        print(f"not possible on this server: {text}")
    for text in the_plan.notes:
        print(f"note: {text}")
    if applying and applying.key_files:
        for path in applying.key_files:
            print(f"service-account key written to {path} (mode 0600; not shown here)")
    if new_users:
        print("new users: pass this on to each of them")
        for email, username in new_users:
            print(f"  {email} (username {username}): the account exists without a password.")
        print(
            "  They sign in through your SSO if the server has one; otherwise an admin sets a "
            "password on the server host with\n    docker compose exec wandb /usr/local/bin/local "
            "password EMAIL\n  Then they create an API key at "
            f"{target(args).origin}/authorize and run `wandb login --host {target(args).origin}`."
        )
    return code
