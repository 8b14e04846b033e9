"""`tasman-etl run --plan`: the page plan a run would fetch, with nothing written.

Planning needs the API: page 1 of the search (its ``SearchResultCountAll`` gives the page
count) and, for a search at the 10,000-row cap, page 1 of every split probe, plus the code
lists the split bisects (occupational series, organisations). Those requests are made;
nothing else is: no database connection, no bronze object, no ledger row, no code list
stored. The plan then lists, per partition, the pages a run would still request (page 1
of each partition is already fetched during planning, and a run reuses it).
"""

from __future__ import annotations

from typing import Any

from tasman_etl.http.usajobs import CodelistSource, SearchPlan, SearchQuery, UsajobsClient
from tasman_etl.runner.search import plan_records

__all__ = ["describe_plan", "plan_only"]


def plan_only(
    client: UsajobsClient,
    query: SearchQuery,
    *,
    codelists: CodelistSource | None,
    results_per_page: int,
    max_pages: int | None = None,
) -> dict[str, Any]:
    """Plan ``query`` as `run` would (making the planning requests) and describe it."""
    plan = client.plan(query, codelists=codelists, results_per_page=results_per_page)
    return describe_plan(plan, max_pages, endpoint=client.endpoint)


def describe_plan(plan: SearchPlan, max_pages: int | None, *, endpoint: str) -> dict[str, Any]:
    """The plan as JSON-ready data: partitions, their pages, the requests a run would make."""
    records = plan_records(plan, max_pages)
    partitions = []
    for partition, record in zip(plan.partitions, records, strict=True):
        partitions.append(
            {
                "part": partition.key,
                "params": partition.query.to_params(),
                "api_total": partition.count_all,
                "pages": record.pages,
                "over_cap": partition.over_cap,
                # page 1 came with the plan; a run requests pages 2..pages
                "pages_to_request": list(range(2, record.pages + 1)),
            }
        )
    to_fetch = sum(max(0, r.pages - 1) for r in records)
    return {
        "plan": True,
        "written": False,
        "endpoint": endpoint,
        "search": plan.query.to_params(),
        "results_per_page": plan.results_per_page,
        "max_pages": max_pages,
        "planning_requests": plan.requests_used,
        "partitions": partitions,
        "pages": sum(r.pages for r in records),
        "requests_to_fetch": to_fetch,
        "over_cap": [p.key for p in plan.partitions if p.over_cap],
    }
