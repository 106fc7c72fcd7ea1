"""Which meeting titles and mail subjects name a moment we shared, and how a note says it.

A subject quoted back in quotation marks with its date ("Ever since I wrote about “Scott
Pleus Farewell Happy Hour TONIGHT!!!”") reads like a mail merge, or a threat. A title is a
hook only when it names a shared moment: a meal, a trip, a talk or meetup, photos, slides,
a new role, or a recurring meeting of ours. It is then said as a person would say it: "our
lunch at Dishoom", "your Stockholm photos", "the Berlin slides I sent you", "our monthly
one-to-ones". Routine work (trades, curves, confirmations, codes, one or two words, a
company name), someone's farewell, anything sensitive or a machine's notice is no moment.
No hook beats a fake one: a title that is not plainly one of these gives none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .wording import sensitive_pattern

MEAL = "meal"
TRIP = "trip"
EVENT = "event"
PHOTOS = "photos"
SLIDES = "slides"
ROLE = "role"
# Moments said from one side ("your photos", "the slides I sent you"): who started the thread decides.
MINE_OR_THEIRS = frozenset({"photos", "slides", "role"})

# Names and places are told by their capitals ("Lunch at Dishoom", not "lunch at work"): the
# keywords match in any case, the capitals with (?-i:...).
_REPLY = re.compile(r"^(?:\s*(?:re|aw|sv|rif|r|fw|fwd|wg|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# Goodbyes: someone's farewell is theirs, never "our farewell drinks".
_FAREWELL = re.compile(
    r"\b(?:farewell|leaving|last day|goodbye|good-bye|send[- ]off|moving on|so long|retire(?:s|d|ment)?"
    r"|new (?:e-?mail|address|contact details)|my new (?:job|role)|i'?m leaving|signing off)\b",
    re.IGNORECASE,
)
_MEAL = re.compile(
    r"^(?:(?:a |quick |catch[- ]up (?:over |at )?|(?:sunday|saturday|friday|monday|tuesday|wednesday|thursday) )?"
    r"(?P<meal>lunch|dinner|breakfast|brunch|coffee|drinks|beers?|"
    r"a drink|a coffee|a pint|pints|tea|curry|pizza|tapas|ramen|sushi|burgers?|wine|a bite)\b)"
    r"(?:\s*(?:at|in|@)\s+(?P<place>(?-i:[A-Z])[\w'&.-]*(?:\s+(?-i:[A-Z])[\w'&.-]*){0,3})\b)?"
    r"(?:\s+(?:with|w/)\s+[^,]{1,40})?"
    r"(?:(?:\s+|\s*,\s*)(?:on|next|this|tomorrow|today|tonight|soon|sometime|after|before|then)\b.*|\s*[?!].*)?\W*$",
    re.IGNORECASE,
)
_TRIP = re.compile(
    r"^(?:our |the )?(?:(?P<kind>road trip|trip|hike|climb(?:ing)?(?: trip)?|ski(?:ing)? trip|camping trip)"
    r"(?:\s+to\s+(?P<to>(?-i:[A-Z])[\w'-]*(?:\s+(?-i:[A-Z])[\w'-]*){0,2}))?"
    r"|(?P<where>(?-i:[A-Z])[\w'-]*(?:\s+(?-i:[A-Z])[\w'-]*){0,2})\s+(?P<kind2>road trip|trip|hike))"
    r"(?:\s+(?:on|next|this|tomorrow|today|tonight|soon|sometime)\b.*)?\W*$",
    re.IGNORECASE,
)
_EVENT = re.compile(
    r"^(?:the |our )?(?P<name>(?:(?-i:[A-Z0-9])[\w'&.-]*\s+){0,3})(?P<kind>meetup|meet-up|conference|workshop|summit|"
    r"hackathon|offsite|off-site|retreat|talk|keynote|panel|book club|reading group|concert|gig|marathon|half marathon"
    r"|race|parkrun|book launch|launch party|exhibition|opening|congress)"
    r"(?:\s+(?P<prep>at|in)\s+(?P<place>(?-i:[A-Z])[\w'&.-]*(?:\s+(?-i:[A-Z])[\w'&.-]*){0,2}))?"
    r"(?:\s+(?P<year>20\d\d))?\W*$",
    re.IGNORECASE,
)
_PHOTOS = re.compile(
    r"^(?:(?:the|my|our|some)\s+)?(?:(?P<pre>(?-i:[A-Z])[\w'-]*(?:\s+(?-i:[A-Z])[\w'-]*){0,2})\s+)?(?P<kind>photos|pictures|pics|slides)"
    r"(?:\s+(?P<prep>from|of)\s+(?P<post>(?:the\s+)?(?-i:[A-Z])[\w'-]*(?:\s+(?-i:[A-Z])[\w'-]*){0,2}))?\W*$",
    re.IGNORECASE,
)
_ROLE = re.compile(
    r"^(?:(?:huge\s+|many\s+|big\s+)?congrat(?:s|ulations)\s+(?:on|for)\s+(?:(?:the|your)\s+)?)?"
    r"(?P<what>new (?:role|job|position|gig)|promotion|making partner|(?-i:[A-Z])[\w&.-]* (?:job|offer|role))\b.*$",
    re.IGNORECASE,
)


# Every keyword some moment needs: a title with none of them is no moment (the planner asks this of
# every due person's latest titles).
_ANY_MOMENT = re.compile(
    r"\b(?:lunch|dinner|breakfast|brunch|coffee|drink|beer|pint|tea\b|trip|hike|climb|ski|camping|meet-?up|conference"
    r"|workshop|summit|hackathon|off-?site|retreat|talk|keynote|panel|book club|reading group|concert|gig|photo"
    r"|picture|pics|slides|role|job|offer|position|promotion|partner|curry|pizza|tapas|ramen|sushi|burger|wine|bite"
    r"|marathon|race|parkrun|launch|exhibition|opening|congress)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Moment:
    """A shared moment a note may mention, said as a person would."""

    kind: str
    phrase: str  # a noun phrase: "our lunch at Dishoom", "your Stockholm photos"
    since: str  # what follows "It's been a while since": "our lunch at Dishoom", "you sent me your photos"

    def as_context(self) -> dict[str, str]:
        return {"kind": self.kind, "phrase": self.phrase, "since": self.since}


# Their own goodbye: the address it came from may soon stop working.
_GOODBYE = re.compile(
    r"\b(?:(?:my|today is my|today's my) last day|last day at|i'?m leaving|i am leaving|moving on|goodbye|good-bye"
    r"|signing off|new (?:e-?mail|address|contact details)|my new (?:job|role|e-?mail|address)"
    r"|farewell from|(?:mi )?último día (?:en|de)|mi último día|me despido|mein letzter tag|mon dernier jour"
    r"|il mio ultimo giorno|mijn laatste (?:dag|werkdag))\b",
    re.IGNORECASE,
)


def says_goodbye(title: str) -> bool:
    """Is this subject, from them, their own goodbye ("My last day at Acme", "New email address")?"""
    return _GOODBYE.search(_REPLY.sub("", title)) is not None and not _REPLY.match(title)


def could_be_moment(title: str) -> bool:
    """A quick first look: does this title carry a word some moment needs?"""
    return _ANY_MOMENT.search(title) is not None


def is_farewell(title: str) -> bool:
    """A goodbye ("Last day at Acme", "Farewell drinks for Scott", "My new address")."""
    return _FAREWELL.search(title) is not None


# Moments a mail subject may only propose ("Coffee at Ritual?"): said back, they may never have happened.
_PROPOSED = frozenset({MEAL, TRIP, EVENT})


@lru_cache(maxsize=16384)  # a plan asks it of each title twice (to gather, then to decide); titles repeat
def read_moment(title: str, *, met: bool, sent_by_me: bool, names: frozenset[str] = frozenset()) -> Moment | None:
    """The shared moment a meeting title (``met``) or a mail subject names, or None.

    ``sent_by_me``: for mail, who started the thread ("the slides I sent you" or "your
    slides"); ``names``: the words of their name, never said back ("Lunch at Fiona's" to
    Fiona is "our last lunch", "Hélène's talk" to Hélène is "your talk"). The caller decides
    whether the thread or meeting was small and two-sided; this only reads the words.
    """
    if _ANY_MOMENT.search(title) is None:
        return None  # most titles name no moment at all: one search says so
    text = _REPLY.sub("", title).strip()
    if not text or len(text) > 60 or is_farewell(text) or sensitive_pattern().search(text):
        return None
    if "#" in text or re.search(r"\d{3,}", re.sub(r"\b20\d\d\b", "", text)):
        return None  # a ticket, a deal or an order number: routine
    moment = (
        _meal(text, names)
        or _trip(text)
        or _event(text, names)
        or _pictures(text, met=met, sent_by_me=sent_by_me)
        or _role(text, sent_by_me=sent_by_me)
    )
    if moment is not None and not met and moment.kind in _PROPOSED and "?" in text:
        return None  # "Dinner at State Bird?" asked; only the calendar says it happened
    return moment


def _place(words: str | None) -> str:
    return " ".join(words.split()) if words else ""


# Words a title capitalises that a sentence does not: "Holiday photos" -> "your holiday photos".
_COMMON = frozenset(
    "holiday holidays wedding birthday party team trip vacation summer winter spring autumn family baby "
    "conference offsite weekend christmas new year book reading design product launch".split()
)


def _common(words: str) -> str:
    """ "Beach photos" -> "beach", "Stockholm" stays: a word English knows is lowered, a name is not."""
    return " ".join(w.lower() if w.lower() in _COMMON or _known_word(w) else w for w in words.split())


def _known_word(word: str) -> bool:
    if not word[:1].isupper() or not word[1:].islower() or word in ("Christmas", "Easter"):
        return False
    from .notes import is_common_word  # lemminflect, only for a title that names photos or slides

    return is_common_word(word.lower())


def _theirs(words: str, names: frozenset[str]) -> bool:
    """Does a place or a name in a title name them ("Fiona's", "Hélène")?"""
    return any(w.lower().removesuffix("'s").removesuffix("’s") in names for w in words.split())


def _meal(text: str, names: frozenset[str] = frozenset()) -> Moment | None:
    m = _MEAL.match(text)
    if not m:
        return None
    meal = m["meal"].lower().removeprefix("a ")
    meal = {"beer": "drinks", "beers": "drinks", "drink": "drinks", "pint": "drinks", "pints": "drinks"}.get(
        meal, meal
    )
    place = _place(m["place"])
    if _theirs(place, names):
        place = ""  # "Lunch at Fiona's", to Fiona: our last lunch
    phrase = f"our {meal} at {place}" if place else f"our last {meal}"
    return Moment(MEAL, phrase, phrase)


def _trip(text: str) -> Moment | None:
    m = _TRIP.match(text)
    if not m:
        return None
    if m["where"]:
        phrase = f"our {_place(m['where'])} {m['kind2'].lower()}"
    else:
        to = _place(m["to"])
        kind = m["kind"].lower()
        if not to:  # "Climbing on Saturday?": the last one we had
            kind = {"climbing": "climb", "climb": "climb", "hike": "hike"}.get(kind, kind)
            return Moment(TRIP, f"our last {kind}" if kind in ("climb", "hike") else f"our {kind}",
                          f"our last {kind}" if kind in ("climb", "hike") else f"our {kind}")
        phrase = f"our {kind} to {to}"
    return Moment(TRIP, phrase, phrase)


_EVENT_WORD = re.compile(
    r"\b(?:meetup|meet-up|conference|workshop|summit|hackathon|offsite|off-site|retreat|talk|keynote|panel|book club"
    r"|reading group|concert|gig|marathon|race|parkrun|launch|exhibition|opening|congress)\b",
    re.IGNORECASE,
)


def _event(text: str, names: frozenset[str] = frozenset()) -> Moment | None:
    if _EVENT_WORD.search(text) is None:
        return None  # the full pattern backtracks over the name words: ask it only when it can match
    m = _EVENT.match(text)
    if not m:
        return None
    name = _place(m["name"])
    kind = m["kind"].lower()
    place = _place(m["place"])
    if not name and not place:
        return None  # "Workshop": which one? Too bare to say back.
    owner = name.split()[0] if name and re.match(r"^\w[\w-]*['’]s$", name.split()[0]) else ""
    if owner:  # "Hélène's talk at ESEM": hers, not "the Hélène's talk"
        rest = " ".join(name.split()[1:])
        whose = "your" if _theirs(owner, names) else owner
        where = f" {m['prep'].lower()} {place}" if place else ""
        phrase = f"{whose} " + " ".join(x for x in (_common(rest), kind) if x) + where
        return Moment(EVENT, phrase, phrase)
    where = f" {m['prep'].lower()} {place}" if place else ""
    phrase = "the " + " ".join(x for x in (_common(name), kind) if x) + where
    return Moment(EVENT, phrase, phrase)


def _pictures(text: str, *, met: bool, sent_by_me: bool) -> Moment | None:
    m = _PHOTOS.match(text)
    if not m or met:
        return None
    kind = m["kind"].lower()
    kind = {"pics": "photos", "pictures": "photos"}.get(kind, kind)
    pre, post = _place(m["pre"]), _place(m["post"])
    if not pre and not post:
        return None  # "Photos": of what?
    what = f"{_common(pre)} {kind}" if pre else f"{kind} {(m['prep'] or 'from').lower()} {post}"
    if sent_by_me:  # "since I sent you the photos" only logs my own mail: no moment of ours
        return None
    return Moment(SLIDES if kind == "slides" else PHOTOS, f"your {what}", f"you sent me your {what}")


def _role(text: str, *, sent_by_me: bool) -> Moment | None:
    m = _ROLE.match(text)
    if not m:
        return None
    what = m["what"].lower()
    what = "promotion" if what in ("promotion", "making partner") else "new role"
    if sent_by_me:  # "since I congratulated you" only logs my own mail
        return None
    return Moment(ROLE, f"your {what}", f"you told me about your {what}")
