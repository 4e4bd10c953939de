"""Reading and writing the kit's `.env` (compose's env-file syntax).

Values are written single-quoted: compose then takes them literally (no `$`
interpolation, `#` is not a comment), so generated or user passwords with
`@ : / # % $` reach the containers unchanged. A single quote cannot be written that
way, so it is refused with a clear message instead of being mangled.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from wandb_local_kit.core import files
from wandb_local_kit.core.errors import KitError


def parse_env(text: str) -> dict[str, str]:
    """Parses compose's env-file syntax as the kit and people write it: KEY=value,
    KEY='literal', KEY="with \\ escapes", an optional `export `, # comments.

    Standard library only: scripts/backup.py runs it on servers without the kit's
    dependencies."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if value[:1] == "'" and value.count("'") >= 2:
            value = value[1 : value.index("'", 1)]
        elif value[:1] == '"' and len(value) >= 2:
            body, i, chars = value[1:], 0, []
            while i < len(body) and body[i] != '"':
                if body[i] == "\\" and i + 1 < len(body):
                    i += 1
                    chars.append({"n": "\n", "t": "\t"}.get(body[i], body[i]))
                else:
                    chars.append(body[i])
                i += 1
            value = "".join(chars)
        else:
            value = value.split(" #", 1)[0].strip()
        out[key] = value
    return out


_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def syntax_problems(text: str) -> list[str]:
    """What compose would choke on or read differently than the kit, line by line.
    Never quotes a value: the next line of an unterminated quote is often a password."""
    problems: list[str] = []
    seen: dict[str, int] = {}  # setting name: the line it is first set on
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            problems.append(f"line {number} is not KEY=value (no '=')")
            continue
        if not _KEY.match(key):
            problems.append(f"line {number}: {key[:40]!r} is not a setting name")
            continue
        quote_char = value[:1]
        if quote_char in ("'", '"') and not _closes(value, quote_char):
            problems.append(
                f"line {number}: the value of {key} opens a {quote_char} quote and never closes it"
            )
        if key in seen:
            problems.append(f"{key} is set twice (lines {seen[key]} and {number}); only one counts")
        seen.setdefault(key, number)
    return problems


def _closes(value: str, quote_char: str) -> bool:
    body, i = value[1:], 0
    while i < len(body):
        if quote_char == '"' and body[i] == "\\":
            i += 2
            continue
        if body[i] == quote_char:
            return True
        i += 1
    return False


def read_text(path: Path) -> str:
    """The settings file's text, read through the door (core/files): a regular file of
    UTF-8 text; a device, a pipe or a folder is refused, naming it."""
    try:
        return files.read_text(path, what="the settings file", limit=SETTINGS_LIMIT)
    except KitError as err:
        if "permission denied" in err.problem:
            raise KitError(
                f"{path} is not readable by this user", fix=_unreadable_fix(path)
            ) from None
        raise


SETTINGS_LIMIT = 1024 * 1024  # a .env is a few kB; a megabyte is surely the wrong file


def _unreadable_fix(path: Path) -> str:
    """The owner who cannot read their own file lost its read bit (chmod 000); anyone
    else must be that owner (the file is private by design)."""
    try:
        owned = path.stat().st_uid == os.getuid()
    except OSError:
        owned = False
    if owned:
        return f"you own {path} but its mode lets nobody read it: `chmod 600 {path}`"
    return f"run as the user who owns {path} (it is private: mode 0600)"


def read_env(path: Path) -> dict[str, str]:
    """Returns the file's keys and values (empty when the file does not exist)."""
    if files.kind(path) is None and not path.is_symlink():
        return {}
    return parse_env(read_text(path))


def quote(key: str, value: str) -> str:
    if "'" in value:
        raise KitError(
            f"{key} contains a single quote, which .env cannot hold literally",
            fix=f"choose a {key} without ' (any other character, including @:/#%$, is fine)",
        )
    if "\n" in value:
        raise KitError(f"{key} contains a line break", fix=f"put {key} on one line")
    return f"'{value}'"


def render(template: str, values: dict[str, str]) -> str:
    """Fills the template (.env.example): every KEY= line gets values[KEY].

    Comments and order come from the template, so .env stays documented; keys in
    values that the template lacks are appended at the end.
    """
    lines, seen = [], set()
    for line in template.splitlines():
        key, sep, _ = line.partition("=")
        key = key.strip()
        if sep and key and not line.lstrip().startswith("#"):
            seen.add(key)
            lines.append(f"{key}={quote(key, values.get(key, ''))}")
        else:
            lines.append(line)
    extra = [k for k in values if k not in seen]
    if extra:
        lines.append("")
        lines.append("# --- not in .env.example ---")
        lines.extend(f"{k}={quote(k, values[k])}" for k in extra)
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> Path:
    """Writes the file with mode 0600 from the start (it holds secrets), atomically,
    through the door: a link is written through, a device or pipe refused. Returns where
    it landed."""
    return files.write_text(path, text, private=True, what="the settings file")
