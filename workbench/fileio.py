"""Atomic file writes: a temporary file beside the target, flushed to disk, then renamed over it.

A crash or a kill at any moment leaves either the previous file or the complete new one, never a truncated
one. Used for JSON records (consent, bundle metadata, store sidecars, ``--json`` reports), text files and
(through ``atomic_open``) every audio file the workbench writes (``audio.save_audio``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

FILE_MODE = 0o644  # mkstemp creates 0600 files; the workbench's files are ordinary readable ones


@contextmanager
def atomic_open(path: str | os.PathLike, *, mode: int = FILE_MODE) -> Iterator[BinaryIO]:
    """A binary file handle whose contents replace ``path`` only when the block ends without an error.

    The data goes to a temporary file beside ``path``, is flushed and fsynced, then renamed over it; on
    any error (or a crash) ``path`` keeps its old contents and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, *, mode: int = FILE_MODE) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; the parent folder is created if needed."""
    with atomic_open(path, mode=mode) as fh:
        fh.write(text.encode("utf-8"))
    return Path(path)


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON (non-ASCII kept, NaN allowed) atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=True) + "\n")
