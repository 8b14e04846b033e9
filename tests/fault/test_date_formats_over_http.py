"""US month/day/year dates served over HTTP load (issue 11, item 8).

The simulator serves 120 jobs in 3 pages; every item's four dates are rewritten to one of
the forms real responses carry (US, padded or not, with or without a 12-hour time, side by
side with ISO in one item), and two items get an impossible date. Before, every US date
quarantined its item (12 % of a real set); now 118 load with the right instants and the
two impossible ones are quarantined with a reason naming the date.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.run import RunOptions, execute_run
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore

pytestmark = [pytest.mark.integration, pytest.mark.fault]

KEY = "dates-key-41f7"
FIELDS = ("PublicationStartDate", "ApplicationCloseDate", "PositionStartDate", "PositionEndDate")


def _us_forms(day: date) -> list[str]:
    """The forms of `day` at midnight that real responses carry, one per field."""
    m, d, y = day.month, day.day, day.year
    return [
        f"{m}/{d}/{y}",
        f"{m:02d}/{d:02d}/{y}",
        f"{m}/{d}/{y} 12:00:00 AM",
        f"{day.isoformat()}T00:00:00.0000",
    ]


def _rewrite(item: dict[str, Any], n: int) -> datetime:
    """Give `item` US dates (rotating forms); return the instant its publication date is."""
    desc = item["MatchedObjectDescriptor"]
    posted = datetime.fromisoformat(desc["PublicationStartDate"][:10]).date()
    forms = _us_forms(posted)
    for k, name in enumerate(FIELDS):
        desc[name] = forms[(n + k) % len(forms)]
    return datetime(posted.year, posted.month, posted.day, tzinfo=UTC)


def test_us_dates_over_http_load_and_impossible_ones_are_quarantined(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    sim = SimulatorServer(SimulatorConfig(jobs=120, seed=17, auth_key=KEY))
    truth = sim.matching({})
    impossible = {truth[10]: "2/30/2025", truth[75]: "13/01/2025"}
    expected: dict[str, datetime] = {}
    rewritten: dict[int, dict[str, Any]] = {}
    for n, cn in enumerate(truth):
        index = sim.universe.index_of(cn)
        item = sim.universe.item(index)
        expected[cn] = _rewrite(item, n)
        if cn in impossible:
            item["MatchedObjectDescriptor"]["PublicationStartDate"] = impossible[cn]
        rewritten[index] = item

    def item_bytes(idx: int, *, radial: bool) -> bytes:
        item = json.loads(json.dumps(rewritten[idx]))
        item["MatchedObjectDescriptor"]["UserArea"]["IsRadialSearch"] = radial
        return json.dumps(item).encode()

    sim.universe.item_bytes = item_bytes  # type: ignore[method-assign]
    config = ClientConfig(
        api_base="http://127.0.0.1:1",
        auth_key=SecretStr(KEY),
        user_agent="dates@tasman-etl.invalid",
        requests_per_second=1000,
        max_attempts=2,
    )
    with sim:
        config = config.model_copy(update={"api_base": sim.base_url})
        with UsajobsClient(config, sleep=lambda s: None) as client:
            result = execute_run(
                conn,
                store,
                client,
                RunOptions(query=SearchQuery(), results_per_page=40),
                stop=threading.Event(),
            )
    s = result.summary
    assert not result.failed, s
    assert (s["pages"], s["items"], s["inserted"], s["quarantined"]) == (3, 120, 118, 2)
    stored = dict(conn.execute("SELECT control_number, publication_start_date FROM job").fetchall())
    assert set(stored) == set(truth) - set(impossible)
    assert all(stored[cn] == expected[cn] for cn in stored)
    quarantined = dict(conn.execute("SELECT control_number, reason FROM quarantine").fetchall())
    assert set(quarantined) == set(impossible)
    for cn, text in impossible.items():
        assert "PublicationStartDate" in quarantined[cn]
        assert f"impossible date '{text}'" in quarantined[cn]
