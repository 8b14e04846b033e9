"""What the job seeker's page shows, read from gold: open jobs, their places, a word index.

`read_site_data` reads schema gold only (`gold.vw_jobs`, `gold.vw_job_locations`,
`gold.vw_job_search`, `gold.vw_de_jobs_all`), so a ``tasman_reader`` login can build the
site. The result is plain data (`SiteData`); `tasman_etl.site.build` writes it as files.

Shapes, chosen to keep the page's data small and quick to parse:

* one row per **open** job (`gold.is_open`: not inactive, closing day in New York not over),
  newest first as in the gold views (publication date, then control number);
* each distinct place (name and coordinates) once, jobs pointing at places by index, so a
  nationwide posting with 1,200 locations costs 1,200 small integers;
* the title + summary lexemes of `gold.vw_job_search` as an inverted index (lexeme -> job
  indexes, delta-encoded), which the page matches the way ``websearch_to_tsquery('english',
  ...)`` does, stemming the query with the same Snowball English stemmer;
* the jobs the founding keyword ("data engineering") matches, computed here by the database.
  Where the founding search looked (any location within 50 miles of Chicago), what USAJOBS
  returned for it decides (`gold.vw_de_jobs_all`; the API's keyword search reads more fields
  than title and summary, ADR 0024); elsewhere, title + summary in full text, as for any
  other keyword. So the page opened with its defaults lists exactly what
  `gold.vw_de_jobs_chicago` lists (before its word index has even loaded), and the same
  keyword near another place still finds that place's jobs. A database where the founding
  search never ran uses full text everywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from tasman_etl.errors import DatabaseError

__all__ = ["FOUNDING", "Founding", "Job", "Place", "SiteData", "read_site_data"]

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Founding:
    """The founding search, as `gold.vw_de_jobs_chicago` encodes it (its keyword and point)."""

    keyword: str = "data engineering"
    place: str = "Chicago, Illinois"
    lat: float = 41.8781
    lon: float = -87.6298
    radius_miles: float = 50.0


#: The page's default filters (what it shows when opened without any).
FOUNDING = Founding()


@dataclass(frozen=True)
class Place:
    """A distinct job location: its name as the API spells it and its coordinates."""

    name: str
    lat: float | None
    lon: float | None


@dataclass
class Job:
    """One open job as the page lists it (details loaded on demand are kept apart)."""

    control_number: str
    title: str
    agency: str
    department: str
    pay_min: float | None
    pay_max: float | None
    pay_interval: str
    pay_annual_min: float | None
    pay_annual_max: float | None
    grade: str
    published: str
    closes: str
    remote: bool
    telework: bool
    apply_url: str
    places: list[int] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SiteData:
    """Everything the page needs, in list order (newest first)."""

    jobs: list[Job]
    places: list[Place]
    lexemes: dict[str, list[int]]
    founding_jobs: list[int]
    keyword_jobs: list[int]
    built_at: datetime


_JOBS = """
    SELECT v.job_id, v.control_number, v.position_title, v.organization_name,
           v.department_name, v.pay_min, v.pay_max, v.pay_interval, v.pay_annual_min,
           v.pay_annual_max, v.grade, v.pay_plan, v.series, v.series_name,
           v.remote_indicator, v.telework_eligible, v.apply_url, v.position_uri,
           v.job_summary,
           to_char(v.publication_start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
           to_char(v.application_close_date AT TIME ZONE 'UTC', 'YYYY-MM-DD')
      FROM gold.vw_jobs AS v
     WHERE v.is_open
     ORDER BY v.publication_start_date DESC NULLS LAST, v.control_number
"""

_LOCATIONS = """
    SELECT l.job_id, btrim(l.location_name), l.latitude, l.longitude
      FROM gold.vw_job_locations AS l
     WHERE l.job_id = ANY(%(ids)s) AND l.location_name IS NOT NULL
     ORDER BY l.job_id, l.loc_idx
"""

_LEXEMES = """
    SELECT s.job_id, tsvector_to_array(s.search_tsv)
      FROM gold.vw_job_search AS s
     WHERE s.job_id = ANY(%(ids)s) AND s.search_tsv IS NOT NULL
"""

_FOUNDING = "SELECT control_number FROM gold.vw_de_jobs_all"

_FOUNDING_RAN = "SELECT 1 FROM gold.vw_de_jobs_all LIMIT 1"

_NEAR_FOUNDING = "SELECT job_id FROM gold.jobs_near(%(lat)s, %(lon)s, %(radius_miles)s)"

_FULL_TEXT = """
    SELECT s.job_id
      FROM gold.vw_job_search AS s
     WHERE s.job_id = ANY(%(ids)s)
       AND s.search_tsv @@ websearch_to_tsquery('english', %(keyword)s)
"""

_NOW = "SELECT now()"


def _num(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def read_site_data(conn: Conn) -> SiteData:
    """Read the page's data from gold in one snapshot (a repeatable-read transaction)."""
    try:
        with conn.transaction():
            if conn.autocommit:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return _read(conn)
    except psycopg.Error as exc:
        raise DatabaseError(f"reading gold for the site failed: {exc}") from exc


def _read(conn: Conn) -> SiteData:
    now_row = conn.execute(_NOW).fetchone()
    built_at: datetime = now_row[0] if now_row else datetime.now().astimezone()
    jobs: list[Job] = []
    index_of: dict[int, int] = {}
    with conn.cursor() as cur:
        cur.execute(_JOBS)
        for row in cur:
            (job_id, cn, title, agency, dept, pmin, pmax, interval, amin, amax, grade) = row[:11]
            (pay_plan, series, series_name, remote, telework, apply_url, uri, summary) = row[11:19]
            published, closes = row[19], row[20]
            index_of[int(job_id)] = len(jobs)
            jobs.append(
                Job(
                    control_number=str(cn),
                    title=str(title or ""),
                    agency=str(agency or ""),
                    department=str(dept or ""),
                    pay_min=_num(pmin),
                    pay_max=_num(pmax),
                    pay_interval=str(interval or ""),
                    pay_annual_min=_num(amin),
                    pay_annual_max=_num(amax),
                    grade=str(grade or ""),
                    published=str(published or ""),
                    closes=str(closes or ""),
                    remote=bool(remote),
                    telework=bool(telework),
                    apply_url=str(apply_url or uri or ""),
                    details={
                        "summary": summary or "",
                        "pay_plan": pay_plan or "",
                        "series": series or "",
                        "series_name": series_name or "",
                        "position_uri": uri or "",
                    },
                )
            )
    ids = list(index_of)
    places: list[Place] = []
    place_of: dict[tuple[str, float | None, float | None], int] = {}
    with conn.cursor() as cur:
        cur.execute(_LOCATIONS, {"ids": ids})
        for job_id, name, lat, lon in cur:
            key = (str(name), _num(lat), _num(lon))
            at = place_of.get(key)
            if at is None:
                at = place_of[key] = len(places)
                places.append(Place(*key))
            jobs[index_of[int(job_id)]].places.append(at)
    lexemes: dict[str, list[int]] = {}
    with conn.cursor() as cur:
        cur.execute(_LEXEMES, {"ids": ids})
        for job_id, words in cur:
            at = index_of[int(job_id)]
            for word in words or ():
                lexemes.setdefault(word, []).append(at)
    for postings in lexemes.values():
        postings.sort()
    by_cn = {job.control_number: at for at, job in enumerate(jobs)}
    founding = sorted(
        by_cn[cn] for cn in (str(r[0]) for r in conn.execute(_FOUNDING).fetchall()) if cn in by_cn
    )
    text_matches = {
        index_of[int(r[0])]
        for r in conn.execute(_FULL_TEXT, {"ids": ids, "keyword": FOUNDING.keyword}).fetchall()
    }
    if conn.execute(_FOUNDING_RAN).fetchone() is not None:
        # Where the founding search looked, USAJOBS's answer decides; elsewhere, full text.
        looked = {
            index_of[int(r[0])]
            for r in conn.execute(_NEAR_FOUNDING, asdict(FOUNDING)).fetchall()
            if int(r[0]) in index_of
        }
        text_matches -= looked
    keyword_jobs = sorted(text_matches.union(founding))
    return SiteData(jobs, places, lexemes, founding, keyword_jobs, built_at)
