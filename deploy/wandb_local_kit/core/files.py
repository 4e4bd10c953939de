"""One door for every file the kit reads or writes for a person: settings, lab files,
reports, keys, manifests, bundles, support bundles.

What it guarantees, so no command has to remember it:
- Only regular files are read or replaced. A device, a named pipe or a socket given as a
  path is refused with a message naming it (a fifo would hang a reader forever, and a
  rename over `/dev/null` would replace the device for everyone on the machine). Where a
  command can write to standard output, `-` is the way to ask for it.
- A symlink is written through: the file it points to is replaced and the link kept (an
  `.env` that is a link into a config repository stays one). Readers follow links.
- Writes are atomic: a unique temporary file beside the target, then a rename, under a
  lock on the folder so two writers of the same folder take turns (two `init`s at once
  used to collide on one temporary name).
- Reads have a size limit and a declared encoding; structured files a depth limit.
- An ordinary OS error (no space, permission, a folder where a file was meant, a
  read-only file system, a link loop, a name too long) becomes a KitError naming the path
  and the fix, exit 2 by default: it is the user's to fix, never "a bug".

Standard library only: scripts/backup.py runs on servers without the kit's dependencies.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wandb_local_kit.core.errors import EXIT_USAGE, KitError

STDOUT = "-"  # the conventional name of standard output, where a command allows it
MIB = 1024 * 1024
DEFAULT_READ_LIMIT = 16 * MIB  # settings, lab files, licenses, manifests: all far smaller
MAX_DEPTH = 64  # nesting of a YAML or JSON document the kit reads
LOCK_WAIT_SECONDS = 30.0
MIN_FREE = 64 * 1024  # below this a folder counts as full: not even a key file fits safely

_KINDS = {
    stat.S_IFREG: "a regular file",
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe (fifo)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


def kind(path: Path | str, follow: bool = True) -> str | None:
    """What is at PATH, in words ("a regular file", "a folder", "a character device", ...);
    None when nothing is there (for a dangling link: nothing at its end)."""
    try:
        mode = os.stat(path).st_mode if follow else os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        raise explain(err, path, "look at")
    return _KINDS.get(stat.S_IFMT(mode), "a special file")


def is_stdout(path: Path | str | None) -> bool:
    return str(path) == STDOUT


# --- errors ------------------------------------------------------------------------------

_EXPLAINED = {
    errno.ENOSPC: (
        "there is no space left on the file system of {path}",
        "free space there (`df -h {folder}` shows it) or choose another path",
    ),
    errno.EDQUOT: (
        "this user's disk quota is used up on the file system of {path}",
        "free space within the quota or choose another path",
    ),
    errno.EFBIG: (
        "{path} would grow past the largest file its file system allows",
        "choose a path on another file system",
    ),
    errno.EACCES: (
        "permission denied: this user may not {action} {path}",
        "choose a path this user can {action}, or run as its owner",
    ),
    errno.EPERM: (
        "the operating system does not let this user {action} {path}",
        "choose a path this user can {action}, or run as its owner",
    ),
    errno.EISDIR: (
        "{path} is a folder, not a file",
        "give the path of a file (inside that folder, for a new one)",
    ),
    errno.ENOTDIR: (
        "a part of {path} is not a folder",
        "check the path: every part before the last must be a folder",
    ),
    errno.EROFS: (
        "{path} is on a read-only file system",
        "choose a path on a writable file system",
    ),
    errno.ELOOP: (
        "{path} goes round in a loop of symbolic links",
        "point the link at a real file (`ls -l {path}` shows where it leads)",
    ),
    errno.ENAMETOOLONG: (
        "the path {short} is longer than the file system allows",
        "choose a shorter path",
    ),
    errno.ENOENT: ("{path} does not exist", "check the path (or create its folder first)"),
    errno.EEXIST: ("{path} already exists", "choose another path or remove it first"),
    errno.ENXIO: (
        "{path} is a device or pipe with nothing on its other end",
        "give the path of a regular file",
    ),
    errno.EMFILE: ("this process has too many open files", "raise `ulimit -n` and run it again"),
    errno.ENFILE: ("the system has too many open files", "close some programs and run it again"),
    errno.EIO: (
        "the disk reported an input/output error on {path}",
        "check the disk (`dmesg`) or choose another path",
    ),
}
_FILE_ERRNOS = frozenset(_EXPLAINED)


def is_file_error(err: BaseException) -> bool:
    """True for the OS errors a person fixes on their side (space, rights, paths)."""
    return isinstance(err, OSError) and err.errno in _FILE_ERRNOS


def explain(
    err: OSError, path: Path | str | None = None, action: str = "write",
    exit_code: int = EXIT_USAGE, done: str = "",
) -> KitError:  # fmt: skip
    """The KitError for an ordinary OS error: the path, what went wrong, the fix.
    `done` says what was already done (then exit_code is usually 1) and that running the
    command again finishes it."""
    where = str(path if path is not None else (err.filename or "the file"))
    short = where if len(where) <= 120 else where[:60] + "..." + where[-40:]
    folder = os.path.dirname(where) or "."
    problem, fix = _EXPLAINED.get(
        err.errno or 0,
        ("{action} {path} failed: " + (err.strerror or type(err).__name__), "check the path"),
    )
    if err.errno != errno.ENAMETOOLONG:
        where = short
    fmt = {"path": where, "short": short, "folder": folder, "action": action}
    text = problem.format(**fmt)
    if done:
        text += f"; {done}"
    return KitError(text, fix=fix.format(**fmt), exit_code=exit_code)


@contextmanager
def os_errors(path: Path | str | None, action: str, exit_code: int = EXIT_USAGE,
              done: str = "") -> Iterator[None]:  # fmt: skip
    """Turns an ordinary OS error inside the block into the KitError that explains it."""
    try:
        yield
    except OSError as err:
        if not is_file_error(err):
            raise
        raise explain(err, path, action, exit_code, done) from None


# --- reading -----------------------------------------------------------------------------


def _refuse_kind(path: Path | str, found: str | None, what: str) -> KitError:
    if found is None:
        return KitError(f"{what} {path} does not exist", fix="check the path")
    if found == "a folder":
        return KitError(f"{what} {path} is a folder, not a file",
                        fix="give the path of the file inside it")  # fmt: skip
    return KitError(
        f"{what} {path} is {found}, not a regular file; the kit reads and writes only "
        "regular files",
        fix="give the path of a regular file",
    )


def read_bytes(path: Path | str, what: str = "the file", limit: int = DEFAULT_READ_LIMIT) -> bytes:
    """The file's bytes. Refuses anything but a regular file (opened without blocking,
    so a named pipe cannot hang the command) and anything over `limit` bytes."""
    with os_errors(path, "read"):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise _refuse_kind(path, None, what) from None
        except IsADirectoryError:
            raise _refuse_kind(path, "a folder", what) from None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise _refuse_kind(path, _KINDS.get(stat.S_IFMT(info.st_mode)), what)
            if info.st_size > limit:
                raise _too_big(path, what, limit)
            data = f.read(limit + 1)
    if len(data) > limit:
        raise _too_big(path, what, limit)
    return data


def _too_big(path: Path | str, what: str, limit: int) -> KitError:
    return KitError(
        f"{what} {path} is larger than {limit // MIB} MiB, far more than such a file holds",
        fix="check that the path names the right file",
    )


def read_text(
    path: Path | str, what: str = "the file", limit: int = DEFAULT_READ_LIMIT,
    encoding: str = "utf-8",
) -> str:  # fmt: skip
    """The file's text in `encoding` (UTF-8); a KitError naming the line of the first byte
    that is not, and the way to convert it."""
    data = read_bytes(path, what, limit)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise KitError(
            f"{what} {path} is not {encoding.upper()} text (line {line} holds a byte that "
            f"is not {encoding.upper()})",
            fix=f"save it as {encoding.upper()}: an editor's encoding setting, or "
            f"`iconv -f LATIN1 -t {encoding.upper()} {path}`",
        ) from None


def depth_problem(data: Any, limit: int = MAX_DEPTH) -> bool:
    """True when the document nests lists and mappings deeper than `limit` (walked
    without recursion, so a hostile document cannot exhaust the stack here)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def too_deep(what: str, path: Path | str | None, limit: int = MAX_DEPTH) -> KitError:
    where = f" {path}" if path is not None else ""
    return KitError(
        f"{what}{where} nests lists or mappings more than {limit} levels deep; no file "
        "the kit reads needs that",
        fix="check that it is the right file, or flatten it",
    )


def load_json(path: Path | str, what: str = "the file", limit: int = DEFAULT_READ_LIMIT) -> Any:
    """A JSON document, read through the door, with the depth limit."""
    import json

    text = read_text(path, what, limit)
    try:
        data = json.loads(text)
    except RecursionError:
        raise too_deep(what, path) from None
    except ValueError as err:
        raise KitError(f"{what} {path} is not JSON ({err})",
                       fix="check that it is the right file") from None  # fmt: skip
    if depth_problem(data):
        raise too_deep(what, path)
    return data


# --- writing -----------------------------------------------------------------------------


def target_of(path: Path | str) -> Path:
    """Where a write to PATH lands: the file at the end of its symlinks (the links are
    kept), else PATH itself."""
    path = Path(path)
    if not path.is_symlink():
        return path
    with os_errors(path, "follow the link"):
        return Path(os.path.realpath(path, strict=False))


def output_problem(path: Path | str, allow_stdout: bool = False) -> str | None:
    """Why a file cannot be written at PATH (None if it can): checked before any work, so a
    report, a key or a settings file is never refused after minutes of work or after a
    server was changed."""
    if is_stdout(path):
        return None if allow_stdout else "`-` (standard output) is not possible here; give a file"
    path = Path(path)
    try:
        target = target_of(path)
        found = kind(target)
    except KitError as err:
        return f"{err.problem}; choose another path"
    via = f" (the link {path} leads there)" if target != path else ""
    if found == "a folder":
        return f"{target} is a folder{via}; give a file name inside it, e.g. {target / 'report'}"
    if found not in (None, "a regular file"):
        dash = ", or `-` for standard output" if allow_stdout else ""
        return (
            f"{target} is {found}{via}, not a regular file; the kit writes only regular files "
            f"(give a file path{dash})"
        )
    return _folder_problem(target.parent) or (
        f"{target} exists and is not writable by this user; choose another path"
        if found and not os.access(target, os.W_OK)
        else None
    )


def _folder_problem(folder: Path) -> str | None:
    if not folder.exists():
        return (
            f"the folder {folder} does not exist; create it (mkdir -p {folder}) "
            "or choose another path"
        )
    if not folder.is_dir():
        return f"{folder} is not a folder; choose another path"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable by this user; choose a folder you can write"
    try:
        fs = os.statvfs(folder)
    except OSError:
        return None
    # Root may use the blocks a file system reserves; anyone else only what is available.
    free = (fs.f_bfree if os.geteuid() == 0 else fs.f_bavail) * fs.f_frsize
    if free < MIN_FREE:
        return f"the file system of {folder} is full; free space there or choose another path"
    return None


def check_output(path: Path | str, allow_stdout: bool = False, what: str = "") -> None:
    """Raises the KitError of output_problem (exit 2) when PATH cannot be written."""
    problem = output_problem(path, allow_stdout)
    if problem:
        raise KitError(f"{what + ': ' if what else ''}{problem}",
                       fix="choose another path; nothing was changed")  # fmt: skip


def check_folder(folder: Path | str, what: str = "the folder") -> None:
    """A folder the command will create files in (keys, backups): it is a folder (or can
    be made one), writable, with room. Raises KitError (exit 2) before any work."""
    folder = Path(folder)
    found = kind(folder)
    if found is None:
        parent = folder.parent
        while kind(parent) is None and parent != parent.parent:
            parent = parent.parent
        if kind(parent) != "a folder":
            raise KitError(f"{what} {folder} cannot be created: {parent} is not a folder",
                           fix="choose another path; nothing was changed")  # fmt: skip
        problem = _folder_problem(parent)
    elif found != "a folder":
        problem = f"{folder} is {found}, not a folder"
    else:
        problem = _folder_problem(folder)
    if problem:
        raise KitError(f"{what}: {problem}", fix="choose another path; nothing was changed")


def flock_within(
    fd: int, wait_s: float, poll_s: float, on_wait: Callable[[], None] | None = None
) -> bool:
    """Takes an exclusive flock on fd, trying again every poll_s for up to wait_s; False
    when another holder kept it that long. on_wait() runs once, on the first wait."""
    deadline = time.monotonic() + wait_s
    waited = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            time.sleep(poll_s)


@contextmanager
def folder_lock(folder: Path, wait_s: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """An advisory lock on the folder itself (no lock file left behind): writers of the
    same folder take turns. Released by the kernel however the holder exits."""
    fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if not flock_within(fd, wait_s, poll_s=0.05):
            raise KitError(
                f"another wandb-kit process kept writing in {folder} for {wait_s:.0f} s",
                fix="wait for it to finish, then run this command again",
            )
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def write_bytes(
    path: Path | str, data: bytes, private: bool = False, allow_stdout: bool = False,
    what: str = "", exit_code: int = EXIT_USAGE, done: str = "",
) -> Path:  # fmt: skip
    """Writes DATA whole at PATH and returns where it landed (a link's target).

    private: mode 0600 from the first byte (secrets). Otherwise a replaced file keeps its
    mode, a new one gets 0644 less the umask. `exit_code` and `done` describe a failure
    after work was done (e.g. 1, "the checks ran; their report could not be written")."""
    if is_stdout(path):
        check_output(path, allow_stdout, what)
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return Path(STDOUT)
    problem = output_problem(path, allow_stdout)
    if problem:
        raise KitError(f"{what + ': ' if what else ''}{problem}",
                       fix="choose another path", exit_code=exit_code)  # fmt: skip
    target = target_of(path)
    with os_errors(target, "write", exit_code, done), folder_lock(target.parent):
        _replace(target, data, private)
    return target


def _replace(target: Path, data: bytes, private: bool) -> None:
    try:
        mode = 0o600 if private else stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o644 & ~umask
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with _quietly():
            os.unlink(tmp)
        raise


@contextmanager
def _quietly() -> Iterator[None]:
    try:
        yield
    except OSError:
        pass


def write_text(
    path: Path | str, text: str, private: bool = False, allow_stdout: bool = False,
    what: str = "", exit_code: int = EXIT_USAGE, done: str = "",
) -> Path:  # fmt: skip
    """write_bytes of the text in UTF-8."""
    return write_bytes(path, text.encode("utf-8"), private, allow_stdout, what, exit_code, done)


def private_folder(folder: Path | str) -> Path:
    """Creates FOLDER (and its parents) with mode 0700 for keys and other secrets, or
    tightens an existing one to 0700; refuses what is not a folder."""
    folder = Path(folder)
    check_folder(folder)
    with os_errors(folder, "create"):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
    return folder


def shown(path: Path | str, landed: Path | str) -> str:
    """How a written path is named to the user: PATH, or PATH -> TARGET through a link."""
    return str(path) if Path(path) == Path(landed) else f"{path} (a link; wrote {landed})"
