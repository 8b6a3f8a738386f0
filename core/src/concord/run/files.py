"""Atomic file writes: a killed run never leaves a half-written file behind.

Each write goes to a temporary file in the same folder, is flushed and fsync'ed, then renamed
over the target (``os.replace`` is atomic on POSIX and Windows), and the folder is fsync'ed so
the rename itself survives a power cut. The file gets the permissions a plain ``open()`` would
give it (``0666`` less the umask), not ``mkstemp``'s private ``0600``, so teammates can read a run
folder on a shared server.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

__all__ = ["TEMP_GLOB", "atomic_write", "atomic_write_bytes", "atomic_write_text", "remove_stale_temporaries"]

#: The names of the temporary files :func:`atomic_write` leaves behind when killed mid-write.
TEMP_GLOB = ".*.tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform / filesystem allows it
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[tuple[IO[bytes], Path]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh, tmp
            fh.flush()
            if hasattr(os, "fchmod"):  # POSIX
                os.fchmod(fh.fileno(), 0o666 & ~_umask())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(fh)`` on a temporary file, then move it to ``path`` atomically."""
    with _temporary_beside(Path(path)) as (fh, _):
        write(fh)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporaries a killed :func:`atomic_write` left in ``folder``; returns them.

    Call it only when nothing writes into ``folder`` (a run's start-up)."""
    removed = []
    for tmp in Path(folder).glob(TEMP_GLOB):
        if tmp.is_file():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            removed.append(tmp)
    return removed
