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


# What a server's error body may add to our line: enough for a sentence or two of its own
# explanation, while a proxy's HTML page or a stack trace stays out of the journal.
SERVER_TEXT_LIMIT = 400
# Elements whose text is no message: a page's code, styling and scripts' data.
_UNSHOWN = frozenset({"script", "style", "noscript", "template", "svg"})
_MARKUP = re.compile(r"^\s*<")


def shorten(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters long, cut between words and marked "…" when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # A word longer than half the room (a token, a URL) is cut all the same: better than nothing.
    return (cut[:space] if space >= limit // 2 else cut).rstrip(" ,;:.-") + "…"


def server_text(body: bytes | str | None, limit: int = SERVER_TEXT_LIMIT) -> str:
    """What a server's error body says, in one line safe to log: an HTML or XML page reduced to its
    text (the title first, without scripts or styles), controls gone, at most ``limit`` characters."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    if _MARKUP.match(text):
        text = _markup_text(text)
    return shorten(clean_text(text), limit)


def _markup_text(page: str) -> str:
    from html.parser import HTMLParser  # only ever for an error page

    title: list[str] = []
    chunks: list[str] = []
    hidden: list[str] = []

    class _Text(HTMLParser):
        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag in _UNSHOWN or tag == "title":
                hidden.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if tag in hidden:
                del hidden[len(hidden) - 1 - hidden[::-1].index(tag) :]

        def handle_data(self, data: str) -> None:
            if hidden and hidden[-1] == "title":
                title.append(data)
            elif not hidden and data.strip():
                chunks.append(data.strip())

    parser = _Text(convert_charrefs=True)
    parser.feed(page)
    parser.close()
    heading = " ".join(" ".join(title).split())
    words = [c for c in chunks if " ".join(c.split()) != heading]  # nginx repeats its title in an <h1>
    return " ".join([heading, *words] if heading else words)
