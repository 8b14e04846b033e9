"""AnnouncementText records (``GET /api/HistoricJoa/AnnouncementText``): pages and rows.

Pure (no I/O). An AnnouncementText page has the Historic JOA's envelope (``paging`` +
``data``) but its records carry an announcement's long texts (``requirementsQualifications``,
``requirementsEducation``, ``duties`` ...; usajobs-api.md §6) and no title, so it must never be
read as a page of Historic JOA records (each would be quarantined for lacking a title).
`is_text_page` tells them apart by the request's endpoint, then by the ledger part, and
only for a page with neither by the records' shape.

`transform_text_page` keeps each record as received (strict JSON text and content hash, one
per control number: the last wins) in `PageRows.texts`; the loader stores them in
`job_historic_text` and fills the long texts of `job_details` that `TEXT_DETAILS` maps, for
jobs only history has (ADR 0028).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from tasman_etl.historic_model import fold_keys
from tasman_etl.rows import PageRows, QuarantineRow
from tasman_etl.storable import storable_text
from tasman_etl.transform import content_hash

__all__ = [
    "DUTIES_KEY",
    "TEXT_DETAILS",
    "TEXT_KIND",
    "TEXT_PART_PREFIX",
    "is_text_page",
    "text_control_number",
    "transform_text_page",
]

TEXT_KIND = "historic-text"
"""`PageRows.kind` of an AnnouncementText page."""
TEXT_PART_PREFIX = "historic-text."
"""Ledger partitions and bronze keys of a window's texts: ``part=historic-text.2019-03``."""

#: `job_details` column -> the AnnouncementText key (lower case: any key case is read) it
#: takes, for a job only history has.
TEXT_DETAILS: dict[str, str] = {
    "qualification_summary": "requirementsqualifications",
    "education": "requirementseducation",
    "requirements": "requirementsconditionsofemployment",
    "evaluations": "evaluations",
    "how_to_apply": "howtoapply",
    "what_to_expect_next": "whattoexpectnext",
    "required_documents": "requireddocuments",
    "other_information": "otherinformation",
}
#: The key whose text, one duty a line, becomes `job_details.major_duties`.
DUTIES_KEY = "duties"

_TEXT_KEYS = frozenset({*TEXT_DETAILS.values(), DUTIES_KEY, "summary"})
_TEXT_ENDPOINT = "/announcementtext"
_RECORDS_ENDPOINT = "/historicjoa"
_RECORDS_PART_PREFIX = "historic."


def _looks_like_texts(payload: Any) -> bool:
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(data, list) or not data:
        return False
    for item in data:
        if not isinstance(item, Mapping):
            return False
        keys = fold_keys(item).keys()
        if "positiontitle" in keys or not keys & _TEXT_KEYS:
            return False
    return True


def is_text_page(endpoint: str | None, part: str | None, payload: Any) -> bool:
    """Whether a Historic JOA-shaped page answered ``/api/HistoricJoa/AnnouncementText``.

    Decided by the request's endpoint when it names either Historic JOA path (any case, a
    query string ignored), else by the ledger part (``historic-text.…`` or ``historic.…``),
    else by the records: every one a JSON object with a long-text key and no title.
    """
    path = urlsplit(endpoint or "").path.lower().rstrip("/")
    if path.endswith(_TEXT_ENDPOINT):
        return True
    if path.endswith(_RECORDS_ENDPOINT):
        return False
    if part:
        if part.startswith(TEXT_PART_PREFIX):
            return True
        if part.startswith(_RECORDS_PART_PREFIX):
            return False
    return _looks_like_texts(payload)


def text_control_number(raw: Any) -> str | None:
    """``usajobsControlNumber`` of a text record (any key case), stripped, or None."""
    if not isinstance(raw, Mapping):
        return None
    value = fold_keys(raw).get("usajobscontrolnumber")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text[:64] if text else None


def transform_text_page(items: Iterable[Any]) -> PageRows:
    """Rows for one AnnouncementText page: each record as received, or quarantined.

    A record that is not a JSON object, has no control number, or cannot be stored as
    jsonb is quarantined with its reason and raw JSON. A control number seen twice on the
    page is one row (the last wins, counted in `duplicates`).
    """
    rows = PageRows(kind=TEXT_KIND)
    kept: dict[str, tuple[str, str]] = {}
    for index, raw in enumerate(items):
        rows.items += 1
        text, unstorable = storable_text(raw)
        cn = text_control_number(raw)
        problem: str | None = None
        if not isinstance(raw, Mapping):
            problem = "AnnouncementText record is not a JSON object"
        elif unstorable is not None:
            problem = unstorable
        elif cn is None:
            problem = "AnnouncementText record has no usajobsControlNumber"
        if problem is not None or cn is None:
            reason = problem or "AnnouncementText record has no usajobsControlNumber"
            rows.quarantine.append(
                QuarantineRow(index, cn, reason, text, storable=unstorable is None)
            )
            continue
        try:
            digest = content_hash(raw)
        except (RecursionError, ValueError, TypeError) as exc:
            reason = f"AnnouncementText record cannot be hashed: {type(exc).__name__}"
            rows.quarantine.append(QuarantineRow(index, cn, reason, text))
            continue
        if cn in kept:
            rows.duplicates += 1
            del kept[cn]  # the last occurrence wins
        kept[cn] = (text, digest)
        rows.item_index[cn] = index
    rows.texts = [(cn, text, digest) for cn, (text, digest) in kept.items()]
    return rows
