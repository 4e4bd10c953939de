"""`wandb-kit people plan|apply|show`: a lab's users, teams and service accounts as a file."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from pathlib import Path

from wandb_local_kit.commands.argtypes import file_path, folder_path, output_file_or_stdout
from wandb_local_kit.commands.common import add_target_options, target
from wandb_local_kit.core import files, lock
from wandb_local_kit.core.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    KitError,
)

ALLOW_EMPTY_HELP = (
    "apply a file that lists no users and no teams (refused without it: an empty file is "
    "more often a mistake, and with --prune it deactivates every user but your own and the "
    "kit's)"
)
ADMIN_API_HELP = (
    "on the server's own machine, with the kit's .env: turn the admin API on (recreating "
    "the wandb container), use the admin key from .env as the key, and turn it off again "
    "however the command ends; no browser and no personal key needed"
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
            "and service accounts that the file no longer lists (never the identity "
            "applying the file, nor the kit's own account); `apply` says how many and asks "
            "first",
        )
        a.add_argument("--allow-empty", action="store_true", help=ALLOW_EMPTY_HELP)
        if name == "apply":
            a.add_argument(
                "--yes",
                action="store_true",
                help="make what --prune deactivates or removes without asking (needed when "
                "standard input is not a terminal: a script, cron, ansible)",
            )
        a.add_argument(
            "--keys-dir",
            type=folder_path,
            help="where service-account API keys are written, mode 0600 "
            "(default: service-accounts/ in the kit's home)",
        )
        a.add_argument("--json", action="store_true", help="print the result as JSON")
        a.add_argument("--admin-api", action="store_true", help=ADMIN_API_HELP)
        add_target_options(a)
    s = sub.add_parser(
        "show",
        help="write the server's people as a lab file that `apply` accepts",
        description="write the server's people as a lab file that `apply` accepts; the "
        "kit's own account (admin@localhost, the admin API key's identity) is marked with "
        "a comment",
    )
    s.add_argument(
        "-o",
        "--output",
        type=output_file_or_stdout,
        help="write to this file, checked before the server is asked (default, or `-`: "
        "standard output); a link is written through and kept",
    )
    s.add_argument(
        "--without-kit-accounts",
        action="store_true",
        help="leave the kit's own account (admin@localhost) out: the lab's people only "
        "(`apply --prune` keeps that account all the same)",
    )
    s.add_argument("--admin-api", action="store_true", help=ADMIN_API_HELP)
    add_target_options(s)


def people(args) -> int:
    from wandb_local_kit.server.people import labfile

    lab, keys_dir = None, None
    if args.people_action in ("plan", "apply"):
        # the file is checked before the server is contacted: a bad file changes nothing
        lab = labfile.load(Path(os.path.abspath(args.file)))
        if not args.allow_empty:
            labfile.refuse_empty(lab)
        keys_dir = Path(os.path.abspath(args.keys_dir)) if args.keys_dir else _default_keys(args)
        if args.people_action == "apply" and lab.service_accounts:
            # ... and so is the folder the keys go to: never a server changed, then a key lost
            files.check_folder(keys_dir, "the keys folder (--keys-dir)")
    where = target(args)
    with contextlib.ExitStack() as stack:
        if args.people_action == "apply":
            # Two applies at once both plan "create ana", and the second fails on SCIM's
            # 409 half-way: one at a time per server URL (the lock is in the kit's home).
            stack.enter_context(_apply_lock(args, where))
        if args.admin_api:
            where, key = _admin_api(args, where, stack)
        else:
            key = _key(where)
        return _run(args, where, key, lab, keys_dir)


def _key(where) -> str:
    from wandb_local_kit.server import client

    key, _source = client.find_key(where)
    if not key:
        raise KitError(
            f"no API key for {where.url}",
            fix="people commands need an instance admin's key: export WANDB_API_KEY=... "
            "(or `wandb-kit login`); on the server's own machine, --admin-api uses the "
            "kit's admin API key",
            exit_code=EXIT_USAGE,
        )
    return key


def _admin_api(args, where, stack: contextlib.ExitStack):
    """The admin API on for this command (bootstrap.admin_api_on: the deployment's lock,
    off again however it ends); the key is the one in .env, never printed."""
    from wandb_local_kit.commands.common import deployment
    from wandb_local_kit.server import bootstrap

    dep = deployment(args, must_exist=False)
    bootstrap.need_env(dep, "--admin-api")
    if not where.is_local_stack:
        raise KitError(
            f"--admin-api works on the kit's own stack ({dep.values.get('WANDB_HOST')} in "
            f"{dep.env_file}), not {where.url}; nothing was changed",
            fix="leave out --url (or give that .env with --env-file), or use an instance "
            "admin's key (WANDB_API_KEY) instead of --admin-api",
            exit_code=EXIT_USAGE,
        )
    if not dep.values.get("WANDB_ADMIN_API_KEY"):
        raise KitError(
            f"{dep.env_file} has no WANDB_ADMIN_API_KEY for --admin-api",
            fix="run `wandb-kit init` to fill in the missing settings, then `wandb-kit up`",
            exit_code=EXIT_USAGE,
        )
    instead = "or use an instance admin's key (WANDB_API_KEY) instead of --admin-api"
    operation = f"people {args.people_action} --admin-api"
    out = sys.stderr if getattr(args, "json", False) else sys.stdout  # --json: only JSON
    say = lambda line: print(line, file=out, flush=True)  # noqa: E731
    on = stack.enter_context(bootstrap.admin_api_on(dep, where, operation, instead, say))
    return on, on.values["WANDB_ADMIN_API_KEY"]


@contextlib.contextmanager
def _apply_lock(args, where):
    from wandb_local_kit.commands.common import deployment

    name = re.sub(r"[^A-Za-z0-9]+", "-", where.url).strip("-")
    path = deployment(args, must_exist=False).home / f".people-apply-{name}.lock"
    with lock.hold(path, "people apply", lock.wait_seconds()):
        yield


def _run(args, where, key: str, lab, keys_dir) -> int:
    from wandb_local_kit.server import client
    from wandb_local_kit.server.people import plan, remote, show

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
        return _show(args, state, show.text(state, args.without_kit_accounts))
    the_plan = plan.compute(lab, state, args.prune, keys_dir)
    _refuse_conflicts(the_plan, args)
    if not state.scim:
        the_plan.notes.append(
            f"SCIM is not available ({state.scim_reason}): choosing usernames, instance-admin "
            "changes, View-Only roles and deactivation need it, service accounts need the same "
            "Enterprise license"
        )
    if args.people_action == "plan":
        return _print(args, [c.line() for c in the_plan.changes], the_plan, [])
    _confirm_prune(args, the_plan)
    applying = plan.Applying(server, state, keys_dir)
    lines: list[str] = []
    out = (lambda _line: None) if args.json else (lambda line: print(line, flush=True))

    def report(line: str) -> None:
        lines.append(line)
        out(line)

    try:
        plan.apply(the_plan, applying, report)
    except KeyboardInterrupt:
        raise _interrupted(args, lines, len(the_plan.changes)) from None
    the_plan.blocked.extend(applying.refused)
    return _print(args, lines, the_plan, applying.new_users, applying, echoed=True)


def _refuse_conflicts(the_plan, args) -> None:
    if not the_plan.conflicts:
        return
    raise KitError(
        f"{len(the_plan.conflicts)} line(s) of the file ask for what another account on "
        "the server holds; nothing was changed:\n  " + "\n  ".join(the_plan.conflicts),
        fix=f"correct the lines named above, then run `wandb-kit people {args.people_action}` "
        "again (`wandb-kit people show` lists the server's accounts)",
        exit_code=EXIT_USAGE,
    )


def _confirm_prune(args, the_plan) -> None:
    """What only --prune makes (deactivations, removals) is said with its count and asked
    for on a terminal; elsewhere it needs --yes. Nothing is changed before the answer."""
    pruning = the_plan.pruning()
    if not pruning or args.yes:
        return
    users = sum(1 for c in pruning if c.text.startswith("user "))
    what = f"{users} user(s) deactivated, {len(pruning) - users} team place(s) or service "
    what += "account(s) removed"
    if not sys.stdin.isatty():
        raise KitError(
            f"--prune would have {what} (see `wandb-kit people plan FILE --prune`), and "
            "standard input is not a terminal to confirm it; nothing was changed",
            fix="check the plan, then run the same command with --yes",
            exit_code=EXIT_USAGE,
        )
    print(f"--prune: {what}:")
    for change in pruning:
        print(f"  {change.line()}")
    try:
        answer = input(f"make these {len(pruning)} change(s) and the rest of the plan? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise KitError(
            "not confirmed; nothing was changed",
            fix="run it again and answer y, or leave out --prune",
            exit_code=EXIT_USAGE,
        )


def _interrupted(args, lines: list[str], planned: int) -> KitError:
    done = "nothing was changed" if not lines else f"{len(lines)} of {planned} change(s) made"
    listed = ("" if not args.json else ":\n  " + "\n  ".join(lines)) if lines else ""
    shown = " (printed above)" if lines and not args.json else ""
    return KitError(
        f"interrupted during `people apply`: {done}{shown}{listed}; the rest were not made",
        fix=f"run `wandb-kit people apply {args.file}` again: it compares the file with the "
        "server and makes only what is still missing (nothing twice)",
        exit_code=EXIT_INTERRUPTED,
    )


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


def _print(args, lines, the_plan, new_users, applying=None, echoed=False) -> int:
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
