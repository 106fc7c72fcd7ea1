"""Words that keep a subject, a title or a private note out of a draft.

Shared by the planner (which subjects and titles may be a hook) and the note reader
(which private notes may be quoted): the same grief, health, family, legal, job and money
words guard both, so a note is never kinder to a secret than a subject line is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

# Languages and nationalities are written with a capital, however a note types them:
# "a Dutch kid with bad english", "spanish employment lawyer".
PROPER_ADJECTIVES = frozenset(
    "english spanish french german italian portuguese dutch swedish norwegian danish finnish polish czech greek "
    "turkish russian ukrainian chinese japanese korean arabic hebrew hindi indian brazilian mexican american "
    "british irish scottish welsh canadian australian european african asian latin catalan basque".split()
)

# Subjects and titles a warm note must never quote back: grief, health, family crises, law,
# work lost, money owed, credentials. Stems with the endings they take; whole words, any
# case, so "taxonomy", "taxi", "Bankside" and "banking app demo" stay quotable (a product
# or a place, not the person's account). A refused title is not a hook: the note uses
# another hook or none ("no hook, no draft"), and drafting blanks it for templates all the
# same. The costs are lopsided, so ambiguous words are refused: a lost hook costs one
# "needs a note" line, a quoted "Dad died" costs the friendship. Known false positives,
# accepted: "Court booking for Saturday" (tennis), "The Death Star lego set", "Food court".
PERSONAL_WORDS: tuple[str, ...] = (
    # death and grief
    r"funerals?",
    r"condolences?",
    r"bereave(?:d|ment)",
    r"passed away",
    r"memorial",
    r"in memoriam",
    r"sympathy",
    r"obituary",
    r"(?<!car )(?<!phone )(?<!laptop )(?<!battery )(?<!engine )died(?! laughing)",
    r"deaths?",
    r"dying(?! (?:laughing|to|for))",
    r"(?-i:RIP)",
    r"R\.I\.P",
    r"griev(?:e|ed|es|ing)",
    r"grief",
    r"hospice",
    r"widow(?:s|ed|er|ers)?",
    r"your loss",
    r"cremation",
    r"burial",
    r"lost (?:my|our|his|her|their) (?:mother|father|mum|mom|dad|wife|husband|partner|son|daughter|baby"
    r"|brother|sister|grandmother|grandfather|grandma|grandpa|nan|job)",
    # health
    r"diagnos(?:is|es|ed|tic)",
    r"hospitali[sz](?:ed|ation)",
    r"hospitals?",
    r"surgery",
    r"surgeries",
    r"surgical",
    r"cancer",
    r"tumou?rs?",
    r"chemo(?:therapy)?",
    r"illness",
    r"sick",
    r"sickness",
    r"unwell",
    r"medical",
    r"therapy",
    r"biops(?:y|ies)",
    r"MRI",
    r"CT scan",
    r"scan results?",
    r"lab results?",
    r"blood (?:tests?|work|results?)",
    r"ICU",
    r"A&E",
    r"(?-i:ER)",
    r"emergenc(?:y|ies)",
    r"accidents?",
    r"ambulance",
    r"heart attack",
    # a stroke that strikes someone, not a rower's seat or a swimmer's ("rows stroke in the eight",
    # "best front crawl stroke", "a stroke of genius")
    r"(?:had|has had|suffered|after|since|from|survived|recovering from|another) (?:a |his |her |their )?"
    r"(?:mini[- ]|minor |major |massive |bad |small |big |second )?stroke",
    r"(?:mini[- ]|minor |major |massive )stroke", r"stroke (?:ward|unit|patients?|recovery|survivors?)",
    r"dementia",
    r"alzheimer'?s",
    r"overdose",
    r"suicid(?:e|al)",
    r"miscarriage",
    r"stillbirth",
    r"abortion",
    r"IVF",
    r"fertility",
    r"pregnan(?:t|cy|cies)",
    r"depress(?:ion|ed)",
    r"mental health",
    r"anxiety",
    r"burn(?:ed|t) out",
    r"rehab",
    r"injur(?:y|ies|ed)",
    r"dialysis", r"(?:has|with|got|living with) (?-i:MS)", r"(?-i:MS) (?:flare|relapse|diagnosis)",
    r"flare[- ]?ups?", r"(?:a|in|bad|another) flare", r"off work", r"surgery",
    r"(?-i:ACL)", r"operation", r"diagnos(?:is|ed|es)", r"tumou?rs?", r"transplant",
    # family and relationships
    r"divorc(?:e|es|ed|ing)",
    r"custody",
    r"break-?ups?", r"splitting(?: up)?",
    r"broke up",
    r"(?:cancel(?:l)?ed|called off)(?: (?:the|our|my|their))? wedding",
    r"wedding (?:is )?(?:cancel(?:l)?ed|called off|off)",
    r"abuse",
    r"harass(?:ment|ed)",
    r"assault(?:ed)?",
    # law
    r"lawsuits?",
    r"litigation",
    r"legal action",
    # needing the law, not being a lawyer ("IP lawyer at Aluko & Oyebode" is a job)
    r"(?:needs?|needed|got|getting|hired|hiring|find(?:ing)?|talking to|seeing|consulting) (?:a |an |his |her |their )?"
    r"(?:\w+ )?(?:lawyer|solicitor|attorney)s?",
    r"lawyered up",
    r"subpoena",
    # the law's court, not a sport's ("best left foot on the court", "sorts the court booking")
    r"(?:to|before (?:a|the)|family|crown|county|magistrates'?|divorce|small claims) court",
    r"court (?:case|date|hearing|order|appearance|battle|fight|proceedings|summons)",
    r"police",
    r"arrest(?:s|ed)?",
    r"prison",
    r"jail",
    r"probation",
    r"deport(?:ed|ation)",
    r"visa (?:denied|refused|rejected)",
    r"evict(?:ed|ion)",
    # work lost
    r"lay[- ]?offs?",
    r"laid off",
    r"redundanc(?:y|ies)",
    r"made redundant",
    r"terminat(?:e|ed|es|ion|ions)",
    r"dismissal",
    r"disciplinary",
    r"grievance",
    r"severance",
    r"fired(?! up)",
    r"unemploy(?:ed|ment)",
    r"(?-i:PIP)",
    r"performance improvement plan",
    # money trouble, as people note it about someone ("struggling with money", "went under")
    r"struggl(?:e|es|ed|ing)",
    r"money (?:trouble|problems|worries)",
    r"went under",
    r"closed down",
    r"business closed",
    r"in debt",
    r"(?:is|was|are|were|am|went|go|going|flat|totally|completely|stone|dead) broke"
    r"(?! (?:up|down|into|through|out|in|the|a|my|his|her|their|its|every))",
    r"let go",
    r"lost (?:his|her|their|my) job",
    r"out of work",
    r"between jobs",
    r"job[- ]hunting",
    r"medical leave", r"(?:stress|compassionate|bereavement|mental health) leave", r"broke (?:her|him|them|me)\b",
    r"sick leave",
    r"on leave",
    r"(?:mum|mom|dad|mother|father|wife|husband|partner|son|daughter|brother|sister|grandma|grandpa"
    r"|grandmother|grandfather|nan|baby|dog|cat) (?:passed|died)",
    # a death's anniversary, a grave: "always rings on Dad's anniversary"
    r"(?:mum|mom|dad|mother|father|grandma|grandpa|gran|nan|husband|wife|brother|sister|son|daughter)['’]?s"
    r" (?:anniversary|grave|funeral|memorial|ashes)",
    r"passed on",
    r"lost (?:a|the) baby",
    r"separat(?:ed|ion|ing)",
    r"split up",
    r"sober",
    r"addiction",
    r"alcoholi(?:c|sm)",
    r"chemo",
    r"health (?:scare|issues?|problems?)",
    r"recovering",
    r"bereaved",
    r"in hospital",
    r"grieving",
    # as people jot it down: the sacking, the worry, the note to self not to mention it
    r"sacked", r"poorly", r"ill", r"skint", r"bailiffs?", r"folded", r"savings", r"off sick", r"signed off",
    r"worr(?:y|ies|ied|ying)", r"sounded low", r"hard (?:year|time|few months|patch)",
    r"rough (?:patch|year|time)", r"going through", r"not doing (?:well|great)",
    r"(?:don'?t|do not|never) (?:mention|bring (?:it|that|this|him|her) up|ask about)",
    r"go gently", r"tread carefully", r"be careful", r"touchy", r"sore (?:point|subject)",
    r"owe[sd]? me", r"pink slip", r"sued", r"suing", r"bankrupt(?:cy)?", r"left (?:him|her|them)",
    r"(?:his|her|their) ex", r"hasn'?t paid", r"(?<!me )(?<!us )unpaid", r"money", r"bucks", r"quid", r"debt",
    r"let (?:\w+ )?go", r"(?-i:RIF)", r"passed (?:in|away|last|suddenly|recently)", r"lost the (?:last )?one",
    r"lost (?:a|the|our|their|her|his) (?:baby|pregnancy)",
    r"(?:did|doing|served) (?:\w+ )?(?:yrs?|years|months) inside",
    r"lent (?:him|her|them)", r"not public", r"expecting",
    r"confidential", r"cease and desist", r"bypass", r"(?-i:UTI)", r"intensive care", r"told only me",
    r"only told me", r"(?:nobody|no one) (?:else )?knows", r"not the team yet",
    r"(?:hasn'?t|has not|haven'?t|not) told", r"only told",
    r"(?:doesn'?t|does not|don'?t) know yet", r"going badly", r"running out of (?:money|cash|runway)",
    r"due in (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*",
    r"drinking", r"(?-i:DUI)", r"(?-i:GMC)",
    r"(?:court|disciplinary|tribunal|custody|immigration|asylum|parole|his|her|their|fitness to practise) hearing",
    r"hearing (?:aids?|loss|date)",
    r"making rent", r"barely", r"shut(?: down)?", r"(?:don'?t|do not|never) send", r"struggles?",
    # from a blind review (2026-12-07): what slipped through
    r"investigat(?:ion|ions|ed|ing)", r"insider (?:dealing|trading)", r"fraud", r"fell apart", r"falling apart",
    r"marriage (?:is )?(?:over|ended|ending|in trouble|on the rocks)",
    r"(?:dodgy|bad|sore|broken|new|replaced) (?:knee|knees|hip|hips|back|leg|arm|ankle|wrist|shoulder|heart)",
    r"(?:hip|knee|heart) (?:replacement|op|operation|surgery|trouble|problems?)",
    r"(?:his|her|their|my mum's|my dad's|my mom's) (?:hip|knee|knees|heart|back|health)",
    # a confidence: what they told the user alone is not a thing to write around
    r"in confidence", r"(?:told|tells) me (?:privately|in private|off the record)", r"off the record",
    # from a fifth blind review: arrears quoted to the bank, a separation not seen
    r"payments? behind", r"behind on (?:the |our |my |his |her )?(?:payments?|rent|loan|mortgage|bills)",
    r"arrears", r"overdrawn", r"loans?", r"mortgage",
    r"(?:wife|husband|partner|girlfriend|boyfriend|fianc[ée]e?) (?:left|walked out|moved out|kicked him out)",
    r"separated", r"split up", r"broke up", r"break-?up",
    # money the user paid or lent for them: "i paid her review center 25k"
    r"(?:paid|lent|loaned|borrowed|spent|covered)(?: (?:for|him|her|them|his|her|their))?[^.;:]{0,40}?"
    r"(?:[$€£₱₦¥₹]\s?\d|\d+(?:[.,]\d+)?\s?(?:k|grand|pesos?|naira|cedis?|shillings?|dollars?|euros?|pounds?|rupees?)\b)",
    r"called to glory", r"of blessed memory", r"my late (?:husband|wife|father|mother|son|daughter)",
    # a sixth blind review: what still read as a plain fact
    r"stroke (?:in (?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*|\d{4})|last (?:week|month|year))",
    r"(?:had|has|suffered|after) (?:a |his |her |the )?stroke", r"diabet(?:es|ic)",
    r"lost (?:\d+ |two |three |a )?(?:toes?|fingers?|leg|foot|arm)", r"amputat\w*", r"drunk",
    r"told \w+ only", r"books don'?t add up",
    r"visa (?:renewal|application|stuck|refused|denied|problems?|issues?)",
    # a seventh review: a plan kept from others, a heart, a habit, the taxman
    r"secret(?!\s+santa)(?:ly)?", r"stents?", r"gambl\w+", r"(?:tax|ato|irs|hmrc) (?:audit|investigation|bill)",
    r"audited",
    # an eighth review: trauma, therapy, a plan on the quiet, money owed to the user
    r"ptsd", r"(?:seeing|sees) a (?:psych|psychiatrist|psychologist|therapist|counsell?or|shrink)", r"in therapy",
    r"psychiatric (?:ward|unit|hospital|care)", r"on the quiet", r"owed (?:to )?(?:me|us)",
    r"(?:don'?t|do not|dont) tell", r"between (?:us|you and me|ourselves)", r"keep (?:it|this) quiet",
)
# Subjects only: paperwork and news that are no small talk in a note, yet fine in a
# private note about a person ("the night we debugged the payments outage").
PAPERWORK_WORDS: tuple[str, ...] = (
    r"burn[- ]?out",  # a topic ("his blog post on burnout"); "burned out" is personal
    # In a subject, refused in any sense (accepted false positives: "Court booking for Saturday
    # tennis", "Stroke rate drills"); a note says them precisely, above.
    r"lawyers?", r"attorneys?", r"courts?", r"stroke", r"broke",
    # credentials and money
    r"passwords?",
    r"verification code",
    r"security alert",
    r"payments?",
    r"receipts?",
    r"invoices?",
    r"invoiced",
    r"overdue",
    r"refunds?",
    r"debts?",
    r"loans?",
    r"banks?",
    r"bankrupt(?:cy)?",
    r"foreclos(?:ure|ed)",
    r"repossess(?:ed|ion)",
    r"tax(?:es)?",
    r"payroll",
    r"salary",
    r"salaries",
    r"compensation",
    r"confidential(?:ity)?",
    # tragedies in the news: a forwarded "Everest Tragedy" is not small talk. Accepted false
    # positives: "Star Wars night", "Disaster recovery drill", "Shooting the wedding video".
    r"traged(?:y|ies)",
    r"tragic(?:ally)?",
    r"disasters?",
    r"massacres?",
    r"shootings?",
    r"attack(?:s|ed)?",
    r"wars?",
    r"terror(?:ism|ists?)?",
    r"killed",
    r"killings?",
    r"murder(?:s|ed)?",
    r"victims?",
    r"crash(?:es|ed)?(?! course)",
    r"earthquakes?",
    r"floods?",
    r"flooding",
    r"hurricanes?",
    r"tornado(?:e?s)?",
    r"bomb(?:s|ed|ings?)?",
    r"hostages?",
    # private travel: where someone sleeps and when they are away is theirs to mention
    r"itinerar(?:y|ies)",
    r"bookings?",
    r"reservations?",
)
SENSITIVE_WORDS: tuple[str, ...] = PERSONAL_WORDS + PAPERWORK_WORDS


def _word_alternation(patterns: tuple[str, ...]) -> re.Pattern[str]:
    r"""One compiled regex for whole words matching any of ``patterns`` (one alternative each), in any case.

    \b on both sides: "Rip" in "Ripley" and "ER" in "ERP" never match. Patterns are grouped
    behind a lookahead on their first letter, so at each word only one group is tried, not
    every pattern: about three times faster, and the planner asks it of every due person's
    latest titles. A pattern whose first character is not a plain letter is tried everywhere.
    """
    groups: dict[str, list[str]] = {}
    for pattern in patterns:
        plain = pattern[:1].isalpha() and pattern[1:2] not in ("?", "*", "+", "{")
        groups.setdefault(pattern[0].lower() if plain else "", []).append(f"(?:{pattern})")
    alternatives = [
        f"(?={first})(?:{'|'.join(group)})" if first else "|".join(group) for first, group in groups.items()
    ]
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


@cache
def sensitive_pattern() -> re.Pattern[str]:
    """Subjects and titles: every word above. Compiled on first use: `circleback status` never asks."""
    return _word_alternation(SENSITIVE_WORDS)


@cache
def _personal() -> re.Pattern[str]:
    return _word_alternation(PERSONAL_WORDS)


# A sum of money ("about 3,000 cedis", "4,500 AED a head", "$500", "sends 3k a month") and an ex
# ("ex. baraka's dad"): the words above are whole words, these are not.
_MONEY_OR_EX = re.compile(
    r"(?i)(?:[$€£₱₦¥₹]\s?\d|\b\d[\d,.]*\s?(?:cedis?|naira|pesos?|shillings?|dollars?|euros?|pounds?|rupees?"
    r"|aed|php|usd|gbp|eur|kes|ghs)\b|\b\d+k (?:a|per|each) (?:month|week|year)\b|^\s*ex\s*[.,]"
    r"|^\s*ex[ -]?(?:fianc|boyfriend|girlfriend|husband|wife|partner)|\bR\d[\d,.]*k?\b)"
)


def personal_sensitive(text: str) -> bool:
    """Does a private note touch grief, health, family, the law, a lost job or money trouble?"""
    return _personal().search(text) is not None or _MONEY_OR_EX.search(text) is not None


# A private note that says the person's job (and so their work address) is behind them.
JOB_LEFT_WORDS: tuple[str, ...] = (
    r"lay[- ]?offs?", r"laid off", r"let (?:\w+ )?go", r"made redundant", r"redundanc(?:y|ies)", r"sacked",
    r"fired(?! up)", r"lost (?:his|her|their|my) job", r"pink slip", r"(?-i:RIF(?:'?d)?)", r"out of work",
    r"between jobs", r"job[- ]hunting", r"unemploy(?:ed|ment)", r"no longer (?:at|with)",
    r"left (?:the (?:firm|company|bank|agency|practice|business|team))", r"last day", r"retired",
)


def _finds(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a text holds a word of ``patterns``; compiled on first use, once."""
    compiled = cache(lambda: _word_alternation(patterns))
    return lambda text: compiled().search(text) is not None


_left_their_job = _finds(JOB_LEFT_WORDS)


def left_their_job(note: str) -> bool:
    """Does a private note say they lost or left their job ("let go in the Nov cuts", "retired in May")?"""
    return _left_their_job(note)


# What someone may seek that is theirs alone: an introduction for it is asked discreetly, never
# named, and never started by auto_ask ("trauma counselling", "a family lawyer", "debt advice").
SENSITIVE_TOPIC_WORDS: tuple[str, ...] = (
    r"counsell?(?:ing|or|ors)", r"therap(?:y|ist|ists)", r"psycholog\w*", r"psychiatr\w*", r"mental health",
    r"addiction", r"rehab", r"divorce", r"custody", r"family law(?:yers?)?", r"criminal",
    r"immigration", r"asylum", r"visas?", r"debts?", r"bankrupt\w*", r"insolven\w*", r"lawsuits?", r"litigation",
    r"legal (?:trouble|help|advice|problems?|issues?)", r"fertility", r"(?-i:IVF)", r"grief", r"bereave\w*",
    r"cancer", r"illness", r"trauma\w*", r"abuse", r"harassment", r"discrimination",
    r"tribunals?", r"redundanc(?:y|ies)", r"dismissal", r"whistleblow\w*", r"bridge funding", r"runway",
    r"job (?:search|hunt(?:ing)?)", r"new job", r"a way out", r"jobs?", r"roles", r"(?:a|new) (?:role|position)",
    r"openings?", r"vacanc(?:y|ies)", r"loans?", r"mortgages?", r"money",
)


_topic_words = _finds(SENSITIVE_TOPIC_WORDS)


def sensitive_topic(topic: str) -> bool:
    """Is what someone seeks theirs alone to share (counselling, a legal or health matter, money trouble)?"""
    return _topic_words(topic) or personal_sensitive(topic)
