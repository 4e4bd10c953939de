#!/usr/bin/env python3
"""Checks a rendered .env with the kit's own settings rules before it replaces the
server's: the wandb_server role runs it as the template's `validate` command, so a
refused .env never lands and the running stack, its unit and a later restart keep the
old, good settings.

    python3 check-env.py --compose-dir /opt/wandb-kit/compose FILE

Exit 0: the settings pass; 2: they do not (one line per problem, key and fix, on
stderr, with every secret value of the file masked). Standard library only: it uses
the kit's modules copied next to it (../deploy), as scripts/backup.py does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))

from wandb_local_kit.core.envfile import read_env  # noqa: E402
from wandb_local_kit.core.redact import redact  # noqa: E402
from wandb_local_kit.stack import settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compose-dir", type=Path, required=True)
    parser.add_argument("env_file", type=Path)
    args = parser.parse_args()
    values = read_env(args.env_file)
    problems = settings.validate(values, args.compose_dir)
    if not problems:
        return 0
    text = "; ".join(p.render().replace("\n  fix: ", ". Fix: ") for p in problems)
    print(f"the kit refuses these settings: {redact(text, values)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
