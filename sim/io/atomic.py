"""Atomic writes: every output appears whole or not at all (a killed run leaves no half file)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically", "write_text_atomic"]


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(partial)`` on a temporary file beside ``path``, then rename it to ``path``.

    The partial file is removed when ``write`` fails, so nothing is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write a UTF-8 text file atomically (a temporary file beside it, then a rename)."""
    return write_atomically(path, lambda partial: partial.write_text(text, encoding="utf-8"))
