"""Real-length free text for `SimulatorConfig(text="real")`: real lengths, our own words.

Lengths follow the distributions measured on the real recorded search items in
``../shared/fixtures/usajobs/`` (only the numbers below are taken from them, never any
text): `LENGTHS` holds quantiles of each field's length in characters at the
probabilities `QUANTILES`, and `sample_length` draws from the piecewise-linear inverse
distribution through them. QualificationSummary is measured on all 794 items;
JobSummary separately on the 2016-format items (where it is long) and on the current-format
items (2021-2025); MajorDuties and the long Details texts on the 52 current-format items,
the only ones that carry them.

Words: sentences are composed from the phrase lists here (written for the simulator), one
phrase per slot, so a long field rarely repeats a sentence. The *searchable* phrases
(qualification summary, job summary, major duties: the fields `Keyword` looks at) never
contain the word "data", and every phrase has an id, so a job's searchable extra text is
summarised by a bit mask of the phrases it uses (`SearchablePlan.summary_mask`,
`other_mask`) that the Keyword filter tests against `phrase_mask(word)`.

The real text extends the compact text: searchable fields keep their compact sentences and
add sentences; the other long fields keep the compact text when the drawn length is not
longer (or become empty when the drawn length is under 20 characters).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from tasman_etl.simulator.query import tokenize

__all__ = [
    "LENGTHS",
    "LONG_FIELDS",
    "QUANTILES",
    "SEARCHABLE_PHRASES",
    "SearchablePlan",
    "long_text",
    "mean_length",
    "phrase_mask",
    "sample_length",
    "searchable_plan",
]

QUANTILES: tuple[float, ...] = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0)

# Characters at QUANTILES, measured on the fixtures (n = items measured; mean in chars).
LENGTHS: dict[str, tuple[int, ...]] = {
    "QualificationSummary": (148, 837, 1396, 2409, 3590, 4896, 6660, 7466, 7985),  # 794, 3771
    "JobSummary": (68, 76, 76, 76, 412, 488, 494, 496, 505),  # 52 current-format, 325
    "JobSummary2016": (0, 299, 399, 743, 1251, 1781, 2156, 2327, 2485),  # 742 from 2016, 1271
    "MajorDuties": (305, 366, 373, 568, 966, 1212, 1743, 1914, 4325),  # 52, 1035 (all entries)
    "Education": (0, 0, 53, 71, 742, 2422, 3232, 5176, 5700),  # 52, 1350
    "Requirements": (0, 0, 0, 0, 51, 86, 1425, 1484, 2154),  # 52, 376
    "Evaluations": (74, 190, 205, 278, 278, 948, 1755, 2314, 3227),  # 52, 719
    "HowToApply": (76, 76, 76, 90, 1545, 2117, 2471, 2702, 3442),  # 52, 1290
    "WhatToExpectNext": (66, 323, 347, 388, 654, 1586, 1586, 1586, 1586),  # 52, 847
    "RequiredDocuments": (18, 67, 67, 142, 736, 1976, 3747, 4899, 4901),  # 52, 1323
    "OtherInformation": (132, 483, 483, 561, 2000, 2202, 2317, 2718, 3417),  # 52, 1571
    "AgencyMarketingStatement": (0, 254, 462, 491, 857, 1082, 1096, 1136, 1456),  # 52, 791
}

LONG_FIELDS: tuple[str, ...] = (
    "AgencyMarketingStatement",
    "Education",
    "Requirements",
    "Evaluations",
    "HowToApply",
    "WhatToExpectNext",
    "RequiredDocuments",
    "OtherInformation",
)

# About the mean length of the compact searchable texts, which the real text keeps.
_COMPACT_BASE = {"QualificationSummary": 330, "JobSummary": 260, "MajorDuties": 290}
_EMPTY_BELOW = 20
_DUTY_ENTRY_SENTENCES = 3


def sample_length(rng: random.Random, field: str) -> int:
    """A length in characters for `field`, drawn from its real distribution."""
    knots = LENGTHS[field]
    u = rng.random()
    i = min(bisect_right(QUANTILES, u), len(QUANTILES) - 1)
    p0, p1 = QUANTILES[i - 1], QUANTILES[i]
    q0, q1 = knots[i - 1], knots[i]
    return round(q0 + (q1 - q0) * (u - p0) / (p1 - p0))


def mean_length(field: str) -> float:
    """The mean of `sample_length(_, field)` (the area under the piecewise-linear quantiles)."""
    knots = LENGTHS[field]
    return sum(
        (QUANTILES[i + 1] - QUANTILES[i]) * (knots[i] + knots[i + 1]) / 2
        for i in range(len(QUANTILES) - 1)
    )


# ---- searchable phrases (never the word "data") ------------------------------------------

_QUALIFICATION_OPENERS = (
    "Examples of qualifying experience include",
    "Specialized experience at this level includes",
    "Your resume should show experience",
    "Applicants should demonstrate skill in",
    "Credit is given for work",
    "Qualifying experience may consist of",
    "The assessment looks for evidence of",
    "Experience must clearly show a history of",
    "At the full performance level this includes",
    "Acceptable experience also covers",
    "Your application should describe experience",
    "Relevant experience includes",
    "We will look for experience",
    "Successful candidates will have a record of",
    "Other qualifying experience includes",
    "You may also qualify with experience",
)
_SUMMARY_OPENERS = (
    "In this role you will",
    "The selectee will",
    "As a member of the team you will",
    "Typical assignments will ask you to",
    "You will be expected to",
    "The person in this position will",
    "From the first day you will",
    "Over time you will",
)
# (third person, gerund, base form) of each activity.
_VERBS = (
    ("plans and coordinates", "planning and coordinating", "plan and coordinate"),
    ("reviews and evaluates", "reviewing and evaluating", "review and evaluate"),
    ("prepares", "preparing", "prepare"),
    ("analyzes", "analyzing", "analyze"),
    ("manages", "managing", "manage"),
    ("advises managers on", "advising managers on", "advise managers on"),
    ("develops", "developing", "develop"),
    ("monitors", "monitoring", "monitor"),
    ("interprets", "interpreting", "interpret"),
    ("negotiates", "negotiating", "negotiate"),
    ("inspects", "inspecting", "inspect"),
    ("documents", "documenting", "document"),
    ("tracks", "tracking", "track"),
    ("oversees", "overseeing", "oversee"),
    ("improves", "improving", "improve"),
    ("maintains", "maintaining", "maintain"),
    ("schedules", "scheduling", "schedule"),
    ("audits", "auditing", "audit"),
    ("presents", "presenting", "present"),
    ("resolves problems with", "resolving problems with", "resolve problems with"),
    ("trains staff on", "training staff on", "train staff on"),
    ("drafts", "drafting", "draft"),
    ("administers", "administering", "administer"),
    ("supports", "supporting", "support"),
    ("leads", "leading", "lead"),
    ("estimates the cost of", "estimating the cost of", "estimate the cost of"),
    ("tests", "testing", "test"),
    ("briefs senior leaders on", "briefing senior leaders on", "brief senior leaders on"),
    ("updates", "updating", "update"),
    ("assesses the risk of", "assessing the risk of", "assess the risk of"),
)
_OBJECTS = (
    "program budgets and spending plans",
    "written reports and correspondence",
    "work schedules and staffing plans",
    "contracts and purchase agreements",
    "safety inspections and hazard reports",
    "policies, regulations and procedures",
    "customer inquiries and complaints",
    "training courses and materials",
    "equipment maintenance records",
    "performance measures for a program",
    "project plans and milestones",
    "case files and legal documents",
    "facility operations and repairs",
    "audits of financial transactions",
    "public outreach campaigns",
    "field surveys and site visits",
    "grant applications and awards",
    "personnel actions and position descriptions",
    "information technology services",
    "network and server operations",
    "medical records and patient schedules",
    "emergency response plans",
    "inventory and supply requests",
    "travel and transportation arrangements",
    "laboratory tests and technical findings",
    "engineering drawings and specifications",
    "environmental reviews",
    "quality assurance checks",
    "operating procedures for a work unit",
    "cost estimates for new projects",
    "briefing materials for executives",
    "security clearances and access requests",
    "claims for benefits",
    "loan and payment records",
    "construction projects",
    "aircraft and vehicle operations",
    "investigations and inspections",
    "meetings with outside partners",
    "management studies",
    "the work of a small team",
    "records management programs",
    "fleet and equipment inventories",
    "accounts payable and receivable",
    "housing and lodging programs",
    "recruitment events",
    "labor relations cases",
    "ethics and compliance reviews",
    "mail and records services",
    "print and web publications",
    "radio and telephone systems",
    "water and wastewater systems",
    "heating and cooling equipment",
    "land use permits",
    "wildlife and habitat projects",
    "food service operations",
    "pharmacy and supply orders",
    "clinical care plans",
    "passport and visa applications",
    "border and port inspections",
    "tax returns and payments",
    "insurance claims",
    "retirement and benefit cases",
    "agreements with state and local partners",
    "records requests from the public",
    "cyber incident reports",
    "software releases",
    "help desk tickets",
    "physical security systems",
    "weapons and ammunition inventories",
    "vehicle maintenance schedules",
)
_SETTINGS = (
    "for a federal agency",
    "in a large organization",
    "with little or no supervision",
    "under tight deadlines",
    "across several regional offices",
    "in line with federal rules",
    "for senior management",
    "in a busy office",
    "for internal and external customers",
    "as part of a multidisciplinary team",
    "in a field location",
    "on a recurring basis",
    "in a regulated environment",
    "at a medical center",
    "at a military installation",
    "in support of the agency mission",
    "within a set budget",
    "during emergencies and peak periods",
    "for programs of national scope",
    "with attention to detail",
    "for a regional director",
    "at headquarters",
    "in a remote location",
    "with a diverse workforce",
    "for a program office",
    "at a national laboratory",
    "at a port of entry",
    "in a hospital setting",
    "in a call center",
    "for a national park",
    "on a ship or at a shipyard",
    "on rotating shifts",
    "for a small business",
    "with other federal agencies",
    "with state and local governments",
    "in a research setting",
    "while traveling",
    "during audits and reviews",
    "for several programs at once",
    "under changing priorities",
)


def _table(groups: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], list[bytes]]:
    """All phrases in one tuple, and each group as a slot: a 256-byte translation table
    from a random byte to the id of one of the group's phrases (ids must stay below 256)."""
    phrases: list[str] = []
    slots: list[bytes] = []
    for group in groups:
        ids = range(len(phrases), len(phrases) + len(group))
        slots.append(bytes(ids[b % len(ids)] for b in range(256)))
        phrases.extend(group)
    if len(phrases) > 256:
        raise ValueError("a phrase table holds at most 256 phrases")
    return tuple(phrases), slots


SEARCHABLE_PHRASES, (_Q_OPEN, _S_OPEN, _THIRD, _GERUND, _BASE, _OBJ, _SET) = _table(
    (
        _QUALIFICATION_OPENERS,
        _SUMMARY_OPENERS,
        tuple(v[0][:1].upper() + v[0][1:] for v in _VERBS),  # they start duty sentences
        tuple(v[1] for v in _VERBS),
        tuple(v[2] for v in _VERBS),
        _OBJECTS,
        _SETTINGS,
    )
)
_SEARCHABLE_TOKENS = [frozenset(tokenize(p)) for p in SEARCHABLE_PHRASES]

# Slots of each kind of searchable sentence.
_QUALIFICATION = (_Q_OPEN, _GERUND, _OBJ, _SET)
_SUMMARY = (_S_OPEN, _BASE, _OBJ, _SET)
_DUTY = (_THIRD, _OBJ, _SET)

Columns = tuple[bytes, ...]
"""Sentences column-wise: column k holds every sentence's phrase id for slot k."""


def _spaced(phrases: Sequence[str]) -> tuple[str, ...]:
    """Each phrase with a leading space ("" stays ""), so a sentence is one join."""
    return tuple(f" {p}" if p else "" for p in phrases)


_SEARCHABLE_SPACED = _spaced(SEARCHABLE_PHRASES)


def _mean_sentence(slots: Sequence[bytes], phrases: Sequence[str]) -> float:
    # Mean characters of a sentence plus the space that separates it from the next.
    words = sum(sum(len(phrases[i]) for i in slot) / len(slot) for slot in slots)
    # n non-empty phrases: n-1 spaces inside, the full stop, one space before the next.
    spaces = sum(sum(1 for i in slot if phrases[i]) / len(slot) for slot in slots)
    return words + spaces + 1


def _compose(rng: random.Random, slots: Sequence[bytes], chars: float, mean: float) -> Columns:
    """About `chars` characters of sentences (none when `chars` is under half a sentence)."""
    count = round(chars / mean) if chars > 0 else 0
    if count <= 0:
        return ()
    return tuple(rng.randbytes(count).translate(slot) for slot in slots)


def _sentences(columns: Columns, spaced: Sequence[str]) -> list[str]:
    """The sentences (first slots are capitalised phrases), each with its full stop."""
    get = spaced.__getitem__
    return ["".join(map(get, ids))[1:] + "." for ids in zip(*columns, strict=True)]


def _mask(*columns: Columns) -> int:
    used: set[int] = set()
    for cols in columns:
        for column in cols:
            used.update(column)
    return sum(1 << i for i in used)


def phrase_mask(word: str) -> int:
    """Bit mask of the searchable phrases that contain `word` (a lower-case token)."""
    mask = 0
    for i, tokens in enumerate(_SEARCHABLE_TOKENS):
        if word in tokens:
            mask |= 1 << i
    return mask


_MEAN_Q = _mean_sentence(_QUALIFICATION, SEARCHABLE_PHRASES)
_MEAN_S = _mean_sentence(_SUMMARY, SEARCHABLE_PHRASES)
_MEAN_D = _mean_sentence(_DUTY, SEARCHABLE_PHRASES)


class SearchablePlan(NamedTuple):
    """The extra sentences of one job's searchable fields, as phrase ids (`Columns`)."""

    qualification: Columns
    summary: Columns
    duties: Columns

    @property
    def summary_mask(self) -> int:
        """Phrases used by the job summary's extra sentences."""
        return _mask(self.summary)

    @property
    def other_mask(self) -> int:
        """Phrases used by the qualification summary's and major duties' extra sentences."""
        return _mask(self.qualification, self.duties)

    def qualification_text(self) -> str:
        """The qualification summary's extra sentences as text ("" when none)."""
        return " ".join(_sentences(self.qualification, _SEARCHABLE_SPACED))

    def summary_text(self) -> str:
        """The job summary's extra sentences as text ("" when none)."""
        return " ".join(_sentences(self.summary, _SEARCHABLE_SPACED))

    def duty_entries(self) -> list[str]:
        """Extra MajorDuties entries, a few sentences each."""
        duties = _sentences(self.duties, _SEARCHABLE_SPACED)
        step = _DUTY_ENTRY_SENTENCES
        return [" ".join(duties[i : i + step]) for i in range(0, len(duties), step)]


def searchable_plan(seed: int, idx: int, *, current_format: bool) -> SearchablePlan:
    """The extra searchable sentences of job `idx` (deterministic from seed and index).

    `current_format` is false for 2016-style items: their JobSummary is the long 2016 one
    and they get no extra MajorDuties (2016 responses had none).
    """
    rng = random.Random(f"tasman-sim:{seed}:text:{idx}")  # noqa: S311 - not crypto
    q_chars = sample_length(rng, "QualificationSummary") - _COMPACT_BASE["QualificationSummary"]
    summary_field = "JobSummary" if current_format else "JobSummary2016"
    s_chars = sample_length(rng, summary_field) - _COMPACT_BASE["JobSummary"]
    d_chars = (
        sample_length(rng, "MajorDuties") - _COMPACT_BASE["MajorDuties"] if current_format else 0
    )
    return SearchablePlan(
        qualification=_compose(rng, _QUALIFICATION, q_chars, _MEAN_Q),
        summary=_compose(rng, _SUMMARY, s_chars, _MEAN_S),
        duties=_compose(rng, _DUTY, d_chars, _MEAN_D),
    )


# ---- the other long texts (not searchable: any words) ------------------------------------

_FIELD_OPENERS: dict[str, tuple[str, ...]] = {
    "Education": (
        "If you qualify on education,",
        "For education to be credited,",
        "Note that",
        "Under the qualification standard,",
        "When education is combined with experience,",
    ),
    "Requirements": (
        "As a condition of employment,",
        "Before you start,",
        "Note that",
        "If you are selected,",
        "Throughout your employment,",
    ),
    "Evaluations": (
        "During the assessment,",
        "When we rate your application,",
        "Note that",
        "After the announcement closes,",
        "To be referred,",
    ),
    "HowToApply": (
        "To apply,",
        "Before you submit,",
        "Note that",
        "If you need help,",
        "When you apply,",
    ),
    "WhatToExpectNext": (
        "After you apply,",
        "Within a few weeks,",
        "If you are referred,",
        "Note that",
        "Once a selection is made,",
    ),
    "RequiredDocuments": (
        "With your application,",
        "If you claim a preference,",
        "Note that",
        "For current employees,",
        "To prove eligibility,",
    ),
    "OtherInformation": (
        "Please be aware that",
        "In addition,",
        "Note that",
        "For this position,",
        "Where the law allows,",
    ),
    "AgencyMarketingStatement": (
        "At our agency,",
        "Every day,",
        "Across the country,",
        "In our workplace,",
        "As a public servant,",
    ),
}
_FIELD_CLAUSES: dict[str, tuple[str, ...]] = {
    "Education": (
        "coursework must be from an accredited college or university",
        "graduate study may substitute for experience at some grades",
        "foreign degrees must be evaluated by a credential service",
        "you should list course titles, credit hours and grades",
        "a degree in a related field may meet the requirement",
        "semester hours are converted from quarter hours",
    ),
    "Requirements": (
        "you must pass a pre-employment drug test",
        "you must register with the Selective Service if required",
        "you must hold a valid driver's license",
        "you may need to obtain a security clearance",
        "you must complete a declaration for federal employment",
        "you may need to file a financial disclosure report",
    ),
    "Evaluations": (
        "your application is rated against the listed competencies",
        "qualified candidates are placed in quality categories",
        "the questionnaire measures the skills needed for the job",
        "structured interviews may be part of the assessment",
        "ratings may be lowered if your resume does not support them",
        "competencies include communication and problem solving",
    ),
    "HowToApply": (
        "you must complete the online questionnaire",
        "you must upload every required document",
        "your application must be received before midnight Eastern Time",
        "you can update your application until the closing date",
        "you should review your application before you submit it",
        "help is available from the agency contact listed below",
    ),
    "WhatToExpectNext": (
        "you will receive an email when your application is received",
        "the best qualified candidates are referred to the hiring manager",
        "interviews may be held by phone or video",
        "a tentative offer depends on a background check",
        "the final offer includes your start date",
        "you will be notified when a selection is made",
    ),
    "RequiredDocuments": (
        "you must submit a resume that lists your work history",
        "a DD-214 is needed to claim veterans' preference",
        "an SF-50 shows your current grade and tenure",
        "a letter from the VA supports a disability preference",
        "transcripts are needed if you qualify on education",
        "personal identifiers should be removed before upload",
    ),
    "OtherInformation": (
        "recruitment incentives may be offered",
        "the agency takes part in E-Verify",
        "telework may be approved by your supervisor",
        "this announcement may close early once enough applications arrive",
        "salary above the minimum may be offered for superior qualifications",
        "the duty station may change with the needs of the agency",
    ),
    "AgencyMarketingStatement": (
        "our employees serve millions of people",
        "we invest in training and career growth",
        "our teams solve problems at national scale",
        "we value a workplace that reflects the public we serve",
        "you will work with experienced and dedicated colleagues",
        "our benefits support you and your family",
    ),
}
_SHARED_CLAUSES = (
    "your resume must show the dates and hours of each job",
    "the agency may verify the information you provide",
    "incomplete applications will not be considered",
    "you must meet all requirements by the closing date",
    "each document must be legible and complete",
    "you may be asked to provide more information",
    "we will contact you by email about your status",
    "false statements may be grounds for removal",
    "reasonable accommodation is available on request",
    "your answers must be supported by your resume",
    "the hiring manager makes the final decision",
    "veterans' preference is applied as required by law",
    "the announcement may be used to fill more vacancies",
    "relocation costs will not be paid",
    "a background check is required for all new hires",
    "pay is set under federal pay rules",
    "part-time work is credited by the hours you worked",
    "transcripts from accredited schools are accepted",
    "you can check your status online at any time",
    "we do not accept documents sent by mail",
    "the selecting official may interview the best candidates",
    "a probationary period may be required",
    "you must be a citizen or national of the United States",
    "the position may be filled at any of the listed grades",
    "travel may be required for training",
    "current employees must submit their latest appraisal",
    "volunteer work counts as qualifying experience",
    "your application will be reviewed in the order received",
    "only the most recent version of your application is kept",
    "the agency follows equal employment opportunity rules",
    "selections are made without regard to political affiliation",
    "the agency provides reasonable accommodation to applicants with disabilities",
    "you may be required to serve a trial period",
    "applicants with prior federal service may qualify at a higher step",
    "your most recent performance rating must be at least fully successful",
    "annual leave accrues from the first pay period",
    "the position is covered by a bargaining unit",
    "training will be provided after you start",
    "this is a permanent full-time position",
    "shift work and weekend duty may be required",
    "you may be asked to work overtime",
    "some positions require a medical examination",
    "on-call duty may be part of the job",
    "the work can involve lifting up to forty pounds",
    "the workplace is free of tobacco products",
    "your first paycheck may take up to four weeks",
    "direct deposit of pay is required",
    "temporary appointments may be extended",
    "moving expenses may be paid for some positions",
    "student loan repayment may be offered",
    "you may be eligible for a flexible work schedule",
    "the agency offers an employee assistance program",
    "health insurance starts in the first month of service",
    "military spouses may apply under a special authority",
    "people with disabilities may apply under Schedule A",
    "former Peace Corps volunteers may be eligible",
    "you will be asked to sign a nondisclosure agreement",
    "credit for prior work may raise your starting pay",
    "positions outside the country carry extra allowances",
    "the pay range shown includes a locality payment",
    "you must keep your contact details up to date",
    "an interview panel may include subject matter experts",
    "references may be contacted before an offer is made",
    "questions about the vacancy go to the contact listed",
    "the agency does not sponsor work visas",
    "applications submitted by fax are not accepted",
    "documents in a language other than English need a translation",
    "your application is kept for ninety days",
    "you may apply for more than one grade",
    "your resume should not exceed two pages",
)
_CLOSERS = (
    "",
    "",
    "before the closing date",
    "unless the announcement says otherwise",
    "as described in this announcement",
    "at the time you apply",
    "in accordance with agency policy",
    "where the law requires it",
    "for every position filled",
    "as soon as possible",
    "without exception",
    "when it applies to you",
    "during the hiring process",
    "in most cases",
    "for this vacancy",
    "under current rules",
    "at our discretion",
    "for the first year",
    "before any offer is final",
    "after you are selected",
    "while the vacancy is open",
    "for all applicants",
    "as a rule",
    "without delay",
    "each pay period",
    "from time to time",
)


def _long_tables() -> dict[str, tuple[tuple[str, ...], list[bytes], float]]:
    out = {}
    for field in LONG_FIELDS:
        clauses = _FIELD_CLAUSES[field] + _SHARED_CLAUSES
        phrases, slots = _table((_FIELD_OPENERS[field], clauses, _CLOSERS))
        out[field] = (_spaced(phrases), slots, _mean_sentence(slots, phrases))
    return out


_LONG = _long_tables()


def long_text(rng: random.Random, field: str, compact: str) -> str:
    """`field`'s text at a real length: `compact` extended with sentences, kept, or emptied."""
    target = sample_length(rng, field)
    if target < _EMPTY_BELOW:
        return ""
    if target <= len(compact):
        return compact
    spaced, slots, mean = _LONG[field]
    extra = _compose(rng, slots, target - len(compact) - 1, mean)
    if not extra:
        return compact
    text = " ".join(_sentences(extra, spaced))
    return f"{compact} {text}" if compact else text
