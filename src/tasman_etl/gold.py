"""Queries over the gold schema, used by `tasman-etl jobs`.

`resolve_place` turns ``"City, State"`` into coordinates from the locations already
loaded (the USAJOBS `LocationName` spelling); `find_jobs` lists jobs from `gold.vw_jobs`,
or within a radius of a point from `gold.jobs_near` (whole rows, with the distance and name
of the job's nearest location), matching a full-text keyword, or open only, up to a limit,
with the total that matched (`query_jobs`: the rows only). One dict per job, whatever its
number of locations, newest first (publication date, then control number).

Everything here reads schema gold only (views and functions), so a login holding just
``tasman_reader`` can run it; `prepare_schema` migrates when the login may, and otherwise
checks the schema is current.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from tasman_etl.db.migrate import AppliedMigration, apply_migrations, load_migrations
from tasman_etl.errors import ConfigError, DatabaseError, MigrationError

__all__ = ["JOB_FIELDS", "JobsPage", "find_jobs", "prepare_schema", "query_jobs", "resolve_place"]

Conn = psycopg.Connection[Any]

#: Columns of each returned job, in output order (`gold.vw_jobs`, or `gold.jobs_near` with
#: its `distance_miles` and `nearest_location` when a point is given).
JOB_FIELDS: tuple[str, ...] = (
    "control_number",
    "position_title",
    "organization_name",
    "department_name",
    "distance_miles",
    "nearest_location",
    "locations",
    "pay_min",
    "pay_max",
    "pay_interval_code",
    "pay_interval",
    "pay_annual_min",
    "pay_annual_max",
    "pay_plan",
    "grade",
    "series",
    "remote_indicator",
    "telework_eligible",
    "apply_url",
    "position_uri",
    "publication_start_date",
    "application_close_date",
    "is_open",
    "inactive_since",
)

#: Columns that only `gold.jobs_near` has (NULL without a point).
_POINT_FIELDS = frozenset({"distance_miles", "nearest_location"})


@dataclass(frozen=True)
class JobsPage:
    """Jobs of one query, up to its limit, and how many matched in all."""

    rows: list[dict[str, Any]]
    total: int

    @property
    def truncated(self) -> bool:
        """True when the limit stopped the list before every matching job."""
        return len(self.rows) < self.total


_RESOLVE = """
    SELECT avg(latitude), avg(longitude), count(*)
      FROM (SELECT DISTINCT latitude, longitude
              FROM gold.vw_job_locations
             WHERE lower(btrim(location_name)) = lower(btrim(%(name)s))
               AND latitude IS NOT NULL AND longitude IS NOT NULL) AS points
"""

_SUGGEST = """
    SELECT btrim(location_name) AS name
      FROM gold.vw_job_locations
     WHERE location_name ILIKE %(pattern)s AND latitude IS NOT NULL
     GROUP BY btrim(location_name)
     ORDER BY count(*) DESC, 1
     LIMIT 3
"""


_MAY_MIGRATE = """
    SELECT to_regclass('public.schema_migrations') IS NULL
        OR has_table_privilege('public.schema_migrations', 'SELECT')
"""


def prepare_schema(conn: Conn) -> list[AppliedMigration]:
    """Make sure the schema is current before querying gold; return migrations applied.

    A login that may read the migration history (the owner, the loader, the embedded
    default) migrates, as every command does. A reader login (``tasman_reader``: gold only)
    may not: it reads `gold.vw_schema_version` instead, and raises MigrationError naming the
    missing versions when the database is behind this tasman-etl (run ``tasman-etl
    migrate`` with the owner's login). ``conn`` must be in autocommit mode.
    """
    try:
        row = conn.execute(_MAY_MIGRATE).fetchone()
    except psycopg.Error as exc:
        raise DatabaseError(f"checking the migration history failed: {exc}") from exc
    if row is not None and row[0]:
        return apply_migrations(conn)
    wanted = max(m.version for m in load_migrations())
    version: int | None = None
    try:
        exists = conn.execute("SELECT to_regclass('gold.vw_schema_version')").fetchone()
        if exists is not None and exists[0] is not None:
            found = conn.execute("SELECT version FROM gold.vw_schema_version").fetchone()
            version = found[0] if found is not None else None
    except psycopg.Error as exc:
        raise DatabaseError(f"reading the schema version failed: {exc}") from exc
    if version is None or version < wanted:
        at = "before migration 8" if version is None else f"at migration {version}"
        raise MigrationError(
            f"the database schema is {at}; this tasman-etl needs migration {wanted}: run "
            "`tasman-etl migrate` with the owner's login (this login may only read gold)"
        )
    return []


def resolve_place(conn: Conn, name: str) -> tuple[float, float]:
    """Coordinates of a place named like a loaded job location (``"Chicago, Illinois"``).

    Case and surrounding blanks are ignored; when the name has several recorded
    coordinates, their average is used. Raises ConfigError when no loaded location
    has that name (with up to three similar names as hints).
    """
    wanted = name.strip()
    if not wanted:
        raise ConfigError("--near needs a place name such as 'Chicago, Illinois'")
    hints: list[str] = []
    try:
        row = conn.execute(_RESOLVE, {"name": wanted}).fetchone()
        if row is None or not row[2]:
            city = wanted.split(",")[0].strip()
            hints = [
                r[0]
                for r in conn.execute(_SUGGEST, {"pattern": f"%{_like_escape(city)}%"}).fetchall()
            ]
    except psycopg.Error as exc:
        raise DatabaseError(f"resolving place {wanted!r} failed: {exc}") from exc
    finally:
        if not conn.autocommit:
            conn.rollback()
    if row is None or not row[2]:
        hint = f"; similar loaded names: {', '.join(hints)}" if hints else ""
        raise ConfigError(
            f"unknown place {wanted!r}: no loaded job location has that name"
            f"{hint}; or give --lat and --lon"
        )
    return float(row[0]), float(row[1])


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_point(lat: float | None, lon: float | None, radius: float) -> None:
    if (lat is None) != (lon is None):
        raise ConfigError("give both --lat and --lon")
    if lat is not None and lon is not None:
        if not (math.isfinite(lat) and -90 <= lat <= 90):
            raise ConfigError(f"latitude must be between -90 and 90, got {lat}")
        if not (math.isfinite(lon) and -180 <= lon <= 180):
            raise ConfigError(f"longitude must be between -180 and 180, got {lon}")
    if not (math.isfinite(radius) and radius >= 0):
        raise ConfigError(f"radius must be a non-negative number of miles, got {radius}")


def query_jobs(
    conn: Conn,
    *,
    lat: float | None = None,
    lon: float | None = None,
    radius: float = 50.0,
    keyword: str | None = None,
    open_only: bool = False,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The rows of `find_jobs` (same arguments)."""
    return find_jobs(
        conn,
        lat=lat,
        lon=lon,
        radius=radius,
        keyword=keyword,
        open_only=open_only,
        limit=limit,
    ).rows


def find_jobs(
    conn: Conn,
    *,
    lat: float | None = None,
    lon: float | None = None,
    radius: float = 50.0,
    keyword: str | None = None,
    open_only: bool = False,
    limit: int = 50,
) -> JobsPage:
    """Jobs from gold, newest first, as dicts keyed by `JOB_FIELDS`, and the total matched.

    With ``lat``/``lon``: rows of `gold.jobs_near` (only jobs with any location within
    ``radius`` miles; ``distance_miles`` and ``nearest_location`` are those of the job's
    location nearest the point), else of `gold.vw_jobs` (both None). ``keyword``: full text
    on title + summary (`websearch_to_tsquery('english', …)`: words are ANDed, ``"quoted
    phrase"``, ``or``, ``-word``). ``open_only``: not inactive and not closed. ``limit``: at
    most this many rows, 0 for all; `JobsPage.total` counts every match.
    """
    _check_point(lat, lon, radius)
    if limit < 0:
        raise ConfigError(f"limit must be 0 (all) or more, got {limit}")
    params: dict[str, Any] = {"limit": limit or None}
    joins: list[sql.Composable] = []
    where: list[sql.Composable] = []
    with_point = False
    if lat is not None and lon is not None:
        with_point = True
        source = sql.SQL("gold.jobs_near(%(lat)s, %(lon)s, %(radius)s) AS v")
        params.update(lat=float(lat), lon=float(lon), radius=float(radius))
    else:
        source = sql.SQL("gold.vw_jobs AS v")
    if keyword is not None and keyword.strip():
        joins.append(sql.SQL("JOIN gold.vw_job_search AS s USING (job_id)"))
        where.append(sql.SQL("s.search_tsv @@ websearch_to_tsquery('english', %(keyword)s)"))
        params["keyword"] = keyword.strip()
    if open_only:
        where.append(sql.SQL("v.is_open"))
    columns = [
        sql.SQL("NULL AS {}").format(sql.Identifier(name))
        if name in _POINT_FIELDS and not with_point
        else sql.SQL("v.{}").format(sql.Identifier(name))
        for name in JOB_FIELDS
    ]
    query = sql.SQL(
        "SELECT {columns}, count(*) OVER () AS _total FROM {source} {joins} {where} "
        "ORDER BY v.publication_start_date DESC NULLS LAST, v.control_number LIMIT %(limit)s"
    ).format(
        columns=sql.SQL(", ").join(columns),
        source=source,
        joins=sql.SQL(" ").join(joins),
        where=sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
    )
    try:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            rows = cur.fetchall()
            total = int(rows[0]["_total"]) if rows else 0
    except psycopg.Error as exc:
        raise DatabaseError(f"querying gold jobs failed: {exc}") from exc
    finally:
        if not conn.autocommit:
            conn.rollback()
    return JobsPage([{k: row[k] for k in JOB_FIELDS} for row in rows], total)
