"""Reading a private note about someone, so that a draft can say it *to* them.

People type notes about a contact the way they think of them, not the way they
would write to them: "always sends the best book recommendations", "she walked
me through my first board meeting", "his sourdough", "VP Eng at Northwind",
"lost his dad last year". Spliced raw into a sentence ("I still think of lost
his dad last year") such a note is the one failure a user will not forgive. So a
note is never spliced: ``read_note`` reads it into a shape and turns it to
address the person, or says plainly why it will not be quoted.

The forms a template may use (templates/checkin.txt.j2 documents the frames):

- ``how``      "how you always send the best book recommendations": an action or a
               quality ("I've always appreciated ___", "I still remember ___").
- ``noun``     "a natural teacher": what they are to me ("I've always thought of you as ___").
- ``phrase``   "your notes from the design review", "our road trip to Big Sur": a thing
               of theirs or a shared moment ("I still think about ___").
- ``sentence`` "I owe you a coffee.": a whole sentence that stands on its own.
- ``extra``    further sentences the note carried after a ";" or ":".

Facts (roles, history, family, where you met) are context, never quoted; sensitive notes
(death, illness, pregnancy loss, divorce, custody, job loss, money or legal trouble) are
never quoted in any draft; a note the reader cannot read with confidence is not quoted
either. The costs are lopsided: a refused note costs one "needs a note" line in
`status`, a garbled one costs the user's trust. Notes in other languages are only used
through ``say`` (the user's own words to the person, quoted as they are).

English inflection comes from lemminflect (its lexicon ships in the wheel and works
offline); it is imported on first use, so `circleback status` never loads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from .wording import PROPER_ADJECTIVES, personal_sensitive

# The shapes, as tests/data/notes/examples.tsv names them, and what we add.
VERB_PHRASE = "verb-phrase"  # "always sends the best book recommendations"
PRONOUN_CLAUSE = "pronoun-clause"  # "she walked me through my first board meeting"
POSSESSIVE = "possessive"  # "his sourdough", "her advice on pricing changed how I run the studio"
FIRST_PERSON = "first-person"  # "I owe him a coffee", "we shipped the app together in 2019"
ADJECTIVE = "adjective"  # "generous with her time"
PRAISE_NOUN = "praise-noun"  # "a natural teacher"
MEMORY = "memory"  # "our road trip to Big Sur"
ADDRESSED = "addressed"  # already written to them: "how you always ask the question nobody else thought of"
SAY = "say"  # [[people]] say: the user's exact words, used as a sentence
FACT = "fact"  # "VP Eng at Northwind": context, never quoted
SENSITIVE = "sensitive"  # "her mum passed away in May": never quoted
FOREIGN = "foreign"  # not English: only through `say`
UNREADABLE = "unreadable"  # the reader is not confident: not quoted

QUOTABLE_SHAPES = frozenset(
    {VERB_PHRASE, PRONOUN_CLAUSE, POSSESSIVE, FIRST_PERSON, ADJECTIVE, PRAISE_NOUN, MEMORY, ADDRESSED, SAY}
)
MAX_QUOTED = 160  # characters: a longer note will not fit a LinkedIn note (300) with its frame


@dataclass(frozen=True, slots=True)
class ReadNote:
    """A private note as a draft may use it, or the reason it may not."""

    text: str
    shape: str
    how: str = ""
    noun: str = ""
    phrase: str = ""
    sentence: str = ""
    extra: tuple[str, ...] = ()
    past: bool = False
    reason: str = ""  # why it is not quoted (empty when it is)
    suggestion: str = ""  # a rewording the user could put in `note` or `say`

    @property
    def recent(self) -> bool:
        """A deed of these last months ("lent me your trailer twice this winter"): thanks, not a memory."""
        return self.past and _RECENT.search(self.how or self.sentence) is not None

    @property
    def feat(self) -> bool:
        """Something they did, not for me ("ran the whole clinic basically alone"): said with admiration."""
        return (
            self.past and self.how.startswith("how you ") and not self.recent and _FEAT.search(self.how) is not None
            and _MINE.search(self.how) is None and _HELPED.search(self.how) is None
        )

    @property
    def deed(self) -> bool:
        """Something they did for me ("took a chance on a junior", "caught the bug"): said with thanks."""
        return self.past and self.how.startswith("how you ") and _HELPED.search(self.how) is not None

    @property
    def quotable(self) -> bool:
        return self.shape in QUOTABLE_SHAPES

    def preview(self) -> str:
        """The note's own words as a draft would say them (the check-in's frame), or ""."""
        if not self.quotable:
            return ""
        if self.how and self.recent:
            core = "I'm still grateful " + self.how.removeprefix("how ") + "."
        elif self.how and self.feat:
            core = "I'm still impressed by " + self.how + "."
        elif self.how:
            lead = "I still remember " if self.past else "I've always appreciated "
            lead = "I really appreciate " if lead.startswith("I've") and "always" in self.how else lead
            core = lead + self.how + "."
        elif self.noun:
            core = f"I've always thought of you as {self.noun}."
        elif self.phrase:
            core = f"I still think about {self.phrase}."
        else:
            core = self.sentence
        return " ".join((core, *self.extra))

    def as_context(self) -> dict[str, Any]:
        """What templates see as ``note`` (plain data: the sandbox reads no attributes of ours)."""
        return {
            "shape": self.shape,
            "quotable": self.quotable,
            "how": self.how,
            "noun": self.noun,
            "phrase": self.phrase,
            "sentence": self.sentence,
            "extra": list(self.extra),
            "past": self.past,
            "recent": self.recent,
            "feat": self.feat,
            "deed": self.deed,
            "text": self.text if self.quotable else "",
        }


NO_NOTE = ReadNote("", "")
# What makes a deed a feat: "made a whole platformer", "ran the clinic basically alone", "fixed it yourself".
_FEAT = re.compile(
    r"(?i)\b(?:whole|entire|alone|single-handedly|yourself|by yourself|on your own|in one (?:weekend|night|day)"
    r"|without being asked|in a (?:snow)?storm|in a blizzard|in the snow"
    r"|in (?:one|a single) (?:sitting|go|afternoon|morning|evening|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday))\b"
)
_MINE = re.compile(r"(?i)\b(?:me|my|mine|myself|us|our|ours|we|I)\b")
_RECENT = re.compile(
    r"(?i)\b(?:this (?:winter|summer|spring|autumn|fall|year|month|week|term|season)|last (?:week|month)"
    r"|recently|the other day|yesterday|a few weeks ago)\b"
)


# -- words -------------------------------------------------------------------------------------

# Closed-class words lemminflect does not list: what tells English from another language, and
# what ends a noun phrase.
_FUNCTION = frozenset(
    """
a an the and or but nor so yet of to in on at by for with from into onto about over under after
before during since until than as like through across around between without within upon off up down
out i me my mine myself we us our ours ourselves you your yours yourself he him his himself she her
hers herself they them their theirs themselves it its itself this that these those who whom whose
which what when where why how there here is am are was were be been being has have had do does did
not no nor can could will would shall should may might must ever every each all any some one ones
both either neither very too also just still even only own same other another such than then once
again if whether because while although though
""".split()
)

_ADVERBS = frozenset(
    """
always never still really actually just also often usually genuinely sometimes consistently reliably
somehow truly honestly simply quietly single-handedly basically literally regularly constantly once ever
""".split()
)

_INTENSIFIERS = frozenset(
    ["so", "very", "really", "incredibly", "truly", "remarkably", "genuinely", "always", "endlessly", "unbelievably"]
)

# Adjectives a note may praise with. A note that starts with an adjective outside this list is
# not quoted ("allergic to nuts", "vegan", "shy"): the reader cannot tell praise from a fact.
_PRAISE_ADJECTIVES = frozenset(
    """
generous kind patient precise unflappable calm funny thoughtful sharp smart brilliant wise honest
warm fearless curious careful rigorous reliable dependable humble fair decent loyal brave bold
creative clever insightful perceptive articulate eloquent gracious considerate caring supportive
encouraging steady grounded principled organised organized meticulous thorough diligent tireless
energetic enthusiastic positive optimistic cheerful upbeat welcoming open direct candid frank clear
good great excellent amazing fantastic wonderful incredible exceptional outstanding superb inspiring
inspirational relentless resourceful practical pragmatic level-headed even-handed unshakeable
unshakable unstoppable dedicated committed passionate helpful trustworthy dry witty sharp-eyed
tactful diplomatic approachable gentle sincere genuine authentic graceful nimble quick
""".split()
)

# Nouns for a person: "a natural teacher", "the kindest reviewer on the team".
_PERSON_NOUNS = frozenset(
    """
person people friend mentor boss teacher coach colleague partner ally champion human soul guide hire
teammate neighbour neighbor host cook chef manager leader reviewer listener writer editor engineer
designer founder researcher scientist thinker storyteller speaker presenter negotiator connector
organiser organizer problem-solver collaborator advisor adviser adventurer traveller traveler reader
role model sounding board advocate sponsor cheerleader one hand
kid woman man guy girl boy lad lass player athlete student pupil worker detailer captain nurse doctor
""".split()
)

# Nouns for a moment we shared: "the workshop in Porto", "that conversation about leaving consulting".
_EVENT_NOUNS = frozenset(
    """
trip road-trip journey holiday vacation weekend week night day evening morning afternoon summer
winter spring autumn year workshop conference offsite retreat talk chat conversation call dinner
lunch breakfast brunch coffee drinks hike walk run ride climb swim game match concert gig show
festival party wedding launch hackathon sprint project meetup course class session sessions road
time adventure visit tour comeback final semi-final win victory season race regatta marathon derby cup
tournament playoff
""".split()
)

# Their job, home and family: "her kids", "his new job", "their address" are facts, not things to praise.
_THEIR_LIFE = frozenset(
    "job role company startup business house flat home new address number phone birthday wife husband partner "
    "kids kid children son daughter mum mom dad mother father parents baby brother sister family dog cat "
    "girlfriend boyfriend boss team salary".split()
)

# What a person is, not what they did or made: "I still think about your laugh" reads like a eulogy.
_PERSONAL_TRAITS = frozenset("laugh smile voice eyes face hair looks style energy presence hugs hug".split())

# Praise, in a verb phrase or a clause: without one of these a note reads as a fact
# ("plays bass in a band", "loves hiking") and is not quoted.
_PRAISE_WORDS = frozenset(
    """
always never every everyone everybody everything everywhere anyone anybody anything nobody best
better most more first only actually really truly genuinely great good amazing brilliant kind
kindest generous patient gift knack talent eye incredible fantastic wonderful taught teaches helped
helps pushed pushes showed shows inspired inspires encouraged encourages backed backs championed
champions saved saves mentored coached believed believes vouched recommended recommends gets got
fixed fixes reason i me my mine myself we us our ours
""".split()
)

# Facts: work, home, family, history. A note carrying one is context, not a quote.
_FACT_RE = re.compile(
    r"\b(?:works?|working|worked (?:at|for|in)|lives?|lived|living|based|moved|moving|relocat\w*|married|engaged"
    r"|wife|husband|kids?|children|son|daughter|twins|baby|girlfriend|boyfriend|fianc\w*|dogs?|cats?|pets?"
    r"|plays|loves|likes|enjoys|is into|studied|studies|graduated|grew up|born|met|meet|introduced|now|ex-\w+"
    r"|former|formerly|retired|joined|left|leaving|started|starts|used to|ceo|cto|cfo|coo|vp|svp|evp|director"
    r"|head of|founder at|at [A-Z]\w*|flatmate|roommate|classmate|cousin|uncle|aunt|neighbou?r from|from [A-Z]\w*"
    r"|birthday is|phone|address|allergic|vegan|vegetarian|ahead|behind|time ?zone)\b"
)
_DIGIT = re.compile(r"\d")

_SUBJECTS = {
    "he": "he",
    "she": "she",
    "they": "they",
    "he's": "he",
    "she's": "she",
    "they're": "they",
    "he'd": "he",
    "she'd": "she",
    "they'd": "they",
    "he'll": "he",
    "she'll": "she",
    "they'll": "they",
    "they've": "they",
}
_OBJECTS = {
    "him": "you",
    "them": "you",
    "his": "your",
    "their": "your",
    "theirs": "yours",
    "hers": "yours",
    "himself": "yourself",
    "herself": "yourself",
    "themselves": "yourself",
    "themself": "yourself",
}
# "her" is "your" before what it owns ("her advice"), "you" where it is the object ("told her").
_HER_OBJECT_BEFORE = _FUNCTION | _ADVERBS | {"", "again", "too", "once", "twice", "everything", "anything"}
# Verbs whose "her" is the person ("owe her dinner", "told her", "gave her the lead"), not her things.
_TO_A_PERSON = frozenset(
    "owe owes owed give gives gave send sends sent show shows showed tell tells told buy buys bought promise "
    "promised lend lent pay paid teach taught offer offered bring brought ask asked thank thanked call called "
    "email emailed text texted introduce introduced let lets make makes made help helps helped see saw seen "
    "hear heard watch watched meet met miss missed visit visited drive drove take took invite invited hire "
    "hired".split()
)
_IRREGULAR = {
    "has": "have",
    "does": "do",
    "doesn't": "don't",
    "hasn't": "haven't",
    "goes": "go",
    "is": "are",
    "was": "were",
    "isn't": "aren't",
    "wasn't": "weren't",
}
_FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "i'll", "we", "we're", "we've", "we'd", "we'll"})
_QUOTES = "\"“”‘’'"


@cache
def _lemmas():  # type: ignore[no-untyped-def]
    import lemminflect  # ~100 ms with numpy: only when a note is read

    return lemminflect


def _pos(word: str) -> dict[str, tuple[str, ...]]:
    return _lemmas().getAllLemmas(word.lower()) if word else {}


def _is_known(word: str) -> bool:
    w = word.lower().strip(".,;:!?\"'()")
    if "-" in w:
        return all(part in ("ex", "co", "re", "non") or _is_known(part) for part in w.split("-") if part)
    return w in _FUNCTION or w in _ADVERBS or bool(_pos(w)) or bool(_pos(w.split("'")[0]))


def _is_plural_noun(word: str) -> bool:
    lemmas = _pos(word).get("NOUN", ())
    return bool(lemmas) and word not in lemmas and word.endswith("s")


def is_common_word(word: str) -> bool:
    """Does English know this word as a noun or adjective ("beach", "graduation"), rather than a name?"""
    pos = _pos(word)
    return "NOUN" in pos or "ADJ" in pos


def _verb_form(word: str) -> str:
    """ "3sg", "past", "base" or "" for a verb form; "is"/"has"/"does" included."""
    w = word.lower()
    if w in ("is", "has", "does", "doesn't", "isn't", "hasn't"):
        return "3sg"
    if w in ("was", "wasn't", "had", "did", "didn't", "hadn't"):
        return "past"
    if w in ("can", "could", "will", "would", "can't", "won't", "wouldn't", "couldn't"):
        return "modal"
    lemmas = _pos(w)
    verbs = lemmas.get("VERB", ()) + lemmas.get("AUX", ())
    for lemma in verbs:
        forms = _lemmas().getAllInflections(lemma, upos="VERB")
        if w in forms.get("VBZ", ()):
            return "3sg"
        if w in forms.get("VBD", ()):
            return "past"
    return ""


def _to_you(word: str) -> str:
    """The verb that follows "you" in place of a third person's ("sends" -> "send", "was" -> "were")."""
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if _verb_form(w) == "3sg":
        lemma = _lemmas().getLemma(w, upos="VERB")
        if lemma:
            return lemma[0]
    return word


# -- tokens --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Tok:
    lead: str  # punctuation before the word ("“")
    word: str
    tail: str  # punctuation after ("," ".")
    quoted: bool = False  # inside quotation marks: the note's own quote, never changed

    @property
    def low(self) -> str:
        return self.word.lower()

    def text(self) -> str:
        return self.lead + self.word + self.tail


_TOKEN = re.compile(r"^([\"“”‘(\[]*)(.*?)([\"“”’.,;:!?)\]]*)$")


def _tokens(text: str) -> list[_Tok]:
    out = []
    inside = False
    for raw in text.replace("’", "'").split():
        m = _TOKEN.match(raw)
        assert m is not None
        lead, word, tail = m.groups()
        if not word:
            word, lead, tail = lead + tail, "", ""
        opens = any(q in lead for q in _QUOTES)
        out.append(_Tok(lead, word, tail, quoted=inside or opens))
        if opens:
            inside = True
        if any(q in tail for q in _QUOTES) or (opens and any(q in word[-1:] for q in _QUOTES)):
            inside = False
    return out


def _join(toks: list[_Tok]) -> str:
    return " ".join(t.text() for t in toks)


# -- turning a note to address them -------------------------------------------------------------


_THEY = frozenset({"they", "they're", "they've", "they'd", "they'll"})
_THEM = frozenset({"them", "their", "theirs", "themselves", "themself"})


# Someone of mine a note may name: "always asks after my mum and her hip" is about my mum's hip.
_MY_PEOPLE = frozenset(
    """
mum mom mother mam dad father wife husband partner son daughter sister brother kid kids child children boss
girlfriend boyfriend fiance fiancee fiancé fiancée grandma grandpa gran granny nan grandmother grandfather aunt
uncle cousin niece nephew friend stepson stepdaughter stepmum stepdad
""".split()
)
_PRONOUNS = frozenset({*_SUBJECTS, *_OBJECTS, "her"})


def _someone_else_then_a_pronoun(toks: list[_Tok], names: frozenset[str]) -> bool:
    """Does a he/she/her/they follow the mention of someone else ("Marj's knee and saves her a chair",
    "my mum and her hip", "introduced me to Marta and she hired me")? Then who is who cannot be told."""
    other = False
    lows = [t.low for t in toks]
    for i, t in enumerate(toks):
        if t.quoted:
            continue
        low = t.low
        if other and low in _PRONOUNS:
            return True
        base = re.sub(r"['’]s$", "", low)
        named = i > 0 and t.word[:1].isupper() and not t.word.isupper() and base not in names
        # "makes khoa laugh till he cries": a name typed in lower case, right after a verb, is someone too
        typed_low = i > 0 and base.isalpha() and len(base) > 2 and base not in names and not _is_known(base) and (
            _verb_form(lows[i - 1]) in ("3sg", "past") or lows[i - 1] in _TO_A_PERSON)
        # A name is a person's where it owns something ("Marj's knee"), keeps company ("with Sam",
        # "and Priya") or is who I was introduced to; "in Cornwall", "the Brightwell launch" are not.
        before = lows[max(0, i - 3) : i]
        person = base != low or before[-1:] in (["with"], ["and"], ["&"]) or (
            before[-2:] in (["me", "to"], ["us", "to"]) and before[0].startswith("introduc"))
        if (named and person or typed_low) and not _CALENDAR_WORDS.fullmatch(base):
            other = True
        if low == "my" and i + 1 < len(toks) and re.sub(r"['’]s$", "", toks[i + 1].low) in _MY_PEOPLE:
            other = True
    return False


def _address_them(toks: list[_Tok], names: frozenset[str]) -> list[_Tok] | None:
    """The note with every he/she/they/him/his/her/their turned to you/your, verbs agreeing.

    None when a pronoun cannot be turned with confidence ("it" standing for them, a name
    other than theirs as the subject of a clause is fine and left alone).
    """
    # "lends me books and never asks for them back": "them" after a plural noun is the things
    things = {i for i, t in enumerate(toks) if t.low == "them" and any(_is_plural_noun(p.low) for p in toks[1:i])}
    lows = [t.low for i, t in enumerate(toks) if not t.quoted and i not in things]
    if re.search(r"\bthey (?:all|both)\b|\b(?:all|both) of them\b", " ".join(lows)):
        return None  # "when they all wanted a head": others, not the person
    if any(w in _THEM for w in lows) and not (any(w in _THEY for w in lows) or lows[:1] == ["their"]):
        return None  # "asks after them": who is "them"?
    out: list[_Tok] = []
    for i in range(len(toks)):
        t = toks[i]
        if t.quoted:
            out.append(t)
            continue
        low = t.low
        nxt = toks[i + 1].low if i + 1 < len(toks) else ""
        if low in _SUBJECTS or (i == 0 and low in names):
            base, _, suffix = low.partition("'")
            contracted = "'" + suffix if suffix else ""
            if contracted == "'s":
                contracted = "'ve" if nxt in ("been", "got", "gotten", "done", "had") else "'re"
            word = "you" + contracted
            out.append(_Tok(t.lead, _match_case(word, t.word) if i else word, t.tail))
            if not contracted:
                rest = _agree(toks[i + 1 :], 0)
                toks = [*toks[: i + 1], *rest]
            continue
        if i in things:
            out.append(t)
            continue
        if low == "his" and (t.tail.strip() or not nxt or nxt in _FUNCTION):  # "as his." -> "as yours."
            out.append(_Tok(t.lead, _match_case("yours", t.word), t.tail))
            continue
        if low in _OBJECTS:
            out.append(_Tok(t.lead, _match_case(_OBJECTS[low], t.word), t.tail))
            continue
        if low == "her":
            prev = toks[i - 1].low if i else ""
            mine = any(x.low in _FIRST_PERSON for x in toks[:i])
            thing = "NOUN" in _pos(nxt) or "ADJ" in _pos(nxt) or _is_plural_noun(nxt)
            owned = bool(nxt) and not t.tail.strip() and (nxt == "own" or (nxt not in _HER_OBJECT_BEFORE and thing))
            if prev in _TO_A_PERSON and (mine or not owned):
                # "I still owe her dinner": she is the one owed. But "(she) always sends her drafts
                # early": with no I or we, the one sending is her, and the drafts are hers.
                out.append(_Tok(t.lead, _match_case("you", t.word), t.tail))
                continue
            ends_clause = bool(t.tail.strip("'\"”")) or not nxt
            verb_next = (
                _verb_form(nxt) in ("past", "3sg", "modal") and "NOUN" not in _pos(nxt) and "ADJ" not in _pos(nxt)
            )
            obj = (ends_clause or nxt in _HER_OBJECT_BEFORE or verb_next) and not (owned and nxt == "own")
            out.append(_Tok(t.lead, _match_case("you" if obj else "your", t.word), t.tail))
            continue
        if low in ("it's", "its") and i == 0:
            return None
        out.append(t)
    return out


def _match_case(word: str, like: str) -> str:
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def _lower_first(toks: list[_Tok]) -> list[_Tok]:
    """ "Brings snacks" -> "brings snacks"; "VP", "Porto" and "I" keep their capitals."""
    if not toks:
        return toks
    first = toks[0]
    w = first.word
    if w[:1].isupper() and w[1:] == w[1:].lower() and w != "I" and not w.startswith("I'") and _is_known(w):
        toks = [_Tok(first.lead, w[:1].lower() + w[1:], first.tail, first.quoted), *toks[1:]]
    return toks


def _sentence(text: str) -> str:
    text = text.strip().rstrip(",;:")
    if not text:
        return ""
    text = text[:1].upper() + text[1:]
    return text if text[-1] in '.!?"”' else text + "."


def _strip_end(text: str) -> str:
    return text.strip().rstrip(".!").strip()


# -- shapes ----------------------------------------------------------------------------------------


def _has_praise(toks: list[_Tok]) -> bool:
    for t in toks:
        low = t.low.split("'")[0]
        if low in _PRAISE_WORDS or "no one" in _join(toks).lower():
            return True
        if _is_superlative(low):
            return True
    return False


def _is_superlative(word: str) -> bool:
    """ "best", "kindest", "toughest": an adjective's -est form (not "honest", whose lemma is itself)."""
    pos = _pos(word)
    return word.endswith("est") and "ADJ" in pos and pos["ADJ"][0] != word


def _is_fact(text: str) -> bool:
    return bool(_FACT_RE.search(text) or _DIGIT.search(text))


def _head(toks: list[_Tok]) -> tuple[int, str]:
    """The noun a determiner's phrase is about: the first word that is not an adjective or adverb."""
    for i, t in enumerate(toks):
        low = t.low
        pos = _pos(low)
        if low in _FUNCTION and low not in ("one",):
            return i, ""
        if ("NOUN" in pos or low in _PERSON_NOUNS or low in _EVENT_NOUNS) and (
            "ADJ" not in pos or low in _PERSON_NOUNS or low in _EVENT_NOUNS
        ):
            # A compound names its last noun: a "project manager" is a manager, a "site engineer" an engineer.
            while not toks[i].tail and i + 1 < len(toks) and toks[i + 1].low not in _FUNCTION and (
                toks[i + 1].low in _PERSON_NOUNS or toks[i + 1].low in _EVENT_NOUNS
            ):
                i += 1
            return i, toks[i].low
        if t.tail:  # "the kindest," ends here
            return i, low
    return len(toks), ""


def _praise_noun_past(rest: str) -> bool:
    """ "the best manager I ever had" was; "a natural teacher" and "the person who got me into open source" are."""
    low = rest.lower()
    if re.search(r"\bwho\b", low):
        return False
    if re.search(r"\b(?:ever had|i had|i've had|i ever worked|i worked|we had|back then|at the time)\b", low):
        return True
    superlative = any(w.endswith("est") or w in ("best", "most") for w in low.split())
    return superlative and re.search(r"\b(?:on the|in the|at)\b", low) is not None


# Verbs as they follow "you" after agreement ("you have", "you don't"), which _verb_form calls base forms.
_BASE_VERBS = frozenset("have do don't haven't send know get make take give".split())


def _read_clause(toks: list[_Tok], text: str, shape: str, was_past: bool | None = None) -> ReadNote:
    """A clause about them, already turned to "you ...": an action, a quality or what they are to me."""
    verb_i = 1
    while verb_i < len(toks) and toks[verb_i].low in _ADVERBS:
        verb_i += 1
    subject = toks[0].low
    verb = toks[verb_i].low if verb_i < len(toks) else ""
    clause = _strip_end(_join(toks))
    rest = toks[verb_i + 1 :]
    copula = subject == "you're" or verb in ("are", "were", "aren't", "weren't")
    past = verb in ("were", "weren't") or _verb_form(verb) == "past" if was_past is None else was_past
    if not past:  # "you cover my studio ... and never once complained": "and have never once complained"
        clause = _NEVER_SINCE.sub(r" and have never \1\2", clause)
    clause = _SPLICE.sub(r" — \1", clause)  # "feedback in 2022, it got me the job": a dash, not a comma splice
    if re.search(r"\byou \w+ you\b", clause) and not copula:
        return _unreadable(text, "circleback could not tell who is who in it ('you ... you')")
    if copula:
        after = rest if subject != "you're" else toks[1:]
        adverbs = [t for t in after[:2] if t.low in _INTENSIFIERS]
        words = after[len(adverbs) :]
        if words and words[0].low in ("a", "an", "the") and len(words) > 1:
            i, head = _head(words[1:])
            if words[1].low in ("first", "last", "only", "one"):
                return ReadNote(text, shape, how="how " + clause, past=past)
            if head in _PERSON_NOUNS and _has_praise(words) or head in _PERSON_NOUNS and i > 0:
                return _praise_noun(text, _strip_end(_join(words)), PRAISE_NOUN if shape != ADDRESSED else shape)
            return ReadNote(text, shape, sentence=_sentence(clause), past=past)
        if words and words[0].low in _PRAISE_ADJECTIVES and verb not in ("aren't", "weren't"):
            return _adjective(text, words, shape)
        if words and "ADJ" in _pos(words[0].low) and _has_praise(words[1:]):
            return ReadNote(text, shape, how="how " + clause, sentence=_sentence(clause), past=past)
        return _unreadable(text, "it says what they are in a way circleback cannot carry into a sentence")
    if not _verb_form(verb) and verb not in _BASE_VERBS and not _verb_form(_lemma_3sg(verb)):
        return _unreadable(text, "circleback could not find what they did in it")
    if " how " in f" {clause} ":  # "how you taught me how to say no" trips over itself
        if past and subject == "you" and _HELPED.search(clause):  # "showed me how to read a camel's mood"
            return ReadNote(text, shape, sentence=_sentence("I'm still grateful " + clause), past=past)
        return ReadNote(text, shape, sentence=_sentence(clause), past=past)
    return ReadNote(text, shape, how="how " + clause, sentence=_sentence(clause), past=past)


# What follows a verb, not a noun: "and keeps them", "and cooks the", "and drives us".
_ALWAYS_STATE = frozenset("up there ready happy game keen around first the".split())
_NETWORK = re.compile(r"(?i)^(?:\w+ )?knows? (?:every(?:one|body)?|all the|half of|anyone|anybody)\b")
_OBJECT_STARTS = frozenset("the a an them it me us my our his her their every each all everyone up out".split())


def _agree(toks: list[_Tok], start: int) -> list[_Tok]:
    """Turn the verb at ``start`` (after adverbs) and each verb joined to it by "and" to follow "you".

    "carries a notebook everywhere and actually reads it back" -> "carry ... and actually read it
    back". After "and", a word that is also a noun ("and records") is turned only behind an
    adverb, where it can only be a verb.
    """
    out = list(toks)
    i = start
    while i < len(out) and out[i].low in _ADVERBS:
        i += 1
    if i < len(out):
        out[i] = _Tok(out[i].lead, _to_you(out[i].word), out[i].tail, out[i].quoted)
    listed: int | None = None  # the comma before the last verb of a list ("lends …, clears …")
    k = -1
    for j in range(i + 1, len(out) - 1):
        comma = out[j].tail == "," and not out[j].quoted  # "always brings the oranges, always knows ..."
        if (out[j].low not in ("and", "then", "but", "or") or out[j].quoted) and not comma:
            continue
        k = j + 1
        while k < len(out) and (out[k].low in _ADVERBS or out[k].low == "then"):  # "first, then helps"
            k += 1
        takes = k + 1 < len(out) and out[k + 1].low in _OBJECT_STARTS  # "and keeps them in a binder": a verb
        if k < len(out) and _verb_form(out[k].low) == "3sg" and (k > j + 1 or "NOUN" not in _pos(out[k].low) or takes):
            out[k] = _Tok(out[k].lead, _to_you(out[k].word), out[k].tail, out[k].quoted)
            if comma and out[j + 1].low != "then":  # "first, then helps" is joined already
                listed = j
    lows = [t.low for t in out]
    if listed is not None and "and" not in lows[listed:]:
        # "lends me his trailer, clears my drive before I'm up": "lend me your trailer and clear my drive"
        out[listed] = _Tok(out[listed].lead, out[listed].word, "", out[listed].quoted)
        out.insert(listed + 1, _Tok("", "and", ""))
    return out


def _lemma_3sg(word: str) -> str:
    forms = _lemmas().getAllInflections(word, upos="VERB") if word else {}
    return (forms.get("VBZ") or ("",))[0]


def _adjective(text: str, toks: list[_Tok], shape: str = ADJECTIVE) -> ReadNote:
    """ "generous with her time" -> "how generous you are with your time"; "patient and precise"."""
    words = list(toks)
    while words and words[0].low in _INTENSIFIERS:
        words = words[1:]
    adjs: list[_Tok] = []
    i = 0
    while i < len(words):
        low = words[i].low
        if low in _PRAISE_ADJECTIVES or (adjs and adjs[-1].low in ("and", "or") and "ADJ" in _pos(low)):
            adjs.append(words[i])
            i += 1
            if words[i - 1].tail == ",":
                continue
            if (
                i < len(words)
                and words[i].low in ("and", "or")
                and i + 1 < len(words)
                and "ADJ" in _pos(words[i + 1].low)
            ):
                adjs.append(words[i])
                i += 1
                continue
            break
        break
    if not adjs:
        return _unreadable(text, "circleback does not know whether that describes them as praise")
    rest = words[i:]
    if rest and (rest[0].low in ("and", "but", "or") or adjs[-1].tail.startswith(",")):
        return _unreadable(text, "circleback could not put that list of qualities into one sentence")
    if rest and not (rest[0].low in _FUNCTION or rest[0].low.endswith("ing")):
        return _unreadable(text, "circleback could not read where the description ends")
    quality = _strip_end(" ".join(_Tok(t.lead, t.word, t.tail.rstrip(",")).text() for t in adjs))
    tail = _strip_end(_join(rest))
    how = f"how {quality} you are" + (f" {tail}" if tail else "")
    return ReadNote(text, shape, how=how)


def _unreadable(text: str, why: str, suggestion: str = "") -> ReadNote:
    return ReadNote(
        text,
        UNREADABLE,
        reason=why,
        suggestion=suggestion or "write what you value in them, e.g. 'always asks the question nobody else thought of'",
    )


# Callings _is_role's endings miss: "our parish priest", "our family doctor".
_CALLINGS = frozenset("priest pastor vicar imam rabbi doctor nurse midwife chef cook nanny tailor barber".split())


def _memory(text: str, toks: list[_Tok]) -> ReadNote | None:
    """ "our road trip to Big Sur", "the night we debugged the payments outage", "The workshop in Porto"."""
    det = toks[0].low
    i, head = _head(toks[1:])
    # "the patch 1.3 riot night she stayed up till 4am", "the county final comeback, 3 points down"
    for k in range(2, min(6, len(toks))):
        if head in _EVENT_NOUNS or any(t.tail for t in toks[:k]):
            break
        ends = toks[k].tail.startswith(",") or k + 1 == len(toks)
        if toks[k].low in _EVENT_NOUNS and (ends or toks[k + 1].low in ("you", "we", "I", "i", "when")):
            i, head = k - 1, toks[k].low
    if head not in _EVENT_NOUNS and det != "our":
        return None
    if det == "our" and head not in _EVENT_NOUNS and any(
        _is_role(t.low) or t.low in _PERSON_NOUNS or t.low in _CALLINGS for t in toks[1 : i + 3]
    ):  # "our kicker 2011", "our parish priest sa tarlac": who they are
        return _fact(text)
    # A verb straight after the phrase makes it a clause ("our kids are the same age"), not a moment.
    after = toks[1 + i + 1 :]
    verb_after = after and (_verb_form(after[0].low) in ("3sg", "past") or after[0].low in ("are", "were"))
    if verb_after and (det != "our" or after[0].low in ("are", "is", "were", "was")):
        return None
    phrase = _strip_end(_join(_lower_first(toks)))
    return ReadNote(text, MEMORY, phrase=phrase)


def _possessive(text: str, toks: list[_Tok]) -> ReadNote:
    """ "your sourdough" as it is; "your advice on pricing changed how I run the studio" as a sentence."""
    for t, nxt in zip(toks, toks[1:], strict=False):
        pos = _pos(nxt.low)
        if t.low.endswith("'s") and ("ADJ" in pos and "NOUN" not in pos or nxt.low in ("been", "got", "not")):
            return _unreadable(text, "circleback could not tell whose it is ('mum's poorly': is, not has)")
    for j, t in enumerate(toks[1:], start=1):
        if t.low in ("when", "while", "because", "that", "who", "which", "where", "after", "before", "since", "if"):
            break
        if t.low in ("is", "was", "has", "are", "were", "have") and j > 1:
            return ReadNote(text, POSSESSIVE, sentence=_sentence(_join(toks)), past=t.low in ("was", "were"))
        if t.low in _FUNCTION and t.low not in (
            "of",
            "on",
            "from",
            "in",
            "during",
            "when",
            "about",
            "for",
            "at",
            "with",
            "to",
            "the",
            "a",
            "an",
            "my",
            "our",
            "your",
        ):
            break
        if _verb_form(t.low) in ("3sg", "past") and "NOUN" not in _pos(t.low) and j > 1:
            return ReadNote(text, POSSESSIVE, sentence=_sentence(_join(toks)), past=_verb_form(t.low) == "past")
        head = _pos(toks[j - 1].low)
        if j == 2 and _verb_form(t.low) == "3sg" and len(toks) > 3 and "NOUN" in head and "ADJ" not in head:
            # "his band plays club FF in hongdae"; not "his terrible puns at every family dinner"
            return _unreadable(text, "it says what a thing of theirs does: circleback cannot tell it from a name")
        if _verb_form(t.low) == "past" and j > 1 and t.low.endswith("ed") and "ADJ" not in _pos(t.low):
            return ReadNote(text, POSSESSIVE, sentence=_sentence(_join(toks)), past=True)
    if len(toks) < 2 or not any(c.isalpha() for c in toks[1].word):
        return _unreadable(text, "it names nothing of theirs")
    if any(t.low.strip(",.") in _PERSONAL_TRAITS for t in toks[1:3]):
        return _unreadable(text, "said back to them ('I still think about your laugh') it reads like a eulogy")
    return ReadNote(text, POSSESSIVE, phrase=_strip_end(_join(_lower_first(toks))))


_OWED_THANKS = re.compile(r"(?i)^I (?:still )?owe you (?:a |an )?(?:proper |big |huge )?thank(?:s|-you| you) (for .+)$")


def _first_person(text: str, toks: list[_Tok]) -> ReadNote:
    clause = _strip_end(_join(toks))
    owed = _OWED_THANKS.match(clause)
    if owed:  # a note to self to say thanks: the note says it
        return ReadNote(text, FIRST_PERSON, sentence=f"I never properly thanked you {owed.group(1)}, so: thank you.")
    if re.search(r"\bfor (?:\d+|many|ten|twenty|\w+ty) (?:years|yrs|months)\b", clause, re.I):
        return _fact(text)  # "we ran the camp together for 11 years": history, not a moment
    if toks[0].low == "we" and len(toks) > 1 and _verb_form(toks[1].low) == "past" and toks[1].low != "had":
        return ReadNote(text, FIRST_PERSON, phrase="when " + clause[:1].lower() + clause[1:], past=True)
    ours = toks[0].low in ("we", "we've", "we'd", "we'll")  # "We still haven't done that climbing trip"
    if not (ours or re.search(r"(?i)\byou(?:r|rs|rself|'re|'ve|'d|'ll)?\b", clause)):
        # "we're 2 payments behind": the user's own state, nothing of them; said to them it is a leak
        return _unreadable(text, "it says something of yours, not of them")
    return ReadNote(text, FIRST_PERSON, sentence=_sentence(clause))


def _past_after_you(toks: list[_Tok]) -> bool:
    """ "how you taught me ..." is about something done; "how you always ask ..." is not."""
    lows = [t.low for t in toks]
    if "you" not in lows:
        return False
    i = lows.index("you") + 1
    while i < len(lows) and lows[i] in _ADVERBS:
        i += 1
    if i >= len(lows):
        return False
    word = lows[i]
    return word == "were" or (_verb_form(word) == "past" and word not in _lemmas().getLemma(word, upos="VERB"))


def _part(text: str, names: frozenset[str], whole: str | None = None) -> ReadNote:
    """One sentence of a note; a trailing one-word aside (", rare", ", kindly") is left out."""
    text = re.sub(r",\s*[A-Za-z]+[.!]*$", "", text) if re.search(r"\s\S+\s", text) else text
    toks = _lower_first(_tokens(text))
    if not toks:
        return NO_NOTE
    first = toks[0].low
    if first == "best" and len(toks) > 1 and toks[1].low in ("friend", "mate", "man", "buddy", "pal", "friends"):
        return _fact(text)  # "best friend from kaist" says who they are, not "the best friend from kaist"
    if first in ("bff", "bestie"):
        return _fact(text)
    if len(toks) > 2 and _is_superlative(first):  # "Toughest kid I ever coached": "the toughest kid ..."
        return _part("the " + text[:1].lower() + text[1:], names, whole)
    lows = [t.low for t in toks[:5]]
    if (first == "how" and ("you" in lows or "you're" in lows)) or lows[:3] in (
        ["the", "way", "you"],
        ["the", "way", "that"],
    ):
        how = _strip_end(_join(toks))
        if first == "how" and " how " in how[3:]:
            return _read_clause(toks[1:], text, ADDRESSED, _past_after_you(toks))
        return ReadNote(text, ADDRESSED, how=how, past=_past_after_you(toks))
    if first in ("you", "you're", "you've", "you'd"):
        return _read_clause(toks, text, ADDRESSED)
    if first == "your":
        read = _possessive(text, toks)
        return ReadNote(text, ADDRESSED, phrase=read.phrase, sentence=read.sentence, past=read.past)
    told = re.search(r"(?i)\b(?:taught|told|showed|reminded|teaches|tells|shows|reminds) me (?:that )?\b", text)
    lesson = told is not None and not re.search(r"(?i)\byou(?:r|'re)?\b", text[: told.start()])
    generic = [i for i, t in enumerate(toks[1:], start=1) if t.low in ("you", "your", "you're")]
    if generic and not lesson and first not in _FIRST_PERSON and _to_me(toks, generic):
        # "always asks the hard question first, then helps you answer it": the you is anyone, me among them
        toks = _to_me(toks, generic)
    elif generic and not lesson and first not in _FIRST_PERSON:
        return _unreadable(text, "it says 'you' of someone in general: turned to them it would say 'you' twice",
                           "say it to them in your own words, under `say`")
    if _INVERTED_ASIDE.search(text):  # "Organises everything, thanks nobody ever says"
        return _unreadable(text, "it ends in an aside circleback cannot carry into the same sentence")
    if _someone_else_then_a_pronoun(toks, names):
        return _unreadable(text, "it names someone else and then says he, she or they: circleback cannot tell who "
                           "is who", "say it to them in your own words, under `say`")
    turned = _address_them(toks, names)
    praise_elsewhere = turned is not None and whole is not None and _has_praise(_tokens(whole))
    if turned is None:
        return _unreadable(text, "circleback could not tell who 'it' or 'them' is")
    body = _join(turned)
    if first in _FIRST_PERSON:
        if re.search(
            r"\b(?:met|meet|worked together|work together|know each other|went to|introduced|used to"
            r"|wife|husband|kids?|children|son|daughter|baby|married)\b",
            body.lower(),
        ):
            return _fact(text)
        return _first_person(text, turned)
    if first in _SUBJECTS or first in names:
        marked = _PRAISE_MARKS.search(body) is not None or _FEAT.search(body) is not None  # "ran the whole clinic"
        if _is_fact(body) and not (_has_praise(turned[1:]) or marked):
            return _fact(text)
        if not (_has_praise(turned) or marked):
            return _fact(text)
        k = 1
        while k < len(toks) and toks[k].low in _ADVERBS:
            k += 1
        said = toks[k].low if k < len(toks) and "'" not in first else ""
        return _read_clause(turned, text, PRONOUN_CLAUSE, _verb_form(said) == "past" or said == "was")
    if first in ("his", "her", "their"):
        noun = turned[1].low if len(turned) > 1 else ""
        if turned[0].low != "your" or noun in _FUNCTION:
            return _unreadable(text, "circleback could not tell what of theirs it names")
        if noun in _THEIR_LIFE or re.search(r"\b(?:now|ex-\w+|former)\b", body):
            return _fact(text)
        return _possessive(text, turned)
    the_one = _THE_ONE.match(body)
    if the_one and (the_one.group(1) or the_one.group(2)):  # "the one who told me …" is a deed, read below
        return _the_one(text, the_one)
    if first in ("our", "that", "the", "a", "an", "one"):
        return _noun_phrase(text, turned)
    j = 0
    while j < len(turned) and turned[j].low in _ADVERBS:
        j += 1
    is_verb = j < len(turned) and _verb_form(turned[j].low) in ("3sg", "past", "modal")
    if first == "always" and len(turned) > 2 and turned[1].low in _ALWAYS_STATE:  # "always up for a pint"
        return ReadNote(text, VERB_PHRASE, how="how you're " + _strip_end(_join(turned)))
    doing = 0 < j < len(turned) and turned[j].low.endswith("ing") and "VERB" in _pos(turned[j].low)
    if doing and turned[0].low in ("always", "forever", "constantly") and _has_praise(turned[j:]):
        # "always praying for me, even for my deadlines": what they are always doing
        return ReadNote(text, VERB_PHRASE, how="how you're " + _strip_end(_join(turned)))
    superlative = first in ("best", "kindest", "smartest", "funniest", "wisest", "nicest", "sharpest", "finest")
    if not is_verb and (first in _PRAISE_ADJECTIVES or superlative):
        i, head = _head(turned)
        if head in _PERSON_NOUNS and i > 0:
            article = "the" if superlative else "an" if first[:1] in "aeiou" else "a"
            return _praise_noun(text, f"{article} {_strip_end(_join(turned))}")
    if not is_verb and (first in _PRAISE_ADJECTIVES or (first in _INTENSIFIERS and len(turned) > 1)):
        return _adjective(text, turned)
    if is_verb:
        # "caught the bug 2 days before cert": a deed for me, numbers and all
        deed = _verb_form(turned[j].low) == "past" and _HELPED.search(body) is not None
        feat = _FEAT.search(body) is not None  # "drove 2h in a snowstorm to bring tomatoes"
        marked = _PRAISE_MARKS.search(body) is not None  # "redid half the facades after aug 4 for free"
        if _is_fact(body) and not _has_praise(turned[j + 1 :] if j else turned) and not (deed or feat or marked):
            return _fact(text)
        if not (_has_praise(turned) or praise_elsewhere or deed or marked or feat):
            return _fact(text)
        if _NETWORK.search(body):  # "knows everyone in cold chain logistics": what they can do for me
            return _fact(text)
        was_past = _verb_form(turned[j].low) == "past"
        return _read_clause([_Tok("", "you", ""), *_agree(turned, 0)], text, VERB_PHRASE, was_past)
    if _is_fact(body) or turned[0].word[:1].isupper() or "," in body:
        return _fact(text)
    return _unreadable(text, "circleback could not tell what the note says about them")


def _to_me(toks: list[_Tok], at: list[int]) -> list[_Tok] | None:
    """A note's "you" of anyone, said of what they do for people ("helps you answer it", "makes you
    feel heard"), turned to "me"; None when a "you" is not the object of what they do.

    Only in a note about what they do (it starts with a verb or an adverb): the user is one of the
    people it speaks of, so "then help me answer it" says the same to them.
    """
    j = 0
    while j < len(toks) and toks[j].low in _ADVERBS:
        j += 1
    if j >= len(toks) or _verb_form(toks[j].low) not in ("3sg", "past"):
        return None
    out = list(toks)
    for i in at:
        before = toks[i - 1].low
        if toks[i].low == "you" and (_verb_form(before) in ("3sg", "past", "modal") or before in _TO_A_PERSON):
            out[i] = _Tok(toks[i].lead, "me", toks[i].tail, toks[i].quoted)
        else:
            return None
    return out


_THE_ONE = re.compile(r"(?i)^(always |still )?(?:the|a) (only |first )?one who (\w+) (.+)$")


def _the_one(text: str, m: re.Match[str]) -> ReadNote:
    """ "always the one who organizes the group dinners" -> "how you're always the one who organizes …";
    "the only one who could make the anatomy viva funny" -> "You were the only one who could …"."""
    always, only, verb, rest = (m.group(1) or "").lower(), (m.group(2) or "").lower(), m.group(3), m.group(4)
    form = _verb_form(verb)
    said = f"the {only}one who {verb} {_strip_end(rest)}"
    if form == "3sg":
        return ReadNote(text, VERB_PHRASE, how=f"how you're {always}{said}")
    if form in ("past", "modal") and not always:
        return ReadNote(text, VERB_PHRASE, sentence=_sentence(f"You were {said}"), past=True)
    return _unreadable(text, "circleback could not carry 'the one who ...' into a sentence")


def _praise_noun(text: str, noun: str, shape: str = PRAISE_NOUN) -> ReadNote:
    """ "a natural teacher" -> "I've always thought of you as a natural teacher"; never with a clause hanging off.

    A bare trait ("a thoughtful person", "an incredibly generous person") is refused: said back, it is
    the emptiest compliment there is. What they did is the note.
    """
    words = noun.lower().split()
    if words[-1] in ("person", "human", "soul", "guy", "man", "woman", "one") and len(words) <= 4:
        return _unreadable(text, "it says what they are like, not what they did: said back it is an empty compliment",
                           "write what they did: 'shares every gig he can't take', 'always asks how I am'")
    if "," in noun or " - " in noun:
        return _unreadable(text, "circleback could not put what follows the description into the same sentence")
    one = re.match(r"(?i)(?:the|a) one who (\w+)(.*)$", noun)
    if one:  # "the one who told me to stop apologising": a deed, not a title
        if _verb_form(one.group(1)) != "past":
            return _unreadable(text, "circleback could not carry 'the one who ...' into a sentence")
        return ReadNote(text, shape, how=f"how you {one.group(1)}{one.group(2)}", past=True)
    return ReadNote(text, shape, noun=noun, past=_praise_noun_past(noun))


def _noun_phrase(text: str, toks: list[_Tok]) -> ReadNote:
    memory = _memory(text, toks)
    if memory is not None:
        return memory
    if toks[0].low == "our":
        return _unreadable(text, "circleback could not read it as a moment you shared")
    i, head = _head(toks[1:])
    if head in _PERSON_NOUNS or (toks[0].low == "one" and len(toks) > 2 and toks[1].low == "of"):
        noun = _strip_end(_join(toks))
        if not _has_praise(toks) and i == 0 and "who" not in noun.lower().split():
            return _fact(text)
        if _FACT_RE.search(noun) and not _has_praise(toks[1:]):
            return _fact(text)
        return _praise_noun(text, noun)
    if _is_fact(text):
        return _fact(text)
    return _unreadable(text, "circleback could not tell whether it describes them or something of theirs")


def _fact(text: str) -> ReadNote:
    return ReadNote(
        text,
        FACT,
        reason="a fact about them (role, history, family, where you met): context, never quoted",
        suggestion="keep it as it is for your own memory; what you value in them is quoted when it stands as a part "
        "of its own ('always asks the question nobody else thought of'), or say it your way under `say`",
    )


def _is_english(text: str) -> bool:
    words = re.findall(r"[^\W\d_](?:[^\W\d_]|['-](?=[^\W\d_]))*", text.replace("’", "'"))
    if not words:
        return False
    lower = [w for w in words if not w[:1].isupper()] or words  # names and titles tell nothing
    if len(lower) < 3:
        return True  # "top bloke", "their zines": too few words to call it another language
    known = sum(_is_known(w.removesuffix("n't").removesuffix("'s").removesuffix("'t")) for w in lower)
    return known * 2 >= len(lower)  # "his pierogi every christmas": half known is English enough


# A reminder to oneself: "ask about the intro", "TODO give back his guidebook", "chase the invoice".
_TO_SELF = re.compile(
    r"(?i)^(?:todo|to do|tbd|ask (?:him|her|them|about)|send (?:him|her|them)\b|chase|remind|remember to|follow up"
    r"|call (?:him|her|them)|check (?:in|on|if|whether)|get back|return|give back|don'?t forget|must|need to|should)\b"
)

# A gripe or a tease the user keeps for themselves: never "I've always appreciated how you pay late".
_GRIPE = re.compile(
    r"(?i)\b(?:cheats?|cheated|cheating|late (?:payer|with)|days late|pays? late|never pays|chase (?:him|her|them)"
    r"|chasing (?:him|her|them)|complains?|moans?|whinges?|whines?|gossips?|lazy|rude|annoying|flaky|unreliable"
    r"|drives me (?:mad|nuts|crazy|up the wall)|pain in the|can'?t stand|liar"
    r"|cancels? (?:last|at the last)|always late|never on time|ghost(?:s|ed)|stingy|tight[- ]fisted|snob"
    r"|arrogant|a nightmare|passive[- ]aggressive|everybody knows it|don'?t trust"
    r"|shorted|short-?changed|overcharged?|ripped (?:us|me) off|stiffed|still arguing|arguing about|in dispute"
    r"|owes (?:us|me)|never paid|(?:stopped|scrapped|cancelled|canceled|undid|reversed|binned) my"
    r"|as (?:his|her|their) own|as (?:his|hers|theirs)(?=[.,;!]|$)|took (?:the )?credit|stole (?:my|the credit)"
    r"|smile and nod|and it showed|never (?:comes|shows|turns up|arrives|delivers|calls back)|kezzeb|mentiroso)\b"
)


# What someone did for the user: a deed worth saying back as a second sentence ("helped me rethink pricing").
_HELPED = re.compile(
    r"(?i)\b(?:taught|helped|pushed|saved|backed|showed|introduced|encouraged|championed|covered|vouched|"
    r"stood up|got me|gave me|talked me|believed|caught|spotted|rescued|took a chance|fought for|stepped in|stood by"
    r"|drove me|translated|fought|wrote me|paced me|looked after|made me|lent me|lends me|led us"
    r"|blessed (?:me|my|us|our|the)|to (?:get|help|bring|show|teach|feed|find) (?:me|us)"
    r"|told me (?:that )?['\"‘“])"
)

# Shorthand people type in notes, spelt out before reading ("w/o burning bridges").
_SHORTHAND = {
    "w/o": "without", "w/": "with", "b/c": "because", "tho": "though", "thru": "through", "wkend": "weekend",
    "wknd": "weekend", "abt": "about", "ppl": "people", "yr": "year", "yrs": "years", "mgr": "manager",
    "&": "and", "+": "and", "thx": "thanks", "bc": "because", "esp": "especially", "govt": "government",
}
_SHORTHAND_RE = re.compile(r"(?<![\w/])(" + "|".join(re.escape(k) for k in _SHORTHAND) + r")(?![\w/])", re.I)


_MONTHS = {m[:3].lower(): m for m in ("January", "February", "March", "April", "May", "June", "July", "August",
                                      "September", "October", "November", "December")}
_MONTH_SHORT = re.compile(
    r"(?i)\b(last|this|next|in|since|early|late|mid|until|till|from|by|of|each|every) "
    r"(jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b"
)
_SPLICE = re.compile(r", ((?:it|that|nobody|no one|everyone|everybody|which) \w+)")
_NEVER_SINCE = re.compile(r"(?:,| and) never (once |ever )?(\w+ed)\b")
_LANGUAGES = re.compile(r"\b(?:" + "|".join(sorted(PROPER_ADJECTIVES)) + r")\b")  # lower case as typed
_LOWER_I = re.compile(r"\bi(?:'m|'ve|'d|'ll)?\b")
_CALENDAR_WORDS = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|april|june|july|august"
    r"|september|october|november|december|christmas|easter|thanksgiving|hanukkah|diwali|ramadan|eid|hogmanay)\b"
)

# Where a note's sentences part: ";", ":", a dash, or a full stop or "!" (not an initial's: "J. Park").
_PARTS = re.compile(r"\s*[;:]\s+|\s+[—–]\s+|\s+-\s+|(?<!\b[A-Z])[.!]+\s+")


# How a deed landed, spliced on with a comma: "her concept art for the sky whale level, whole team teared up".
_REACTION_SPLICE = re.compile(
    r",\s+(?:(the )?((?:whole|entire) [a-z]+ [a-z]+ed\b)|((?:everyone|everybody) [a-z]+ed\b))"
)
_REACTION = re.compile(r"(?i)^(?:the (?:whole|entire) [a-z]+|everyone|everybody) [a-z]+ed\b")
_YEAR_AFTER = re.compile(r",\s*((?:19|20)[0-9]{2})(?=[.!]*(?:\s+[—–-]\s+|[;:.!]\s+|$))")
_DISBELIEF = re.compile(r"(?i),\s*(?:I )?(?:still )?can'?t believe (?:it|that)\b[.!]*(?=\s*$|\.\s)")
_OTHERS_SAID = re.compile(
    r"(?i),?\s+(?:when|after|even though|although|while|because)\s+(?!(?:I|we|you|he|she|they|it)\b)"
    r"(\w+)\s+(?:said|told|asked|refused|objected)\b[^.;:!]*"
)
def _a_name(word: str) -> bool:
    """ "emeka", "Dana": a word English does not know, or one written with a capital; not "everyone"."""
    return word[:1].isupper() or not _is_known(word)


_MOMENT_BEFORE = re.compile(r"(?i)^(?:the|that|our) (?!(?:best|only|first|most)\b)\S+ \S+")
_NOT_SO = re.compile(r"(?<=[a-z]) not (?=(?:on|in|at|by|with|for|from) )")
_AGED = re.compile(r"\b([0-9]{1,2}) (?:year|yr)s? old\b")
_INVERTED_ASIDE = re.compile(r"(?i),\s*\w+ (?:nobody|no one|everyone|everybody|anyone|someone) (?:\w+ )?\w+s\b")
_LESSON = re.compile(r"(?i)\b((?:taught|told|showed|teaches|tells|shows) me) (?=(?:you|we|people|there)\b(?! to\b))")
_APOSTROPHES = {
    w.replace("'", ""): w
    for w in "he's she's they're don't doesn't didn't isn't wasn't aren't weren't hasn't haven't wouldn't couldn't "
    "shouldn't I've I'm".split()
}
_APOSTROPHE = re.compile(r"\b(?:" + "|".join(k for k in _APOSTROPHES if k != "Im") + r"|im(?= [a-z]))\b")
_APOSTROPHES["im"] = "I'm"
_BARE_YEAR = re.compile(r"\b([a-z]+) ((?:19|20)[0-9]{2})\b(?![-–/'])")
_YEAR_LEADS = frozenset("in of since from by until till to and or vs class summer winter spring autumn fall "
                        "early late mid circa c around the a an our my your his her their that this every each".split())
_GOT_IT = re.compile(r"(?i),\s*((?:got|won|made|did|passed|nailed) it)(?=[.;:!]|\s*$)")
_HOW_MANY = re.compile(r",\s*[0-9]+ of (?:them|us)(?=[.;:!]|\s*$)")
_YEAR_MID = re.compile(r"(?<=[a-z]) ((?:19|20)[0-9]{2}),\s+(?=(?:the|a|an|when|our)\b)")
_ASIDE_IN_BRACKETS = re.compile(r"\s*\((?![^)]*\b(?:he|she|they|him|her|them)\b)[^()]{1,60}\)(?=[\s.,;:!]|$)")
_LAUGHTER = re.compile(
    r"(?i)(?:\s+|^)(?:a?ha(?:ha)+|he(?:he)+|lol+|lmao|rofl|xd|ㅋ+|ㅎ+|:\)|:d|;\)|ja(?:ja)+|je(?:je)+|rs(?:rs)+|k{3,}"
    r"|hi(?:hi)+|w{3,}|5{3,})(?=[\s.,!)]|$)"
)
# Emoji: the user's feeling, not words to quote; a run of them parts the note like a dash.
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]+")


def _english_from(raw: str) -> str | None:
    """The English rest of a note that opens in another language ("Tha i cho còir. she drove me ..."), or None.

    Only a short opening (a label, a word of praise in their language) is passed over, and only when
    everything after it is English; a note mostly in another language stays the user's, under `say`.
    """
    if _is_english(raw):
        return None
    parts = [p.strip() for p in _PARTS.split(raw.strip().rstrip(".!")) if p.strip()]
    for i in range(1, len(parts)):
        opening, rest = parts[:i], parts[i:]
        if sum(len(p.split()) for p in opening) > 6 or any(_is_english(p) for p in opening):
            return None
        if all(_is_english(p) and sum(w.islower() and _is_known(w) for w in p.split()) >= 3 for p in rest):
            return ". ".join(rest)
    return None


_TZ_AREAS = ("Africa/", "America/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")


@cache
def _places_named() -> dict[str, str]:
    """Cities as the time zone database names them ("seoul" -> "Seoul", "sao paulo" -> "Sao Paulo").

    The database ships with Python's zoneinfo (or the system's): an offline list of the world's
    larger cities that people type in lower case. A name that is also an English word ("wake",
    "jersey", "manila") is left as typed; with no database, nothing is changed.
    """
    import zoneinfo

    try:
        zones = zoneinfo.available_timezones()
    except Exception:  # noqa: BLE001 - no tz database: names stay as typed
        return {}
    named = {}
    for zone in zones:
        if zone.startswith(_TZ_AREAS):
            city = zone.rpartition("/")[2].replace("_", " ")
            words = city.split()
            if all(w.isalpha() and not w.isupper() for w in words) and not all(_is_known(w.lower()) for w in words):
                named[city.lower()] = city  # "Swift Current", "Knox IN", "Wake": not a name in a note
    return named


@cache
def _places() -> re.Pattern[str]:
    names = sorted(_places_named(), key=len, reverse=True)  # "new york" before "york"
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b") if names else re.compile(r"(?!)")


def read_note(text: str, names: frozenset[str] | set[str] = frozenset()) -> ReadNote:
    """Read a private note about a person; ``names`` are the words of their name ("dana")."""
    raw = re.sub(r"\s+([,.;:!?])", r"\1", " ".join(text.split()))  # "her ," -> "her,"
    raw = _SHORTHAND_RE.sub(lambda m: _SHORTHAND[m.group(1).lower()], raw)
    raw = _CALENDAR_WORDS.sub(lambda m: m.group(0).capitalize(), raw)  # "every sunday" -> "every Sunday"
    raw = _MONTH_SHORT.sub(lambda m: f"{m.group(1)} {_MONTHS[m.group(2).lower()[:3]]}", raw)  # "last jan"
    raw = _APOSTROPHE.sub(lambda m: _APOSTROPHES[m.group(0).lower()], raw)  # "hes way faster" -> "he's"
    raw = _LOWER_I.sub(lambda m: "I" + m.group(0)[1:], raw)  # "anyone i know" -> "anyone I know"
    raw = _LANGUAGES.sub(lambda m: m.group(0).capitalize(), raw)  # "bad english" -> "bad English"
    raw = _places().sub(lambda m: _places_named()[m.group(0)], raw)  # "flew to seoul" -> "flew to Seoul"
    raw = _LAUGHTER.sub("", raw).strip()  # "in english haha", "beat us 28-14 lol": the user's aside
    raw = " ".join(_EMOJI.sub(" — ", raw).split()).strip(" —")  # "cold empanadas in a blizzard 😂 un grande"
    raw = _LESSON.sub(r"\1 that ", raw)  # "taught me you win cases on the papers": "taught me that you win"
    if not raw:
        return NO_NOTE
    if personal_sensitive(raw) or is_deceased(raw):
        return ReadNote(
            raw,
            SENSITIVE,
            reason="sensitive (loss, health, family, work or money trouble, the law): never quoted in any draft",
            suggestion="keep it as it is for your own memory; circleback will not mention it",
        )
    english = _english_from(raw)
    if english is not None:  # "meu orientador. taught me that a building is a promise": a label in their language
        read = read_note(english, names)
        if read.quotable:
            return ReadNote(raw, read.shape, read.how, read.noun, read.phrase, read.sentence, read.extra, read.past)
    if english is not None or not _is_english(raw):
        return ReadNote(
            raw,
            FOREIGN,
            reason="not in English: circleback only carries English notes into a sentence",
            suggestion="write your own words to them under `say`; they are used as they are",
        )
    if len(raw) > MAX_QUOTED:
        return _unreadable(raw, f"too long to carry into a note: at most {MAX_QUOTED} characters")
    if "?" in raw or "http" in raw.lower() or "@" in raw or re.search(r"[a-z]/[a-z]|\b(\w+) \1\b", raw, re.I):
        return _unreadable(raw, "it holds a question, a link, an address or shorthand circleback cannot say back")
    if _GRIPE.search(raw):
        return _unreadable(
            raw, "it reads as a complaint or a tease: said back to them it would not sound like praise",
            "keep it for yourself; add what you value in them, or your own words under `say`",
        )
    if _TO_SELF.match(raw):
        return ReadNote(
            raw,
            UNREADABLE,
            reason="a note to yourself (a reminder or a to-do), not something to say to them",
            suggestion="keep it as it is; add what you value in them as a separate `note`, or your words in `say`",
        )
    names = frozenset(n.lower() for n in names)
    body = _REACTION_SPLICE.sub(lambda m: ". The " + m.group(2) if m.group(2) else ". " + m.group(3).capitalize(), raw)
    body = _YEAR_AFTER.sub(r" in \1", body)  # "in the dorm, 2011" -> "in the dorm in 2011"
    body = _YEAR_MID.sub(r" in \1, ", body)  # "our lamu trip 2018, the dhow that nearly sank" -> "trip in 2018, the"
    body = _BARE_YEAR.sub(  # "fought for the lab funding 2016" -> "… funding in 2016"
        lambda m: m.group(0) if m.group(1) in _YEAR_LEADS else f"{m.group(1)} in {m.group(2)}", body)
    body = _GOT_IT.sub(r" and \1", body)  # "fought for the funding, got it" -> "… and got it"
    body = _HOW_MANY.sub("", body)  # "tourtière for the whole staff at christmas, 6 of them": the user's count
    body = _ASIDE_IN_BRACKETS.sub("", body)  # "without being asked (first time ever)": the user's aside
    body = _DISBELIEF.sub("", body)  # "wrote the sync engine in one weekend, still can't believe it"
    # "fought for my promotion when emeka said wait": what someone else said is not theirs to read back
    body = _OTHERS_SAID.sub(lambda m: "" if _a_name(m.group(1)) else m.group(0), body)
    body = _NOT_SO.sub(", not ", body)  # "on the papers not on your feet" -> "on the papers, not on …"
    body = _AGED.sub(r"\1-year-old", body)  # "a 30 year old nobody" -> "a 30-year-old nobody"
    if body != raw and personal_sensitive(body):  # "his passed 2021" read as "passed in 2021": not said either
        return _unreadable(raw, "read into a sentence it would touch something sensitive")
    parts = [p.strip() for p in _PARTS.split(body.strip().rstrip(".!"))]
    # A one-word fragment ("Twice.") says nothing to carry: the rest of the note is read. One that
    # names who they are ("CEO.", "paramedic.") is a fact about them, like "senior partner".
    parts = [p for p in parts if p and (len(p.split()) > 1 or len(parts) == 1 or _is_role(p))] or [raw]
    parts = [*_who_then_deed(parts[0]), *parts[1:]]
    main = _part(parts[0], names, raw if len(parts) > 1 else None)
    lead, praised = _after_leading_facts(parts, main, names, raw)
    if lead:  # "Partner, my mentor since 2017. taught me to read a SPA backwards": the rest is the note
        moment = parts[lead - 1]
        parts, main = parts[lead:], praised
        if main.phrase.startswith("when we ") and _MOMENT_BEFORE.match(moment):
            # "the 2am c-section on the Maasai cow in the rain. we laughed the whole drive back": the
            # moment is the memory, the laugh how it went; never "when we laughed the whole drive back" alone
            said = _strip_end(_join(_lower_first(_tokens(moment))))
            extra = _sentence(main.phrase.removeprefix("when "))
            return ReadNote(raw, MEMORY, phrase=said, extra=(extra,), past=True)
    elif len(parts) > 1 and _is_label(parts[0]):  # "salaried GP. leaving in june": never "how you salaried GP"
        return _fact(raw)
    elif len(parts) > 1 and main.quotable and not _praises(parts[0], main):
        # "runs the food pantry. hardest working woman in Stark County": the praise is the note
        reads = ((i, _part(part, names, raw)) for i, part in enumerate(parts[1:], start=1))
        later = next(((i, read) for i, read in reads if read.quotable and _praises(parts[i], read)), None)
        if later:
            parts, main = parts[later[0]:], later[1]
    if main.shape == UNREADABLE and _is_fact(raw):
        return _fact(raw)
    if main.shape == ADJECTIVE and _SIMILE.search(main.how):  # "sharp as a tack": not "how sharp you are as a tack"
        return _unreadable(raw, "a saying (\"sharp as a tack\") does not turn into \"how sharp you are\"")
    if not main.quotable:
        return ReadNote(raw, main.shape, reason=main.reason, suggestion=main.suggestion)
    extra: list[str] = []
    how, joined = main.how, False
    for p in parts[1:]:
        if _REACTION.match(p):  # "The whole team teared up at the first playtest": how it landed, as it is
            extra.append(_sentence(p))
            continue
        more = _part(p, names)
        if not more.quotable and _CONTRAST.match(p):
            return _unreadable(raw, "a later part of it takes back or qualifies the rest: " + p)
        if not more.quotable and (more.shape in (FACT, FOREIGN) or _is_fact(p) or _is_aside(p) or _short_foreign(p)):
            continue  # "she's the bravest person I know. quit law to become a potter": the praise is the note
        if not more.quotable:
            return _unreadable(raw, "one part of it could not be carried into a sentence: " + more.reason)
        if _habits(how, main, more) and not joined:
            # "calls every sunday night. still sends kimchi to the office": both habits, in one sentence
            then = "are " + more.how[len("how you're ") :] if more.how.startswith("how you're ") else more.how[8:]
            if more.past and not main.past:  # "and never once asked": "and have never once asked"
                then = _NEVER_SINCE.sub(r" and have never \1\2", " and " + then).removeprefix(" and ")
            how, joined = f"{how} and {then}", True
            continue
        if more.how and not (more.past and _HELPED.search(p)):
            continue  # "Still sends a card every year", "retired same term as me": facts said back read like a file
        extra.append(_again(more) or more.sentence or more.preview())
    return ReadNote(
        raw,
        main.shape,
        how,
        main.noun,
        main.phrase,
        main.sentence,
        tuple(extra),
        main.past,
    )


# A later part that takes the rest back ("but we fell out", "used to be"): the note is not quoted.
_CONTRAST = re.compile(
    r"(?i)^(?:but|though|although|except|until|unless|no longer|not any ?more|not since|used to|sadly|unfortunately"
    r"|shame|pity|too bad)\b"
)
# The user's own exclamation about what came before: kept for them, not quoted ("would have been a disaster").
_ASIDE = re.compile(
    r"(?i)^(?:(?:it|that) )?(?:would|could|might)(?:'ve| have) been\b|^(?:I )?still can'?t believe\b"
    r"|^(?:what a|(?:absolute |total |an? )?legend|(?:still )?(?:my )?hero|wow|amazing|incredible|unreal|so good"
    r"|never forget"
    r"|never again)\b"
)
_MANY_TIMES = re.compile(r"(?i)\b(?:so many times|more than once|again and again|countless times|many times over)$")


def _short_foreign(part: str) -> bool:
    """ "un grande", "nada mas", "le debo una": a few words in the user's other language, closing a note."""
    words = part.split()
    return len(words) <= 4 and sum(not _is_known(w) for w in words) * 2 >= len(words)


def _is_aside(part: str) -> bool:
    return _ASIDE.search(part) is not None


def _habits(how: str, main: ReadNote, more: ReadNote) -> bool:
    """Are both parts something they do ("how you call every Sunday night", "how you still send
    kimchi to the office"), short enough together for one sentence?"""
    doing = (VERB_PHRASE, PRONOUN_CLAUSE)
    never = more.past and more.how.startswith("how you never ")  # "always tows the trailer. never once asked"
    # Two things done once are joined only when the second is kindness too ("never once complained"):
    # never "gave me a job at 19 and threw a pan at me once".
    kind = not more.past or never or _HELPED.search(more.how) is not None
    return (
        main.shape in doing and more.shape in doing and (main.past == more.past or never) and kind
        and how.startswith("how you ") and more.how.startswith(("how you ", "how you're ")) and " and " not in how
        and len(how) + len(more.how) <= MAX_QUOTED - 20
    )


def _again(read: ReadNote) -> str:
    """A deed done for me over and over ("saved me so many times"): "You've saved me so many times."."""
    m = re.fullmatch(r"how you (\w+) (.+)", read.how)
    if not (read.past and m and _MANY_TIMES.search(read.how)):
        return ""
    lemma = (_lemmas().getLemma(m.group(1), upos="VERB") or ("",))[0]
    done = (_lemmas().getInflection(lemma, tag="VBN") or ("",))[0] if lemma else ""
    return f"You've {done} {m.group(2)}." if done else ""


def _who_then_deed(part: str) -> list[str]:
    """ "my first chef, gave me a job at 19" -> who they are, then what they did: two parts."""
    who, comma, deed = part.partition(", ")
    first = deed.split(" ", 1)[0].lower()
    if not comma or len(who.split()) > 5 or _verb_form(first) not in ("past", "3sg"):
        return [part]
    if any(_verb_form(w) in ("past", "3sg") and "NOUN" not in _pos(w) for w in who.lower().split()):
        return [part]  # "she fixed the boiler, came back twice": one deed, not who they are
    return [who, deed]


def _is_fact_part(part: str, read: ReadNote) -> bool:
    return read.shape == FACT or (read.shape == UNREADABLE and _is_fact(part)) or _is_label(part)


_LABEL_LEADS = frozenset({"my", "our", "ex", "former", "retired", "the"})
# One word that says who someone is, as people open a note with it: "CEO.", "paramedic.", "landlord."
_ROLE_ENDINGS = ("er", "or", "ist", "ian", "ant", "ent", "ic", "lord", "man", "woman", "mate", "ee")


def _is_role(word: str) -> bool:
    w = word.strip("()'\".,!")
    low = w.lower()
    return (w.isupper() and len(w) > 1) or low in _PERSON_NOUNS or (
        "NOUN" in _pos(low) and low.endswith(_ROLE_ENDINGS) and "VERB" not in _pos(low)
    )


def _is_label(part: str) -> bool:
    """Who they are, in at most three words: "CEO", "senior partner", "salaried GP", "my manager"."""
    words = [w.strip("()'\"") for w in part.replace("-", " ").split()]
    if not 1 <= len(words) <= 3 or not all(words):
        return False
    last = words[-1]
    if not (last.isupper() and len(last) > 1 or "NOUN" in _pos(last.lower()) or _is_plural_noun(last.lower())):
        return False
    for w in words[:-1]:
        low = w.lower()
        if low in _FIRST_PERSON or low in _SUBJECTS or low in _OBJECTS or low in ("me", "us", "you"):
            return False
        known = _is_known(low)  # "loc lead", "qa lead": an abbreviation English does not list
        if low not in _LABEL_LEADS and known and not (w.isupper() or _pos(low).keys() & {"NOUN", "ADJ", "PROPN"}):
            return False
    return last.lower() not in _FUNCTION and last.lower() not in ("me", "us", "you")


def _after_leading_facts(
    parts: list[str], first: ReadNote, names: frozenset[str], raw: str
) -> tuple[int, ReadNote]:
    """How many leading parts to pass over to reach what the user values in them, and that part as read
    (0 and ``first``: none, or none found).

    People open a note with who someone is ("Partner, my mentor since 2017.", "college
    roommate.", "meu orientador.") or a word about them the reader cannot carry ("ruthless on
    drafts but fair"), and then say what they value. The first part that praises is the note;
    the parts before it stay the user's. A part that takes something back ("but ...") ends the search.
    """
    if len(parts) < 2 or (first.quotable and not _is_label(parts[0])):
        return 0, first
    for i, part in enumerate(parts[1:], start=1):
        if _CONTRAST.match(part):
            return 0, first
        read = _part(part, names, raw)
        if read.quotable and _praises(part, read):
            return i, read
    return 0, first


_SIMILE = re.compile(r"\byou are as an? ")
_PRAISE_MARKS = re.compile(
    r"(?i)\b(?:best|always|(?:nobody|no one|anyone) else|like no one|than anyone|never fails|the one who|the reason"
    r"|better (?:\w+ ){0,4}than|more (?:\w+ ){1,3}than|every(?:one|body|thing)?|never once|not once|for (?:me|us)"
    r"|(?:so|for) the whole|alone|single-handedly|took a chance|fought for|any(?:thing|one|body)"
    r"|still (?:our|my|the) \w+"
    r"|for free"
    r"|(?!(?:as|is|was|has|does|us|his|this|its)\b)\w{3,}s (?:me|my))\b"
)


def _praises(part: str, read: ReadNote) -> bool:
    """Is this part, after facts, what the user values in them, not one more fact ("retired same term as me")?

    A quality ("brilliant with frightened kids"), a deed for the user ("taught me to read a SPA
    backwards") or a superlative ("gives the clearest feedback I've ever had").
    """
    if read.shape in (ADJECTIVE, PRAISE_NOUN, FIRST_PERSON, MEMORY):  # "we carried the stretcher down Ledge Route"
        return True
    if read.shape == POSSESSIVE and read.phrase:  # "her concept art for the sky whale level"
        return True
    if read.past and _HELPED.search(part):
        return True
    superlative = any(_is_superlative(w) for w in re.findall(r"[a-z]+", part.lower()))
    return superlative or _PRAISE_MARKS.search(part) is not None or (read.past and _FEAT.search(part) is not None)


# The user's own instruction to wait: "let him reach out first", "wait for her to get in touch".
_HOLD = re.compile(
    r"(?i)\b(?:let (?:him|her|them) (?:reach out|get in touch|come to me|make the first move)|wait for (?:him|her|them)"
    r"|give (?:him|her|them) (?:space|time)|(?:do not|don'?t) (?:contact|reach out|get in touch|email|write))\b"
)


# Big news for them that a stock note must not step over: a birth, a wedding, an engagement.
_BIG_NEWS = re.compile(
    r"(?i)\b(?:born|newborn|new baby"
    r"|(?:just )?had (?:a|her|his|their|the) (?:baby|son|daughter|boy|girl|twins|triplets)"
    r"|baby (?:girl|boy) (?:born|arrived)|twins (?:born|arrived)|got married|just married|wedding (?:is|was|on|in)"
    r"|getting married|to be married|(?:her|his|their) wedding"
    r"|engaged|maternity leave|paternity leave)\b"
)


# Someone under 18, as people note it: "15, u16 squad", "aged 14", "16yo", "in year 10".
_MINOR = re.compile(
    r"(?i)(?:^\s*(?:1[0-7]|[5-9])\b\s*[,.;:(-]|\baged? (?:1[0-7]|[5-9])\b"
    r"|\b(?:niece|nephew|godson|goddaughter|godchild|grandson|granddaughter|grandkid|son|daughter|kid|cousin|girl|boy|"
    r"student|pupil|player|mentee|neighbour'?s (?:kid|son|daughter)),? (?:1[0-7]|[5-9])\b(?! ?(?:yrs?|years))"
    r"|\b(?:1[0-7]|[5-9]) ?(?:yo|y/o|yrs? old|years? old)\b"
    r"|\bu-?1[0-8]s?\b|\bunder[- ]1[0-8]s?\b|\bin (?:year|yr) (?:[1-9]|1[0-3])\b"
    r"|\b(?:year|yr) (?:[1-9]|1[0-3]) (?:student|pupil|girl|boy|kid)\b"
    r"|\b(?<!like a )(?:teenager|schoolgirl|schoolboy)\b|\b(?:in (?:primary|secondary|middle|high) school"
    r"|my (?:pupil|student) \(1[0-7]\))"
    r"|\b(?:junior|youth) (?:squad|team|player|section|rower|swimmer|athlete)\b)"
)


# The person themselves has died, as people note it: "Passed Jan 9. RIP Frank.", "faleceu em outubro".
_DECEASED = re.compile(
    r"(?i)(?:^\s*(?:passed(?: away)?|died|deceased|d\.)\b|\bRIP\b|\bR\.I\.P\b|\bin memoriam\b"
    r"|\b(?:called (?:home )?to (?:glory|the lord|god|heaven)|went (?:home )?to be with the lord"
    r"|fell asleep in the lord|gone to glory|of blessed memory|passed on"
    r"|(?:my|our) late (?:husband|wife|father|mother|dad|dadda|daddy|mum|mummy|mom|mama|papa|baba|son|daughter"
    r"|brother|sister|friend|granny|gran|grandma|grandpa|ouma|oupa|teta|jiddo|nana|uncle|aunt|aunty)(?!'s)"
    r"|allah (?:ghafir|yarham|yerham|yirham)\w*|rahimahull?ah|inna lillahi"
    r"|went home (?:to (?:the lord|god|allah)"
    r"|(?:in |on )?(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*|\d{4})))\b"
    r"|\b(?:faleceu|falleci[oó]|morreu|muri[oó]|verstorben|gestorben|d[ée]c[ée]d[ée]e?|parti[oó]|zmar[łl]a?"
    r"|q\.?e\.?p\.?d|descanse en paz|giỗ|gio to)\b|\bmất(?= (?:năm |nam )?\d{4}| rồi)|돌아가|去世|逝世)"
)


def is_deceased(note: str) -> bool:
    """Does the user's note say the person has died ("Passed Jan 9. RIP Frank.")?"""
    return _DECEASED.search(note) is not None


_ADULT_WITH_CHILDREN = re.compile(r"(?i)\b(?:co-?coach|coach(?:es|ed|ing)? (?:the|our|my)|manag\w+ the|runs the"
                                  r"|(?:his|her|their) (?:kid|son|daughter)|parent|mum of|dad of|mom of)\b")


def is_minor(note: str) -> bool:
    """Does the user's note say the person is a child ("15, u16 squad", "niece, 15", "in year 10")?

    Not an adult who coaches or parents them ("co-coach of the U16s").
    """
    found = _MINOR.search(note)
    team = found is not None and found.group(0).lower().startswith(("u", "under"))  # "u16 squad", "the U16s"
    return found is not None and not (team and _ADULT_WITH_CHILDREN.search(note))


def big_news(note: str) -> bool:
    """Does the user's note record big news for them (a birth, a wedding)? Then the note is theirs to write."""
    return _BIG_NEWS.search(note) is not None


def says_wait(note: str) -> bool:
    """Does the user's note say not to write first ("let him reach out first", "give her space")?"""
    return _HOLD.search(note) is not None


def read_say(text: str) -> ReadNote:
    """``say``: the user's exact words to the person, one or more sentences used as they are."""
    raw = " ".join(text.split())
    return ReadNote(raw, SAY, sentence=_sentence(raw)) if raw else NO_NOTE
