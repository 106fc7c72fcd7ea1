"""Names as headers carry them: "Last, First", a local part shown as a name, my own name."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from .classify import is_role_address, names_a_role

_HONORIFICS = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof", "sir", "dame", "rev"})
_NAME_WORD = re.compile(r"[^\W\d_]{2,}(?:-[^\W\d_]{2,})*")  # letters only, two or more; "anna-lena"
_LOCAL_PART = re.compile(r"\w[._]\w")  # "Jo.Park": a local part shown as a display name
def _is_initial(word: str) -> bool:
    """ "J", "J." and "J.R." are initials: a greeting "Hi J.," reads like a form letter."""
    return all(len(piece) <= 1 for piece in word.split("."))


_LAST_FIRST = re.compile(r"^\s*([^\W\d_][\w'’ -]*?),\s*([^\W\d_][\w'’. -]*?)\s*$")


def natural_order(name: str) -> str:
    """ "García, José" -> "José García", as address books export it; "Acme, Inc." stays as it is."""
    if "," not in name:
        return name  # most names: no regex (display_name is read ~3 times per person per plan)
    m = _LAST_FIRST.match(name)
    if not m or m.group(2).rstrip(".").lower() in ("inc", "ltd", "llc", "gmbh", "jr", "sr", "phd", "md"):
        return name
    return f"{m.group(2)} {m.group(1)}"


def same_person_key(name: str) -> str:
    """A name as two ledger people may share it: "Shapiro, Richard", "Richard Shapiro" and "richard  shapiro"
    give "richard shapiro". Initials are left out ("Richard B. Shapiro"); a single word gives "" (too
    common to join on)."""
    if "@" in name:
        return ""
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first} {last}"
    words = [w for w in re.findall(r"[^\W\d_]+", name.lower()) if len(w) > 1 and w not in _HONORIFICS]
    return " ".join(words) if len(words) >= 2 else ""


def same_person_marks(name: str, emails: Collection[str]) -> set[str]:
    """Marks that two ledger people who share one are one person at two addresses.

    One name at one domain ("Richard Shapiro" at richard.shapiro@ and rshapiro@enron.com), one
    name with its surname in both local parts ("Sam Lee" at sam.lee@work and slee@home), or one
    long local part at two providers (jmenconi@ at two domains). Two people who only share a
    name ("John Smith" at two companies) are kept apart.
    """
    key = same_person_key(name)
    surname = key.rpartition(" ")[2]
    marks = set()
    for email in emails:
        local, _, domain = email.lower().partition("@")
        local = local.partition("+")[0]
        if key:
            marks.add(f"{key}@{domain}")
            if len(surname) >= 3 and surname in local:
                marks.add(f"{key}~")
        if len(local) >= 7 and local.isalnum() and not is_role_address(email):
            marks.add(f"local:{local}")
    return marks


def looks_like_me(address: str, name: str, my_name: str, my_addresses: Collection[str]) -> bool:
    """An address that is probably one of mine: my name as its display name, or at one of my domains
    a local part made of my name ("kaminski@", "vkaminski@", "vince.kaminski@", "vkamins@")."""
    mine = same_person_key(my_name)
    if mine and same_person_key(name) == mine:
        return True
    words = mine.split()
    if len(words) < 2:
        return False
    first, last = words[0], words[-1]
    local, _, domain = address.lower().partition("@")
    if domain not in {a.lower().rpartition("@")[2] for a in my_addresses}:
        return False
    plain = re.sub(r"[._-]", "", local.partition("+")[0])
    shapes = {last, first + last, first[0] + last, last + first, last + first[0]}
    return plain in shapes or (len(plain) >= 5 and plain.startswith(first[0] + last[:5]) and len(last) >= 5)


def first_name_of(name: str, email: str = "") -> str:
    """The first word of a name ("Dr. Jo Park" -> "Jo", "Park, Jo" -> "Jo", "KIM PARK" -> "Kim").

    Never an initial ("Baker, J.", "J. Park"), nor a role or team ("The Acme Team",
    "Acme Support"). Then the first part of an address shaped like a name ("jo.park@x" ->
    "Jo"), and otherwise "": "jsmith1987@x" is not someone's name, and "Hi," reads
    better than "Hey Jsmith1987,". A name in capitals is title-cased, as is a capitalised
    word of three letters or more ("KIM Park" -> "Kim"); mixed case ("McKenzie",
    "DeShawn") and a short one in a mixed name ("AJ Smith") are kept as written.
    """
    name = name.strip()
    if "@" in name and " " not in name:
        name, email = "", name
    if "," in name:  # "Last, First" as address books export it
        name = name.split(",", 1)[1].strip() or name.split(",", 1)[0]
    words = [w for w in name.split() if w.rstrip(".").lower() not in _HONORIFICS]
    if not words or names_a_role(words) or _is_initial(words[0]):
        return name_from_address(email)
    first = words[0]
    if len(words) == 1 and _LOCAL_PART.search(first):
        return name_from_address(first)
    if len(words) >= 3 and _given_names_in(email, words[:2]):  # "Mei Lin Chow" at meilin.chow@: "Mei Lin"
        return " ".join(w.title() if w.isupper() else w for w in words[:2])
    if len(words) == 2 and _family_name_first(words, email):  # "Lee Seung-hoon": "Seung-hoon", never "Hey Lee"
        return words[1]
    if _vietnamese_order(words):  # "Phạm Văn Kiên": "Kiên", never "Hey Phạm"
        return words[-1]
    return first.title() if first.isupper() and (name.isupper() or len(first) > 2) else first


# Korean family names, as they are romanised: a name written family name first ("Kim Ji-woo")
# puts one of these before a hyphenated given name.
_KOREAN_FAMILY_NAMES = frozenset(
    "kim lee yi park pak choi choe jung jeong chung kang cho jo yoon yun jang chang lim im han oh seo suh shin "
    "kwon hwang ahn an song yoo yu hong jeon jun ko go moon mun yang son bae baek paek heo huh nam noh roh ha "
    "kwak sung seong cha joo ju woo min ryu na jin chae pyo".split()
)
_HYPHENATED_GIVEN = re.compile(r"^[A-Z][a-z]+-[a-z]+$")  # "Seung-hoon"; "Smith-Jones" is a surname


def _family_name_first(words: list[str], email: str) -> bool:
    """Is this a name written family name first ("Lee Seung-hoon", "Kim Ji-woo", "Wang Xiaoming" at xiaoming.wang@)?"""
    first, second = words
    if first.lower() in _KOREAN_FAMILY_NAMES and _HYPHENATED_GIVEN.match(second):
        return True
    local = re.split(r"[._]", email.partition("@")[0].partition("+")[0].lower())
    given = folded(second).replace("-", "")
    return len(local) >= 2 and local[0] == given and local[1] == folded(first) and len(given) > 1


# Vietnamese family names, written first; the given name is the last word ("Nguyễn Thị Tư": "Tư").
_VIETNAMESE_FAMILY_NAMES = frozenset(
    "nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly truong dinh lam mai trinh cao luong".split()
)
_VIETNAMESE_MIDDLE = frozenset("van thi duc minh thanh huu ngoc quoc kim xuan thu".split())


def _vietnamese_order(words: list[str]) -> bool:
    """Is this a Vietnamese name in its own order: a family name with its diacritics ("Phạm Kiên"), or
    three words with a middle name such as Văn or Thị ("Nguyen Van Nam")?"""
    if len(words) < 2 or folded(words[0]) not in _VIETNAMESE_FAMILY_NAMES:
        return False
    marked = words[0] != folded(words[0]).title() and words[0] != folded(words[0])
    return marked or (len(words) >= 3 and folded(words[1]) in _VIETNAMESE_MIDDLE)


def _given_names_in(email: str, words: list[str]) -> bool:
    """Does the address's first part join two words of the name ("meilin" for "Mei Lin", "annamaria")?"""
    local = re.split(r"[._]", email.partition("@")[0].partition("+")[0].lower())[0]
    joined = folded("".join(words)).replace("-", "")
    return len(local) > len(folded(words[0])) and local == joined


def name_from_address(email: str) -> str:
    """ "Jo" from "jo.park@x" or "jo_park@x"; "" from "jsmith1987@x", "jsmith@x", "j.park@x" or "hr.dept@x".

    Only a local part of two or more all-letter words separated by "." or "_" is
    read as first.last ("anna-lena.berg" gives "Anna-Lena"): a single word may be an
    initial glued to a surname, and a greeting with the wrong name is worse than none.
    A role or team ("hr.dept", "the.team", "press.office", "shift.dl-portland") is not a
    name either.
    """
    if is_role_address(email):
        return ""
    parts = re.split(r"[._]", email.partition("@")[0].partition("+")[0])
    if len(parts) >= 2 and all(_NAME_WORD.fullmatch(p) for p in parts[:2]) and not names_a_role(parts[:2]):
        return "-".join(piece.capitalize() for piece in parts[0].split("-"))
    return ""


def full_name_from_address(email: str) -> str:
    """ "Evelyn Aucoin" from "evelyn.aucoin@x"; "" where ``name_from_address`` finds no first name."""
    first = name_from_address(email)
    if not first:
        return ""
    last = re.split(r"[._]", email.partition("@")[0].partition("+")[0])[1]
    return f"{first} {'-'.join(piece.capitalize() for piece in last.split('-'))}"


def folded(text: str) -> str:
    """Lower case without accents: `snooze zoe` finds Zoë, `skip jose` finds José."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
