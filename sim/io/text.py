"""Text of input files in the encodings spreadsheets really save.

Excel saves "CSV UTF-8" with a byte-order mark, "Unicode text" as UTF-16, and plain "CSV" in
the system code page: GB18030 (GBK) on Chinese Windows. :func:`read_text` reads each of them:
a byte-order mark decides (UTF-8, UTF-16 LE/BE); without one, UTF-16 is recognised by its zero
bytes, then UTF-8 is tried, then GB18030. A file none of them decodes is refused with a
:class:`~sim.spec.errors.InputError` naming the file, the first undecodable byte's line and column,
and the encodings tried (save it as "CSV UTF-8").
"""

from __future__ import annotations

import codecs
from pathlib import Path

from sim.spec.errors import InputError, Issue

__all__ = ["ENCODINGS_TRIED", "decode", "read_text"]

ENCODINGS_TRIED = ("utf-8", "utf-16", "gb18030")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def read_text(path: str | Path) -> str:
    """The text of a file, decoded as :func:`decode` says (newlines kept as written)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(Issue(str(path), "", None, f"cannot be read: {error.strerror}")) \
            from None
    return decode(data, str(path))


def decode(data: bytes, where: str) -> str:
    """Decode the bytes of a file named ``where`` (see the module docstring)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(data, encoding, where)
    if _looks_utf16(data):
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        return _strict(data, encoding, where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise _refusal(data, utf8_error, where) from None


def _looks_utf16(data: bytes) -> bool:
    """Mostly ASCII text as UTF-16 without a mark: every other byte is zero."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return False
    even, odd = sample[0::2], sample[1::2]
    return odd.count(0) > 0.6 * len(odd) or even.count(0) > 0.6 * len(even)


def _strict(data: bytes, encoding: str, where: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise _refusal(data, error, where, encoding) from None


def _refusal(data: bytes, error: UnicodeDecodeError, where: str,
             encoding: str | None = None) -> InputError:
    before = data[:error.start]
    line = before.count(b"\n") + 1
    column = error.start - (before.rfind(b"\n") + 1) + 1
    tried = encoding or ", ".join(ENCODINGS_TRIED)
    return InputError(Issue(f"{where} line {line} column {column}", "", None,
                            f"byte 0x{data[error.start]:02x} is not text in {tried}: save the "
                            "file as 'CSV UTF-8' (or UTF-16, or GB18030/GBK)"))
