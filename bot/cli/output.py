"""Files and folders a command writes (`digest --html`, `feeds export -o`, `cluster --output`,
`demo --out`): one that cannot be written ends the command in one line naming the option and the
path, as click says it for `match --output`, not a traceback. A missing folder is found before
any work is done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.cli.common import fail


def _cannot_write(option: str, path: Path, reason: str) -> str:
    return f"{option}: cannot write '{path}': {reason}"


def require_folder_of(path: Path, option: str) -> None:
    """Fail unless the folder `path` is to be written in exists."""
    folder = path.parent
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        fail(_cannot_write(option, path, f"the folder '{folder}' {reason}"))


@contextmanager
def writing(path: Path, option: str) -> Iterator[None]:
    """Writing `path` (given as `option`) fails in one line with the system's reason."""
    try:
        yield
    except OSError as exc:
        fail(_cannot_write(option, path, exc.strerror or str(exc)))


def make_folder(path: Path, option: str) -> None:
    """Create the folder `path` (and its parents) unless it exists; fail in one line if it
    cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"{option}: cannot create the folder '{path}': {exc.strerror or exc}")
