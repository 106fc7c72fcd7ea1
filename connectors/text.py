"""The one cleaner of text a connector reads from a provider: subjects, names, meeting titles.

A meeting title is stored the same whether it came from an .ics file, CalDAV, Google or Graph,
and a display name the same whether it came from a header or a JSON field.
"""

from __future__ import annotations

import re

# C0, DEL, C1 and the Unicode line/paragraph separators: none belongs in a name or a
# subject, and CR/LF in a value we later copy into a draft header is CVE-2024-6923.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A raw 8-bit byte, kept by the bytes parser as a surrogate escape, to its Windows-1252
# character; the five bytes cp1252 leaves undefined are Latin-1 (C1 controls, which
# clean_text then blanks) rather than U+FFFD.
_CP1252_BYTES = {0xDC00 + b: bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(0x80, 0x100)}


def clean_text(value: object) -> str:
    """One line of text, safe to show, store and copy into a header.

    Controls and line separators become spaces, every run of whitespace (Unicode's, so a
    no-break space too) one space, none at either end; ``None`` is "". Raw 8-bit bytes the
    bytes parser kept as surrogate escapes are decoded: UTF-8 (RFC 6532), else Windows-1252.
    """
    text = value if isinstance(value, str) else str(value or "")
    if text.isascii() and text.isprintable():
        return " ".join(text.split())  # no controls to replace: the common case
    if has_surrogates(text):
        # The bytes parser keeps raw 8-bit header bytes as surrogates, which no file or
        # database can encode.
        text = _undo_surrogates(text)
    return " ".join(_CONTROLS.sub(" ", text).split())


def has_surrogates(value: str) -> bool:
    return not value.isascii() and any("\ud800" <= c <= "\udfff" for c in value)


def _undo_surrogates(value: str) -> str:
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeDecodeError:
        # Pre-MIME 8-bit text ("Ingo L\xfctkebohle", 1997; "Die Hasen und die Fr\xf6sche")
        # is Latin-1 or Windows-1252.  Only the raw bytes are decoded this way: characters
        # that came from encoded words next to them stay as they are.
        return value.translate(_CP1252_BYTES)
