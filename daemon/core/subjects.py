"""What a subject or a meeting title says: a reply prefix, a notice, shouting, nothing at all, or
something specific a note may name."""

from __future__ import annotations

import re
from functools import cache, lru_cache

from .wording import sensitive_pattern

_sensitive = sensitive_pattern

# "Re:" and "Fwd:" as mail clients write them: English, German (AW, WG), Dutch (Antw), Scandinavian
# (SV), Finnish (VS), French (TR, transféré), Italian (R, RIF), Spanish and Portuguese (Ref). The one
# list: the planner and the templates' ``strip_reply_prefix`` filter both read it.
_REPLY_WORDS = "re|aw|antw|sv|vs|rif|ref|r"
_FORWARD_WORDS = "fw|fwd|wg|tr"
_PREFIX = r"\s*(?:{})(?:\s*[\[(]\d+[\])])?\s*:\s*"  # "Re:", "Re[2]:", "Re(2):"
_REPLY_PREFIX = re.compile(f"^(?:{_PREFIX.format(_REPLY_WORDS + '|' + _FORWARD_WORDS)})+", re.IGNORECASE)
# Subjects and titles that say nothing about the person: not a hook.
_GENERIC = {
    "", "hi", "hello", "hey", "hi there", "(no subject)", "no subject", "question", "quick question",
    "update", "follow up", "follow-up", "following up", "thanks", "thank you", "meeting", "call",
    "catch up", "catch-up", "catchup", "sync", "busy", "blocked", "hold", "1:1", "1-1",
    "one on one", "zoom", "teams meeting", "invitation", "fyi", "checking in", "ping", "reminder", "reminders",
}


# A subject that only answers, forwards or is a machine's notice says nothing about the person
# ("Re: Your order #4471 has shipped", "Accepted: Q3 roadmap", "Position Manager for 8/1/01").
# Looked for after the reply prefix is stripped, in any case: NOTICE_PATTERNS where the
# subject starts, NOTICE_WORDS from the start of any word, and "#" before a number ("Deal #
# 741969.1", "Issue #12"; not "C# 12"). Mail *from* the machine never counts anyway.
NOTICE_PATTERNS: tuple[str, ...] = (
    r"(?:automatic reply|auto[- ]?reply|out of (?:the )?office|undeliverable|undelivered mail"
    r"|delivery status notification|mail delivery (?:failed|failure)|returned mail|read receipt|read"
    r"|accepted|declined|tentative(?:ly accepted)?|(?:new|updated) (?:event|invitation)|invitation"
    r"|cancel(?:l)?ed(?: event)?|attention|important|urgent|notice|reminder|alert|announcement)\s*:",
    r"action required\b",
    r"your (?:order|account|subscription|statement|booking|reservation|package|delivery|ticket|parcel)\b",
    r"(?:order|booking|reservation|shipping|delivery) confirm",
    r"\[(?:jira|github|ticket)\b",
)
NOTICE_WORDS: tuple[str, ...] = (
    # a reference number: "Re: Ticket #88123", "Order no. 55-1203", "Case 4411"
    r"(?:order|ticket|case|booking|confirmation|tracking|deal) ?(?:#|no\.|number)\s*\w*\d",
    r"(?:case|deal|ticket) \d",
    # IT tickets, not concert tickets ("Tickets for Glastonbury" stays a hook)
    r"(?:support|help ?desk|service|it|jira|zendesk) tickets?\b",
    r"tickets? (?:opened|closed|updated|resolved|assigned|created|raised)\b",
    # a dated or daily report: "Deals for 7/12/01", "Tuesday's P/L", "DWR Report Released today"
    r"\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})\b", r"\d{4}-\d{1,2}-\d{1,2}\b", r"P ?[/&] ?L\b", r"reports? (?:released|for)\b",
)


@cache
def _notice() -> re.Pattern[str]:
    # One \b in front of all the words rather than one each: half the time per subject.
    leading, words = "|".join(NOTICE_PATTERNS), "|".join(NOTICE_WORDS)
    return re.compile(rf"^(?:{leading})|\b(?:{words})|(?<!\w)#\s?\d", re.IGNORECASE)


@cache
def _forwarded() -> re.Pattern[str]:
    """A forward, maybe replied to ("Fwd: ...", "Re: FW: ..."); not "Fwd" after a reply's subject."""
    return re.compile(f"^(?:{_PREFIX.format(_REPLY_WORDS)})*{_PREFIX.format(_FORWARD_WORDS)}", re.IGNORECASE)


# A subject whose first word says it is a test ("Testing", "📧 Test いろは歌"), and runs of
# three letters or more: the words that tell shouting from an acronym.
_TEST_SUBJECT = re.compile(r"^\W*(?:test|tests|testing)\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{3,}")


def strip_reply_prefix(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject).strip()


# The public questions take a subject as it came; the private ones one already stripped of
# "Re:" and "Fwd:", so that ``is_specific`` strips once (it is asked of every due person).


def is_sensitive(text: str) -> bool:
    """Does a subject or title touch something a note must not quote ("funeral arrangements", "Re: Dad died")?"""
    return _sensitive().search(text) is not None


def is_notice(text: str) -> bool:
    """Is this subject a machine's notice or report, or a reply to one ("Re: Your order #4471", "SAR for 11/15/01")?"""
    return _notice().search(strip_reply_prefix(text)) is not None


def is_shouting(text: str) -> bool:
    """Is this title in capitals, two words or more ("BEST WESTERN ITINERARY")? Acronyms alone ("Q3 OKR") are not."""
    return _shouts(strip_reply_prefix(text))


def _shouts(subject: str) -> bool:
    # Two words of three capitals or more, and three letters in four capitals, so a title with
    # an acronym or two in it ("NASA JPL visit") is not shouting.
    upper = sum(map(str.isupper, subject))
    if upper < 6:  # the common case, decided without a regex
        return False
    return upper >= 3 * sum(map(str.islower, subject)) and sum(map(str.isupper, _WORD.findall(subject))) >= 2


def says_nothing(text: str) -> bool:
    """Is this subject about nothing in particular: generic, a test, or under three letters ("1", "]", "Testing")?"""
    return _says_nothing(strip_reply_prefix(text))


def _says_nothing(subject: str) -> bool:
    return (
        subject.strip(" .!?-").lower() in _GENERIC
        or sum(map(str.isalpha, subject)) < 3
        or _TEST_SUBJECT.match(subject) is not None
    )


def is_quotable(text: str) -> bool:
    """May a note quote this subject or title back to someone: not sensitive, not a notice, not shouted?"""
    return _quotable(strip_reply_prefix(text))


def _quotable(subject: str) -> bool:
    return _sensitive().search(subject) is None and _notice().search(subject) is None and not _shouts(subject)


@lru_cache(maxsize=16384)  # asked of every due person's latest titles, twice per plan
def is_specific(text: str) -> bool:
    """Is this subject or title a hook: about something, exchanged rather than forwarded, and safe to quote back?

    A forward ("Fwd: ...", "Re: FW: ...") is refused whatever it says: forwarded chains, jokes
    and circulars are rarely a personal exchange.
    """
    subject = strip_reply_prefix(text)
    return _forwarded().match(text) is None and not _says_nothing(subject) and _quotable(subject)


def has_reply_prefix(subject: str) -> bool:
    """Does this subject start with "Re:" or "Fwd:" (in any language we know)?"""
    return _REPLY_PREFIX.match(subject) is not None
