"""Render note templates in a sandbox into a subject and a body.

Templates are the user's to edit, so they run in Jinja's
``ImmutableSandboxedEnvironment`` with ``StrictUndefined``: a typo or an escape
attempt stops that one draft with a TemplateError naming the file and line,
instead of writing "Hi ," into someone's Drafts folder.

A template renders ``Subject: ...``, a blank line, then the body.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import jinja2
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, StrictUndefined
from jinja2.exceptions import SecurityError, TemplateNotFound, TemplateSyntaxError, UndefinedError
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..config.durations import months
from ..errors import TemplateError
from .names import first_name_of
from .subjects import strip_reply_prefix
from .wording import PROPER_ADJECTIVES as _PROPER

log = logging.getLogger(__name__)

DEFAULTS_PACKAGE = "circleback.templates"


@dataclass(frozen=True, slots=True)
class RenderedNote:
    subject: str
    body: str
    template: str  # the template's name, for the outbox and for error messages


class DefaultsLoader(BaseLoader):
    """The default templates, read through importlib.resources.

    Works for editable installs, wheels and zipped packages alike, which
    jinja2.PackageLoader does not promise for namespace-style editable installs.
    """

    def __init__(self, package: str = DEFAULTS_PACKAGE) -> None:
        self.package = package

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        node = resources.files(self.package)
        for piece in split_template_path(template):  # refuses ".." and absolute paths
            node = node.joinpath(piece)
        if not node.is_file():
            raise TemplateNotFound(template)
        # Package data does not change while we run: always up to date.
        return node.read_text(encoding="utf-8"), str(node), lambda: True

    def list_templates(self) -> list[str]:
        files = resources.files(self.package).iterdir()
        return sorted(f.name for f in files if f.is_file() and f.name.endswith(".j2"))


def template_names() -> list[str]:
    """The default templates shipped with circleback."""
    return DefaultsLoader().list_templates()


class TemplateRenderer:
    """Renders templates from ``templates_dir`` first, then circleback's defaults."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        loaders: list[BaseLoader] = [DefaultsLoader()]
        if templates_dir is not None:
            loaders.insert(0, FileSystemLoader(str(Path(templates_dir).expanduser()), encoding="utf-8"))
        self.env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,  # plain-text mail: HTML escaping would show as &amp;
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(FILTERS)
        self.env.globals.update(variant=variant, fail=fail)

    def render(self, name: str, context: Mapping[str, Any]) -> RenderedNote:
        template = self._load(name)
        try:
            text = template.render(dict(context))
        except Exception as exc:  # noqa: BLE001 - user code: whatever it raises is a template error
            raise _render_error(name, template.filename, exc) from exc
        return _split_note(name, template.filename, text)

    def _load(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except TemplateNotFound as exc:
            raise TemplateError(
                f'template "{name}" was not found (looked in {self._search_places()}); '
                "check the template name in your config or add the file"
            ) from exc
        except TemplateSyntaxError as exc:
            where = _where(exc.filename or name, exc.lineno)
            raise TemplateError(
                f'template "{name}" ({where}) has a syntax error: {(exc.message or "").rstrip(". ")}; fix that line'
            ) from exc

    def _search_places(self) -> str:
        loader = self.env.loader
        assert isinstance(loader, ChoiceLoader)
        places = [
            ", ".join(lo.searchpath) if isinstance(lo, FileSystemLoader) else "the defaults" for lo in loader.loaders
        ]
        return " and ".join(places)


def _where(filename: str | None, lineno: int | None) -> str:
    place = filename or "<unknown file>"
    return f"{place}, line {lineno}" if lineno else place


def _render_error(name: str, filename: str | None, exc: BaseException) -> TemplateError:
    where = _where(*(_failing_template_line(exc) or (filename, None)))
    if isinstance(exc, SecurityError):
        fix = "templates may only read the values they are given; remove that expression"
    elif isinstance(exc, UndefinedError):
        fix = (
            "use only the variables circleback passes (me, person, hook, last_meeting, "
            "last_thread, days_since, mutual, key) and guard optional ones with {% if %}"
        )
    else:
        fix = "fix the expression on that line"
    message = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).rstrip(". ")
    return TemplateError(f'template "{name}" ({where}) failed: {message}; {fix}')


def _failing_template_line(exc: BaseException) -> tuple[str, int] | None:
    """File and line of the innermost template frame (an included one, too).

    Jinja rewrites tracebacks so that template frames carry the template's file
    and line, and marks their globals with ``__jinja_exception__``.
    """
    found = None
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


# --- the rendered text -----------------------------------------------------------

_SUBJECT_LINE = re.compile(r"subject:[ \t]*(.*)", re.IGNORECASE)
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return _EXTRA_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def _split_note(name: str, filename: str | None, text: str) -> RenderedNote:
    head, _, rest = _tidy(text).partition("\n")
    found = _SUBJECT_LINE.fullmatch(head)
    problem = ""
    if not found:
        problem = 'its first line must be "Subject: ..."'
    elif not found.group(1).strip():
        problem = "the Subject line is empty"
    elif rest and not rest.startswith("\n"):
        problem = "the Subject line must be followed by a blank line"
    elif not rest.strip():
        problem = "the body is empty"
    if problem:
        raise TemplateError(f'template "{name}" ({_where(filename, None)}) rendered no usable '
                            f"note: {problem}; fix the template")  # fmt: skip
    assert found is not None
    return RenderedNote(subject=found.group(1).strip(), body=rest.strip("\n") + "\n", template=name)


# --- helpers for templates -----------------------------------------------------------


def variant(seed: str, *options: Any) -> Any:
    """One of ``options``, the same one for the same ``seed`` in every process.

    hashlib, not hash(): Python salts str hashes per process, and a re-render
    must not reword a note.  Templates salt the seed per slot (``key ~ ":greeting"``)
    so that greeting and closing do not move in lockstep.
    """
    if not options:
        raise ValueError("variant() needs at least one option")
    digest = hashlib.sha256(str(seed).encode("utf-8")).digest()
    return options[int.from_bytes(digest[:8], "big") % len(options)]


def fail(message: str) -> NoReturn:
    """Let a template refuse to render: ``{{ fail("no hook for " ~ person.name) }}``."""
    raise jinja2.TemplateRuntimeError(message)


# What people call an elder, in any language, before the name: "Dear Tita Baby", never "Hey Tita Baby".
_ELDER_TITLES = frozenset(
    "aunty auntie aunt uncle grandma grandpa granny grandad nana mr mrs ms dr prof professor sir madam mama papa "
    "tita tito lola lolo tía tío abuela abuelo nonna nonno oma opa ouma oupa teta jiddo sitto dì cô chú bác ông bà "
    "father pastor rev reverend imam ma'am maam mzee sensei don doña sheikh hajji hajja".split()
)


def elder(person: Any) -> bool:
    """Is this someone to greet with respect: a title of an elder before their name ("Tita Baby", "Imam
    Gasant", "Dì Sáu"), or a note that calls them an elder (``person.elder``)?"""
    if isinstance(person, dict) and person.get("elder"):
        return True
    name = first_name(person)
    return bool(name) and name.split(" ")[0].lower() in _ELDER_TITLES


def first_name(value: Any, email: str = "") -> str:
    """The first word of a name ("Dr. Jo Park" -> "Jo"), as ``relations.first_name_of`` reads it.

    Accepts a mapping too (``{{ person | first_name }}``): its ``first_name`` if set,
    else worked out from its ``name`` and ``email``.
    """
    if isinstance(value, Mapping):
        if value.get("first_name"):
            return str(value["first_name"])
        value, email = value.get("name", ""), value.get("email", "") or email
    return first_name_of(str(value or ""), email)


QUOTE_LIMIT = 60  # characters: a title longer than a line of the note is cut


def clip(text: Any, limit: int = QUOTE_LIMIT) -> str:
    """A title or subject short enough to quote: cut at a word boundary, with "…".

    "Quarterly planning offsite for the platform and data teams in Lisbon" becomes
    "Quarterly planning offsite for the platform and data teams…". One word longer
    than ``limit`` is cut inside the word.
    """
    one_line = " ".join(str(text).split())
    if len(one_line) <= limit:
        return one_line
    head = one_line[:limit]
    if one_line[limit] != " " and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:-–—(/&") + "…"


_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


def _count(n: int, unit: str) -> str:
    word = _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)
    return f"{'a' if n == 1 else word} {unit}{'' if n == 1 else 's'}"


def ago(days: int | float) -> str:
    """A number of days in natural English: "three weeks", "about two months"."""
    d = int(days)
    if d < 1:
        return "less than a day"
    if d < 7:
        return _count(d, "day")
    if d < 11:
        return "a week"
    if d < 28:
        return _count(int(d / 7 + 0.5), "week")
    if d < 45:
        return "about a month"
    if d < 53:
        return "about six weeks"
    if d < 60:
        return "almost two months"
    if d < 320:
        return "about " + _count(months(d), "month")
    if d < 365:
        return "almost a year"
    if d < 548:
        return "over a year"
    if d < 730:
        return "a year and a half"
    return "over " + _count(d // 365, "year")


# English month names on purpose: strftime("%B") follows the process locale.
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def month_year(value: date) -> str:
    """ "March 2025"."""
    return f"{_MONTHS[value.month - 1]} {value.year}"


def day_month(value: date) -> str:
    """ "12 March"."""
    return f"{value.day} {_MONTHS[value.month - 1]}"


_LOWER_LEADS = frozenset({"your", "the", "a", "an", "how", "that", "those", "our", "my", "all"})


def mid_sentence(text: str) -> str:
    """A note such as "Your candour about hiring." made fit to sit inside a sentence.

    Only a leading determiner is lower-cased: a proper noun keeps its capital.
    """
    clause = str(text).strip().rstrip(".!;, ")
    first, _, rest = clause.partition(" ")
    if first.lower() in _LOWER_LEADS and first[:1].isupper():
        clause = f"{first.lower()} {rest}".rstrip()
    return clause


def and_list(names: Any) -> str:
    """ "Ana", "Ana and Bo", "Ana, Bo and Cy"."""
    items = [str(n) for n in names]
    return " and ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " and " + items[-1]


# Short words a topic writes in lower case that are said in capitals: "ux research" is "UX research".
_ACRONYMS = frozenset(
    "ux ui ai ml hr pr seo sem vc cto cfo ceo coo cmo api b2b b2c saas gtm ipo m&a esg qa ux/ui ios crm erp".split()
)


# A topic people write as the person they want ("spanish employment lawyer") is said as the field,
# so "knows Spanish employment law well" and "could use some help with UX design" read right.
_ROLE_FIELDS = {
    "lawyer": "law", "attorney": "law", "solicitor": "law", "barrister": "law", "counsel": "law",
    "designer": "design", "engineer": "engineering", "developer": "development", "programmer": "programming",
    "recruiter": "recruiting", "mentor": "mentoring", "coach": "coaching", "consultant": "consulting",
    "accountant": "accounting", "investor": "investing", "banker": "banking", "translator": "translation",
    "copywriter": "copywriting", "writer": "writing", "editor": "editing", "photographer": "photography",
    "researcher": "research", "analyst": "analysis", "marketer": "marketing", "economist": "economics",
    "architect": "architecture", "therapist": "therapy", "manager": "management", "advisor": "advice",
    "adviser": "advice", "strategist": "strategy", "illustrator": "illustration", "publicist": "publicity",
}
# One of these, said after "help with", wants an article: "help with a patisserie course", "the ECP degree".
_COUNTABLE = frozenset(
    "course degree application lease residency programme program internship scholarship exam visa permit "
    "licence license grant fellowship apprenticeship thesis dissertation move transfer".split()
)


def _topic(item: Any) -> str:
    words = str(item).strip().split()
    article = ""
    if words:
        last = words[-1].lower()
        role = _ROLE_FIELDS.get(last) or (_ROLE_FIELDS.get(last[:-1]) if last.endswith("s") else None)
        if role and not (len(words) == 1 and role == "advice"):
            words[-1] = role.capitalize() if words[-1][:1].isupper() else role  # "Product Management"
        elif last in ("a", "an"):
            words = words[:-1]
        if words and words[0].lower() in ("a", "an", "the") and len(words) > 1:
            article = "the" if words[0].lower() == "the" and not role else ""  # "the ECP degree at CPUT"
            words = words[1:]
        countable = words and words[-1].lower() in _COUNTABLE
        if not article and not role and words and (countable or _ends_in_place(words)):
            article = "an" if _vowel_sound(words[0]) else "a"  # "a patisserie course", "an NHS UK application"
    said = [article] if article else []
    for w in words:
        low = w.lower()
        said.append(w.upper() if low in _ACRONYMS else w.capitalize() if low in _PROPER and w == low else w)
    return " ".join(said)


def _ends_in_place(words: list[str]) -> bool:
    """ "bakery lease in the west", "pharmacy residency in France": a countable thing, then where."""
    lows = [w.lower() for w in words]
    for i, w in enumerate(lows[:-1]):
        if w in _COUNTABLE and lows[i + 1] in ("in", "at", "for", "with", "abroad"):
            return True
    return False


def _vowel_sound(word: str) -> bool:
    """ "an ECP degree", "an NHS application", "an online course"; "a UX course", "a university"."""
    if word.isupper() and len(word) > 1:
        return word[0] in "AEFHILMNORSX"
    low = word.lower()
    return low[:1] in ("a", "e", "i", "o") or (low[:1] == "u" and not low.startswith(("uni", "usu", "uti", "use")))


def topics(items: Any) -> str:
    """``offers`` / ``seeks`` as said in a sentence, joined ("UX research and seed funding").

    Acronyms in capitals, languages with theirs, and a topic written as the person wanted
    ("a spanish employment lawyer") said as their field ("Spanish employment law").
    """
    return and_list([t for t in (_topic(item) for item in items) if t])


FILTERS: dict[str, Callable[..., Any]] = {
    "first_name": first_name,
    "elder": elder,
    "ago": ago,
    "month_year": month_year,
    "day_month": day_month,
    "strip_reply_prefix": lambda subject: strip_reply_prefix(str(subject)),  # a template may pass Undefined
    "mid_sentence": mid_sentence,
    "and_list": and_list,
    "topics": topics,
    "clip": clip,
}
