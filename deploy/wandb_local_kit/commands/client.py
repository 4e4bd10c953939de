"""`wandb-kit configure / env / login`: point this machine's wandb SDK at the server."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import sys

from wandb_local_kit.commands.common import add_target_options, deployment, target
from wandb_local_kit.core.errors import EXIT_OK, EXIT_USAGE, KitError
from wandb_local_kit.core.invocation import runnable
from wandb_local_kit.server import client


def configure_configure(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    p.add_argument(
        "--local",
        action="store_true",
        help="write ./wandb/settings (this directory only) instead of the global settings",
    )


def configure(args) -> int:
    where = target(args)
    url = client.sdk_host_url(where.url)
    path = client.write_base_url(url, local=args.local)
    print(f"wandb SDK now uses {url} (base_url in {path}; from {where.source})")
    env_url = os.environ.get("WANDB_BASE_URL")
    if env_url and env_url.rstrip("/") != url:
        print(
            f"  note: WANDB_BASE_URL={env_url} is set in this shell and wins over the "
            'settings file; unset it or `eval "$(wandb-kit env)"`'
        )
    if where.ca_hint:
        q = shlex.quote(where.ca_hint)
        print(
            f"  https with a private CA: the SDK needs export SSL_CERT_FILE={q} "
            f'REQUESTS_CA_BUNDLE={q}  (or: eval "$(wandb-kit env)")'
        )
    reason = client.probe(where)
    if reason:
        print(f"  warning: the server does not answer yet ({reason}); settings kept")
    print(runnable(_next_step(where, answers=not reason)))
    return EXIT_OK


def _next_step(where: client.Target, answers: bool) -> str:
    """`login` unless .netrc already holds a key this server accepts: then a user who
    has logged in once is sent on to `smoke` instead of to log in again."""
    key = client.netrc_key(where.url)
    if not key:
        return "next: `wandb-kit login`"
    stored = f"a key for {where.netloc} is stored in {client.netrc_path()}"
    if not answers:
        return f"{stored} (not verified: no answer yet); once it answers: `wandb-kit smoke`"
    try:
        who = client.verify_key(client.session(where.verify, retries=1), where, key)
    except KitError as err:
        if "rejected" in err.problem or "not a W&B API key" in err.problem:
            return f"{stored}, but the server rejected it; next: `wandb-kit login` with a new key"
        return (
            f"{stored} (not verified: {err.problem}); `wandb-kit health` says why, "
            "then `wandb-kit smoke`"
        )
    return f"{stored} and verified (user {who.username}); next: `wandb-kit smoke`"


def configure_env(p: argparse.ArgumentParser) -> None:
    add_target_options(p)


def env(args) -> int:
    print("\n".join(client.env_lines(target(args))))
    print(
        '# eval "$(wandb-kit env)" points the wandb SDK in this shell at the server; '
        "`wandb-kit login` stores the key",
        file=sys.stderr,
    )
    return EXIT_OK


def configure_login(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--key",
        help="the API key to verify and store (visible to other users in `ps`: prefer "
        "WANDB_API_KEY or the prompt)",
    )
    how.add_argument(
        "--bootstrap",
        action="store_true",
        help="fresh kit server: turn the admin API on, create the first user and an API "
        "key, and turn the admin API off again",
    )
    p.add_argument("--email", help="--bootstrap: the first user's email")
    p.add_argument("--username", help="--bootstrap: the first user's name (default: from email)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (never the key)")


def _prompt_key(where: client.Target) -> str | None:
    if not sys.stdin.isatty():
        return None
    print(f"Paste an API key from {where.origin}/authorize (input is hidden):", file=sys.stderr)
    try:
        return getpass.getpass("API key: ").strip() or None
    except EOFError:
        return None


def login(args) -> int:
    where = target(args)
    if args.bootstrap:
        return _bootstrap(args, where)
    key, source = args.key, "--key"
    if not key and os.environ.get("WANDB_API_KEY"):
        key, source = os.environ["WANDB_API_KEY"], "WANDB_API_KEY"
    if not key:
        key, source = _prompt_key(where), "prompt"
    if not key:
        print(client.no_key_message(where), file=sys.stderr)
        return EXIT_USAGE
    result = client.login(where, key, source)
    if args.json:
        print(json.dumps(result))
        return EXIT_OK
    print(f"logged in to {where.url} as {result['username']} (key from {source}, verified)")
    print(f"  key stored in {result['netrc']} (machine {where.netloc}), where the wandb SDK looks")
    _note_base_url(where)
    return EXIT_OK


def _note_base_url(where: client.Target) -> None:
    note = client.base_url_note(where)
    if note:
        print(note)


def _bootstrap(args, where: client.Target) -> int:
    from wandb_local_kit.server import bootstrap

    result = bootstrap.run(deployment(args, must_exist=False), where, args.email)
    if args.json:
        print(json.dumps(result))
        return EXIT_OK
    email = result["user_email"]
    if result["user_created"]:
        print(f"user {email} created (username {result['user_username'] or '?'}, instance admin)")
    else:
        print(f"user {email} already existed; left unchanged")
    print(
        f"personal API key generated (generateApiKey, owner {result['key_owner']}), verified, "
        f"and stored in {result['netrc']} (machine {where.netloc})"
    )
    print(
        "  as with wandb.Api().create_user(...).generate_api_key(), the key belongs to the "
        "identity that called generateApiKey (the admin API identity)"
    )
    _note_base_url(where)
    if result.get("admin_api") == "turned off again":
        print("the admin API was on only for the bootstrap and is off again")
    else:
        print(f"now turn the admin API off: {client.ADMIN_OFF_FIX}")
    return EXIT_OK
