#!/usr/bin/env python3
"""Records one sample of a wandb-local-kit stack's disk use, without the kit's Python package.

    scripts/usage_sample.py [--compose-dir DIR] [--env-file FILE]

Needs python3 (standard library only), docker and the compose v2 plugin: this is what
a daily timer runs on a lab server (the Ansible role), so `wandb-kit storage`, `health`
and `doctor` have a growth rate to forecast from. It measures the stack's volumes
inside its containers (df, du), appends one line to `.ENVNAME.usage.jsonl` beside the
settings file and prints it. Reads only; never deletes anything from the stack.
Exit codes: 0 recorded, 1 the stack could not be measured (not running), 2 bad input.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The kit's package lives in deploy/ (a checkout, or the copy the Ansible role makes).
sys.path.insert(0, str(ROOT / "deploy"))

from wandb_local_kit.core.errors import KitError  # noqa: E402
from wandb_local_kit.core.usage_samples import record, samples_file  # noqa: E402
from wandb_local_kit.stack.deployment import Deployment  # noqa: E402
from wandb_local_kit.stack.usage_measure import measure  # noqa: E402


def main(argv):
    parser = argparse.ArgumentParser(prog="usage_sample.py", description=__doc__.split("\n")[1])
    parser.add_argument("--compose-dir", type=Path, default=None)
    parser.add_argument("--env-file", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        stack = Deployment.load(args.compose_dir, args.env_file)
        sample, _parts = measure(stack)
        if sample is None:
            print(
                f"usage_sample.py: no container of {stack.project} answered df and du; "
                "is the stack running?",
                file=sys.stderr,
            )
            return 1
        path = samples_file(stack.env_file)
        record(path, sample)
    except KitError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    print(f"{path}: {sample.line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
