"""Sending a chunk's record from a worker process: a small pickle, large arrays through memory.

A chunk of Willems chain 38 records about 240 MB of daily moments. Pickled whole, it crossed the
pipe from the worker in about 1 s (copied into the pickle, through the pipe in 64 KiB pieces,
and out again), while the main process waited for it: that alone kept two workers from 1.8x one.
Here each large array (pickle protocol 5's out-of-band buffers) is written to a file in a
memory-backed folder (``/dev/shm``) and mapped back by the receiver, which costs one copy in the
worker (about 0.1 s for 240 MB) and none in the receiver; the file's name is unlinked as soon
as it is mapped, so the memory goes when the arrays do.

Where there is no such folder, or it has no room for an array, the array travels in the pickle
as before: the transport changes how fast a record arrives, never what it holds.
"""

from __future__ import annotations

import mmap
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MEMORY_FOLDER", "SPILL_BYTES", "Packed", "memory_folder", "pack"]

MEMORY_FOLDER = "/dev/shm"
"""Where the run's folder for large arrays goes (a RAM-backed file system on Linux)."""
SPILL_BYTES = 1 << 20
"""Arrays at least this large go through files; smaller ones stay in the pickle."""
ROOM_MARGIN = 1 << 26
"""Free space left in the memory folder after a write (64 MiB), else the array stays in the pickle
(a container's ``/dev/shm`` is often only 64 MiB in all)."""


@contextmanager
def memory_folder() -> Iterator[str | None]:
    """A private folder for one run's large arrays, removed afterwards; None where there is none.

    Whatever the receiver has not mapped by then (a cancelled chunk, an error) goes with it.
    """
    if not (os.path.isdir(MEMORY_FOLDER) and os.access(MEMORY_FOLDER, os.W_OK)):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="scsim-", dir=MEMORY_FOLDER) as folder:
        yield folder


@dataclass(frozen=True)
class Packed:
    """A pickled object whose large buffers are files in a memory folder (picklable, small).

    Attributes
    ----------
    payload : bytes
        The object pickled with protocol 5, its large buffers out of band.
    files : tuple of str
        The out-of-band buffers' files, in the order the pickle uses them.
    """

    payload: bytes
    files: tuple[str, ...]

    def unpack(self) -> Any:
        """The object, its large arrays mapped from the files (whose names are then removed)."""
        return pickle.loads(self.payload, buffers=[_mapped(path) for path in self.files])


def pack(value: Any, folder: str | None) -> Packed:
    """Pickle ``value``, writing each buffer of at least :data:`SPILL_BYTES` to ``folder``."""
    files: list[str] = []

    def spill(buffer: pickle.PickleBuffer) -> bool:  # True: keep this buffer in the pickle
        view = buffer.raw()
        if folder is None or view.nbytes < SPILL_BYTES or not _room(folder, view.nbytes):
            return True
        handle, path = tempfile.mkstemp(dir=folder, suffix=".buffer")
        with os.fdopen(handle, "wb") as file:
            file.write(view)
        files.append(path)
        return False

    payload = pickle.dumps(value, protocol=5, buffer_callback=spill)
    return Packed(payload, tuple(files))


def _room(folder: str, size: int) -> bool:
    return shutil.disk_usage(folder).free >= size + ROOM_MARGIN


def _mapped(path: str) -> mmap.mmap:
    """A writable shared mapping of the file; its name is removed (the memory stays mapped)."""
    with open(path, "r+b") as file:
        mapping = mmap.mmap(file.fileno(), 0)
    Path(path).unlink()
    return mapping
