"""Option types of the command line. Numbers: refused by argparse with a clear line when
they make no sense. Paths: resolved against the caller's working directory the moment
they are parsed, and output files checked before any work starts.

Why resolve at once: the kit hands paths to compose, which runs in the compose directory;
a relative `--env-file` would be checked here and read there. Why check
outputs first: a smoke suite or a bench run takes minutes, and a report that cannot be
written at the end loses them.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path, PurePath


def absolute(path: PurePath | str) -> Path:
    """PATH as the caller meant it: `~` expanded, relative to their working directory.
    (Not resolved through symlinks: messages show the path the user gave, made whole.)"""
    return Path(os.path.abspath(Path(path).expanduser()))


def user_path(text: str) -> Path:
    """argparse type of a path the user gives (input or folder). A device, a named pipe
    or a socket is refused here, before any work: the kit reads and writes only regular
    files and folders (a pipe would hang a reader; a rename would replace a device)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a file or folder name")
    path = absolute(text)
    found = _kind(path)
    if found not in (None, "a regular file", "a folder"):
        raise argparse.ArgumentTypeError(
            f"{path} is {found}, not a regular file or folder; give a file or folder path"
        )
    return path


def _kind(path: Path) -> str | None:
    from wandb_local_kit.core import files
    from wandb_local_kit.core.errors import KitError

    try:
        return files.kind(path)
    except KitError as err:  # a link loop, a name too long, a part that is not a folder
        raise argparse.ArgumentTypeError(f"{err.problem}; choose another path") from None


def file_path(text: str) -> Path:
    """argparse type of a file the command reads (or, like `init --env-file`, creates):
    a user_path that is not a folder."""
    path = user_path(text)
    if _kind(path) == "a folder":
        raise argparse.ArgumentTypeError(f"{path} is a directory; give the path of a file")
    return path


def folder_path(text: str) -> Path:
    """argparse type of a folder (a compose folder, a backup, a destination): a user_path
    that is not a file."""
    path = user_path(text)
    if _kind(path) == "a regular file":
        raise argparse.ArgumentTypeError(
            f"{path} is not a folder (it is a file); give the path of a folder"
        )
    return path


def output_file(text: str) -> Path:
    """argparse type of a file the command writes at its end (--json, --junit, --html,
    --output): refused at once, before the work, if it could not be written (core/files
    decides: a folder, a device, a pipe, an unwritable or full folder)."""
    from wandb_local_kit.core import files

    path = user_path(text)
    problem = files.output_problem(path)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return path


def output_file_or_stdout(text: str) -> Path:
    """output_file, or `-` for standard output."""
    from wandb_local_kit.core import files

    if files.is_stdout(text):
        return Path(files.STDOUT)
    return output_file(text)


def positive_seconds(text: str) -> float:
    """argparse type of a duration: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive number of seconds; give e.g. 10"
        )
    return value
