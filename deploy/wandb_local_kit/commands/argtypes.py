"""Option types of the command line. Numbers: refused by argparse with a clear line when
they make no sense. Paths: resolved against the caller's working directory the moment
they are parsed, and output files checked before any work starts.

Why resolve at once: the kit hands paths to compose, which runs in the compose directory;
a relative `--env-file` would be checked here and read there (issue #25). Why check
outputs first: a smoke suite or a bench run takes minutes, and a report that cannot be
written at the end loses them.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


def absolute(path: Path | str) -> Path:
    """PATH as the caller meant it: `~` expanded, relative to their working directory.
    (Not resolved through symlinks: messages show the path the user gave, made whole.)"""
    return Path(os.path.abspath(Path(path).expanduser()))


def user_path(text: str) -> Path:
    """argparse type of a path the user gives (input or folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a file or folder name")
    return absolute(text)


def output_file_problem(path: Path) -> str | None:
    """Why a new file cannot be written at PATH (None if it can): checked before work."""
    if path.is_dir():
        return f"{path} is a folder; give a file name inside it, e.g. {path / 'report'}"
    folder = path.parent
    if not folder.exists():
        return (
            f"the folder {folder} does not exist; create it (mkdir -p {folder}) "
            "or choose another path"
        )
    if not folder.is_dir():
        return f"{folder} is not a folder; choose another path"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable by this user; choose a folder you can write"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} exists and is not writable by this user; choose another path"
    return None


def output_file(text: str) -> Path:
    """argparse type of a file the command writes at its end (--json, --junit, --html,
    --output): refused at once, before the work, if it could not be written."""
    path = user_path(text)
    problem = output_file_problem(path)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return path


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
