"""The Historic JOA client against the simulated API over real HTTP (127.0.0.1).

Sleep is injected as a recorder, so retries never really wait; the simulator's
`historic_records()` is the truth every fetch is compared with.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from sleeps import Sleeps
from tasman_etl.errors import FatalFetchError
from tasman_etl.historic import HistoricRecord, transform_historic_page
from tasman_etl.http.historic import HistoricClient, HistoricQuery, continuation_token
from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 1, tzinfo=UTC)
YEAR_2019 = HistoricQuery(date(2019, 1, 1), date(2019, 12, 31))


@pytest.fixture
def start_sim() -> Iterator[Callable[..., SimulatorServer]]:
    """Start simulators on 127.0.0.1 (free port) and stop them after the test."""
    started: list[SimulatorServer] = []

    def start(**config: Any) -> SimulatorServer:
        base: dict[str, Any] = {
            "jobs": 40,
            "historic_jobs": 600,
            "historic_page_size": 25,
            "now": NOW,
            "auth_key": "search-key-never-sent-here",
        }
        server = SimulatorServer(SimulatorConfig(**{**base, **config}))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def client(sim: SimulatorServer, sleeps: Sleeps, **options: Any) -> HistoricClient:
    return HistoricClient(sim.base_url, timeout=10.0, sleep=sleeps, **options)


def _cn(rec: dict[str, Any]) -> str:
    return HistoricRecord.model_validate(rec).control_number


def test_token_paging_end_to_end_matches_the_truth(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim, sleeps = start_sim(), Sleeps()
    with client(sim, sleeps) as c:
        pages = list(c.pages(YEAR_2019))
    truth = sim.historic_records(YEAR_2019.params())
    assert len(pages) == -(-len(truth) // 25) >= 3
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    assert [r for p in pages for r in p.records] == truth
    assert all(p.total_count == len(truth) and p.status == 200 for p in pages)
    assert pages[0].url.startswith("/api/HistoricJoa?StartPositionOpenDate=2019-01-01")
    assert pages[0].token is None
    for before, after in itertools.pairwise(pages):
        assert after.url == before.next_url  # followed verbatim: the token is not re-encoded
        assert after.token is not None and after.token.endswith("%3D%3D")
    assert pages[-1].next_url is None and not pages[-1].repeated_token
    assert b'"paging"' in pages[0].body and sleeps.calls == []
    log = sim.requests()
    assert [r.path for r in log][1:] == ["/api/historicjoa"] * (len(pages) - 1)
    assert not any(r.had_auth for r in log)  # no Authorization-Key on this API


def test_no_rows_come_as_the_text_204_no_content(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim, sleeps = start_sim(), Sleeps()
    with client(sim, sleeps) as c:
        pages = list(c.pages(HistoricQuery(date(2031, 1, 1), date(2031, 1, 31))))
    assert len(pages) == 1 and pages[0].no_content
    assert pages[0].body == b"204 No Content"
    assert pages[0].payload == {"paging": {"metadata": {"totalCount": 0}}, "data": []}
    assert pages[0].records == [] and pages[0].total_count == 0 and sleeps.calls == []


def test_503_html_and_429_are_retried_with_retry_after(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim = start_sim(faults=FaultPlan(by_request={2: "503", 3: "429"}, retry_after="7"))
    sleeps = Sleeps()
    with client(sim, sleeps) as c:
        pages = list(c.pages(YEAR_2019))
    assert [r for p in pages for r in p.records] == sim.historic_records(YEAR_2019.params())
    assert sleeps.calls == [7.0, 7.0]
    assert [r.status for r in sim.requests()][:4] == [200, 503, 429, 200]
    assert c.retries == 2


def test_persistent_failure_raises_the_fatal_fetch_error(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim = start_sim(faults=FaultPlan(rate=1.0, kinds=("503",), retry_after=None))
    sleeps = Sleeps()
    with client(sim, sleeps, max_attempts=3) as c, pytest.raises(FatalFetchError, match="3 att"):
        c.page(YEAR_2019)
    assert len(sim.requests()) == 3 and len(sleeps.calls) == 2


def test_a_repeated_token_stops_paging_and_is_flagged(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim, sleeps = start_sim(historic_repeat_token=True), Sleeps()
    with client(sim, sleeps) as c:
        pages = list(c.pages(YEAR_2019))
    truth = sim.historic_records(YEAR_2019.params())
    assert pages[-1].repeated_token and pages[-1].next_url is None
    assert not any(p.repeated_token for p in pages[:-1])
    assert [r for p in pages for r in p.records] == truth  # nothing fetched twice
    assert len(sim.requests()) == len(pages)


def test_a_shortfall_is_visible_as_fewer_rows_than_total_count(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim, sleeps = start_sim(historic_shortfall_months=("2019-01",)), Sleeps()
    with client(sim, sleeps) as c:
        pages = list(c.pages(YEAR_2019))
        fine = list(c.pages(HistoricQuery(date(2020, 1, 1), date(2020, 12, 31))))
    rows = sum(len(p.records) for p in pages)
    assert pages[0].total_count == sim.historic_count(YEAR_2019.params())
    assert 0 < rows < pages[0].total_count
    assert sum(len(p.records) for p in fine) == fine[0].total_count


def test_filters_and_case_insensitive_parameters(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim, sleeps = start_sim(historic_jobs=2000), Sleeps()
    query = HistoricQuery(date(2016, 1, 1), date(2024, 12, 31), agencies=("VATA",),
                          series=("0610", "0602", "2210"))  # fmt: skip
    with client(sim, sleeps) as c:
        got = [r for p in c.pages(query) for r in p.records]
        odd = c.page(
            url="/api/HISTORICJOA?startPOSITIONopendate=2016-01-01&ENDPOSITIONOPENDATE=2024-12-31"
            "&hiringagencycodes=vata&positionSERIES=0610,0602,2210"
        )
    assert got and got == sim.historic_records(query.params())
    assert all(r["hiringAgencyCode"] == "VATA" for r in got)
    assert odd.total_count == len(got)


def test_every_served_record_parses_whatever_its_key_spelling(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim, sleeps = start_sim(historic_jobs=1500, historic_page_size=1000), Sleeps()
    query = HistoricQuery(date(2010, 1, 1), date(2030, 1, 1))
    with client(sim, sleeps) as c:
        records = [r for p in c.pages(query) for r in p.records]
    assert {"HiringPaths", "hiringpaths", "disableAppyOnline"} <= {k for r in records for k in r}
    rows = transform_historic_page(records)
    assert rows.quarantine == [] and len(rows.jobs) == len(records) == 1540
    assert sorted(rows.control_numbers) == sorted(_cn(r) for r in records)


def test_announcement_text_pages_and_resuming_from_a_next_url(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim, sleeps = start_sim(), Sleeps()
    with client(sim, sleeps) as c:
        texts = list(c.pages(YEAR_2019, text=True))
        resumed = list(c.pages(YEAR_2019, start_url=texts[1].next_url, start_number=3, text=True))
    assert texts[0].url.startswith("/api/HistoricJoa/AnnouncementText?")
    assert texts[1].url.startswith("/api/historicjoa/announcementtext?continuationtoken=")
    assert [r for p in texts for r in p.records] == sim.historic_texts(YEAR_2019.params())
    assert resumed[0].number == 3
    assert [r for p in resumed for r in p.records] == [r for p in texts[2:] for r in p.records]
    assert continuation_token(texts[1].next_url) == resumed[0].token
