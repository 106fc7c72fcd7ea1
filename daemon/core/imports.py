"""People from a LinkedIn export or a vCard file, merged into the ledger by address.

Imported people live in the ledger (``people.company/title/linkedin/source``),
never in the config: ``[[people]]`` stays the user's own, authoritative and never
rewritten. An import only fills blanks: a name, company, title or profile link
already known (written by hand in the config, or by an earlier import) is kept.
Importing people does not make them "tracked": nobody gets a note because they
appeared in an address book, only once the user writes to or meets them.
"""

from __future__ import annotations

import csv
import io
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..config import Settings
from ..errors import ImportError_
from ..store.ledger import Ledger
from .contacts import apply_people
from .names import folded, same_person_key


@dataclass(frozen=True, slots=True)
class ImportedPerson:
    name: str
    emails: tuple[str, ...] = ()
    company: str = ""
    title: str = ""
    linkedin: str = ""
    where: str = ""  # "line 7", "card 3": for the report


@dataclass(slots=True)
class ImportReport:
    added: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # known already; blanks filled or addresses joined
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "where: why"


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _email(text: str) -> str:
    text = text.strip().strip("<>").lower()
    return text if _EMAIL.match(text) else ""


# -- LinkedIn ---------------------------------------------------------------------------

_LINKEDIN_HEADER = "First Name"


def parse_linkedin_csv(text: str) -> tuple[list[ImportedPerson], list[str]]:
    """LinkedIn's Connections.csv: a "Notes:" preamble, then the header row, then people."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.lstrip('"').startswith(_LINKEDIN_HEADER)), None)
    if start is None:
        raise ImportError_(
            'no "First Name, Last Name, URL, Email Address, ..." header found: is this LinkedIn\'s '
            "Connections.csv (Settings > Data privacy > Get a copy of your data)?"
        )
    reader = csv.DictReader(io.StringIO("".join(lines[start:])))
    people: list[ImportedPerson] = []
    skipped: list[str] = []
    for offset, row in enumerate(reader):
        where = f"line {start + offset + 2}"
        first = (row.get("First Name") or "").strip()
        last = (row.get("Last Name") or "").strip()
        name = " ".join(p for p in (first, last) if p)
        raw_email = (row.get("Email Address") or "").strip()
        email = _email(raw_email)
        url = (row.get("URL") or "").strip()
        if raw_email and not email:
            skipped.append(f"{where}: {raw_email!r} is not an email address")
        if not name and not email:
            skipped.append(f"{where}: no name and no address")
            continue
        if not email and not url:
            skipped.append(f"{where}: {name}: neither an address nor a profile link")
            continue
        people.append(ImportedPerson(
            name=name, emails=(email,) if email else (), company=(row.get("Company") or "").strip(),
            title=(row.get("Position") or "").strip(), linkedin=url, where=where,
        ))  # fmt: skip
    return people, skipped


# -- vCard ------------------------------------------------------------------------------


def _unfold(text: str) -> list[str]:
    """RFC 6350 3.2: a line starting with a space or tab continues the previous one."""
    out: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] += line[1:]
        else:
            out.append(line)
    # vCard 2.1 quoted-printable soft breaks ("=" at the end) continue the line, too.
    joined: list[str] = []
    for line in out:
        if joined and joined[-1].endswith("=") and "QUOTED-PRINTABLE" in joined[-1].upper():
            joined[-1] = joined[-1][:-1] + line
        else:
            joined.append(line)
    return joined


def _decoded(name_part: str, value: str) -> str:
    """A vCard 2.1 value as text: ``FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=B6rg`` is "Jörg"."""
    params = [p.strip().upper() for p in name_part.split(";")[1:]]
    if "ENCODING=QUOTED-PRINTABLE" not in params and "QUOTED-PRINTABLE" not in params:
        return value
    charset = next((p.partition("=")[2] for p in params if p.startswith("CHARSET=")), "UTF-8")
    raw = quopri.decodestring(value.encode("ascii", "replace"))
    try:
        return raw.decode(charset, "replace")
    except LookupError:  # a charset Python does not know: UTF-8 is what phones write
        return raw.decode("utf-8", "replace")


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _split_unescaped(value: str, sep: str) -> list[str]:
    return [_unescape(p) for p in re.split(rf"(?<!\\){re.escape(sep)}", value)]


def parse_vcard(text: str) -> tuple[list[ImportedPerson], list[str]]:
    """vCard 3.0 and 4.0 (Google Contacts, Apple Contacts): FN/N, EMAIL*, ORG, TITLE, URL."""
    people: list[ImportedPerson] = []
    skipped: list[str] = []
    card: dict[str, list[str]] | None = None
    number = 0
    for line in _unfold(text.lstrip("\ufeff")):
        if not line.strip():
            continue
        name_part, sep, value = line.partition(":")
        if not sep:
            continue
        # "item1.EMAIL;TYPE=INTERNET" -> "EMAIL" (Apple groups properties as itemN.)
        prop = name_part.split(";", 1)[0].rsplit(".", 1)[-1].upper()
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            card, number = {}, number + 1
        elif prop == "END" and value.strip().upper() == "VCARD" and card is not None:
            found = _card_person(card, f"card {number}")
            if isinstance(found, str):
                skipped.append(found)
            else:
                people.append(found)
            card = None
        elif card is not None:
            card.setdefault(prop, []).append(_decoded(name_part, value).strip())
    if number == 0:
        raise ImportError_("no BEGIN:VCARD found: is this a .vcf export?")
    return people, skipped


def _card_person(card: dict[str, list[str]], where: str) -> ImportedPerson | str:
    name = _unescape(card.get("FN", [""])[0]).strip()
    if not name and card.get("N"):
        parts = _split_unescaped(card["N"][0], ";") + ["", ""]
        name = " ".join(p for p in (parts[1], parts[0]) if p.strip()).strip()  # given, family
    emails = tuple(dict.fromkeys(e for raw in card.get("EMAIL", []) if (e := _email(_unescape(raw)))))
    org = _split_unescaped(card.get("ORG", [""])[0], ";")[0].strip()
    title = _unescape(card.get("TITLE", [""])[0]).strip()
    urls = [_unescape(u).strip() for u in card.get("URL", [])]
    linkedin = next((u for u in urls if "linkedin.com/" in u.lower()), "")
    if not emails and not linkedin:
        return f"{where}: {name or '(no name)'}: neither an address nor a LinkedIn link"
    return ImportedPerson(name, emails, org, title, linkedin, where)


# -- merging ----------------------------------------------------------------------------


def merge_people(
    ledger: Ledger, settings: Settings, people: Iterable[ImportedPerson], source: str, now: datetime | None = None
) -> ImportReport:
    """Add or enrich ledger people, by address (then by profile link); one transaction."""
    report = ImportReport()
    mine = set(settings.me.addresses)
    created = now or datetime.now(UTC)
    by_name: dict[str, set[int]] = {}  # "maya patel" (from "Patel, Maya" too) -> ids
    linked: dict[int, str] = {}  # id -> profile link: a person with another link is someone else
    for pid, name, link in ledger.names_and_links():
        by_name.setdefault(_name_key(name), set()).add(pid)
        linked[pid] = link
    with ledger.transaction():
        for p in people:
            emails = [e for e in p.emails if e not in mine]
            label = f"{p.name or emails[0] if (p.name or emails) else p.linkedin}"
            if p.emails and not emails:
                report.skipped.append(f"{p.where}: {label}: that is your own address")
                continue
            ids = _known_ids(ledger, emails, p.linkedin)
            if not ids and not emails and p.name:  # LinkedIn hides most addresses: the name is what is left
                named = {pid for pid in by_name.get(_name_key(p.name) or "\0", ())
                         if not linked[pid] or linked[pid] == p.linkedin}
                if len(named) > 1:
                    report.skipped.append(f"{p.where}: {label}: {len(named)} people already have this name and "
                                          "the row has no address to tell them apart; left out")
                    continue
                ids = named
            if not ids:
                pid = ledger.add_imported_person(name=p.name, company=p.company, title=p.title,
                                                 linkedin=p.linkedin, source=source, emails=emails, now=created)
                by_name.setdefault(_name_key(p.name), set()).add(pid)
                linked[pid] = p.linkedin
                report.added.append(label)
                continue
            configured = ledger.configured_among(ids)
            if len(configured) > 1:
                # Two [[people]] entries are two people to the user; an address book does not overrule that.
                report.skipped.append(f"{p.where}: {label}: its addresses belong to {len(configured)} "
                                      "different [[people]] entries in your config; left apart")
                continue
            keep = min(configured or ids)
            changed = len(ids) > 1
            if changed:
                ledger.merge_people(keep, ids)
            for e in emails:
                changed |= ledger.attach_address(keep, e, p.name)
            changed |= ledger.fill_person_blanks(keep, name=p.name, company=p.company, title=p.title,
                                                 linkedin=p.linkedin)
            (report.merged if changed else report.unchanged).append(label)
    return report


def _name_key(name: str) -> str:
    """ "Patel, Maya", "Maya Patel" and "MAYA PATEL" are one key, accents aside; "" for one word (too common)."""
    return folded(same_person_key(name))


def _known_ids(ledger: Ledger, emails: list[str], linkedin: str) -> set[int]:
    """Who this row is already: by address, else by profile link (by name is the caller's last resort)."""
    ids = ledger.people_with_addresses(emails)
    if not ids and linkedin:
        ids = ledger.people_with_linkedin([linkedin])
    return ids


def import_file(ledger: Ledger, settings: Settings, kind: str, text: str) -> ImportReport:
    parse = {"linkedin": parse_linkedin_csv, "vcard": parse_vcard}[kind]
    people, skipped = parse(text)
    apply_people(ledger, settings)  # the config's people first: they are what an import merges into
    report = merge_people(ledger, settings, people, kind)
    report.skipped[:0] = skipped
    return report
