"""wandb_local_kit.lab.likely_typos: which variable names no role of the collection knows,
each with the known name it most likely misspells.

An unknown `wandb_*` variable is almost always a misspelled setting (`wandb_backup_keep`
for `wandb_backups_keep`); Ansible would ignore it silently and the default would win.
"""

from __future__ import annotations

import difflib

DOCUMENTATION = """
name: likely_typos
short_description: Unknown variable names, each with the closest known one.
description:
  - Given the names in use and the names the roles know, returns one line per unknown name.
options:
  _input:
    description: The variable names in use.
    type: list
    elements: str
    required: true
  known:
    description: The variable names the roles know.
    type: list
    elements: str
    required: true
"""


def likely_typos(names, known):
    known = sorted(set(known))
    lines = []
    for name in sorted(set(names) - set(known)):
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "no role of wandb_local_kit.lab reads it"
        lines.append(f"{name}: unknown variable ({hint})")
    return lines


class FilterModule:
    def filters(self):
        return {"likely_typos": likely_typos}
