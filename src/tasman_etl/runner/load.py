"""`tasman-etl load`: saved search responses (files or folders) -> bronze -> silver, as one run.

Accepted inputs: a raw search payload or a bronze envelope, `.json` or `.json.gz`.
Codelist responses (`{"CodeList": [...]}`) found alongside are stored in `codelist`.

A loaded page's jobs are recorded under the search scope that returned them (`job_scope`,
what the gold views of a search read): an envelope's own request parameters say which
search it answered; a raw payload says nothing, so its scope is the one given (`scope`,
`load --keyword/--location/--radius`), or none.
A file that cannot be read or is not one of those is reported in one line and counted
as a failed page; the other files still load.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import structlog

from tasman_etl import jsontext
from tasman_etl.dq.outcome import PageGate
from tasman_etl.errors import ConfigError, InputFileError
from tasman_etl.http.codelists import parse_codelist
from tasman_etl.http.usajobs import SearchQuery
from tasman_etl.runner.lifecycle import Run, RunAborted
from tasman_etl.runner.pages import (
    Package,
    PageSource,
    make_record,
    new_run_id,
    page_key,
    parse_timestamp,
    payload_bytes_of,
)
from tasman_etl.runner.reference import store_codelist
from tasman_etl.storage.bronze import BronzeStore

__all__ = ["InputDoc", "LoadResult", "collect_files", "load_paths", "read_input", "scope_of"]

log = structlog.get_logger(__name__)

LOAD_WORKERS = 2
"""Threads reading, capturing and parsing files while the owner thread loads."""

_SUFFIXES = (".json", ".json.gz")


@dataclass(frozen=True)
class LoadResult:
    """The outcome of a `load`: its summary and whether anything failed."""

    run_id: str
    summary: dict[str, Any]
    failed: bool


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders (recursively, sorted) into `.json`/`.json.gz` files; keep files as given.

    Raises ConfigError for a path that does not exist (a usage error: nothing is written).
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.name.endswith(_SUFFIXES) and not p.name.startswith(".")
            )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"no such file or folder: {path}")
    if not files:
        raise ConfigError("no .json or .json.gz files found in the given paths")
    return files


@dataclass(frozen=True)
class InputDoc:
    """A parsed input file: what kind it is and its content."""

    kind: str  # "search" | "envelope" | "codelist"
    document: Mapping[str, Any]
    raw: bytes


def read_input(path: Path) -> InputDoc:
    """Read and classify one input file; raise InputFileError with a one-line reason."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path.name}: cannot read: {exc.strerror}") from exc
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputFileError(f"{path.name}: not valid gzip: {exc}") from exc
    try:
        document = jsontext.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InputFileError(f"{path.name}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InputFileError(
            f"{path.name}: not a search response (top level is "
            f"{type(document).__name__}, expected an object)"
        )
    if "SearchResult" in document:
        return InputDoc("search", document, data)
    response = document.get("response")
    if isinstance(response, dict) and isinstance(response.get("payload"), dict):
        return InputDoc("envelope", document, data)
    if isinstance(document.get("CodeList"), list):
        return InputDoc("codelist", document, data)
    raise InputFileError(f"{path.name}: not a search response, bronze envelope or codelist")


def _source_for(doc: InputDoc, path: Path, page: int, now: datetime) -> PageSource:
    if doc.kind == "search":
        return PageSource(
            page=page,
            part=None,
            endpoint="file",
            params={"file": path.name},
            sent_at=now,
            received_at=now,
            status=200,
            headers={},
            payload_bytes=doc.raw,
            payload=doc.document,
            source=path.name,
        )
    request = doc.document.get("request") or {}
    response = doc.document["response"]
    payload = response["payload"]
    params = request.get("params") if isinstance(request.get("params"), dict) else {}
    headers = response.get("headers") if isinstance(response.get("headers"), dict) else {}
    status = response.get("status")
    return PageSource(
        page=page,
        part=None,
        endpoint=str(request.get("endpoint") or "file"),
        params=params or {"file": path.name},
        sent_at=parse_timestamp(request.get("sent_at"), now),
        received_at=parse_timestamp(response.get("received_at"), now),
        status=status if isinstance(status, int) else 200,
        headers={str(k): str(v) for k, v in (headers or {}).items()},
        payload_bytes=payload_bytes_of(payload),
        payload=payload,
        source=path.name,
    )


def scope_of(doc: InputDoc, given: SearchQuery | None = None) -> str | None:
    """The scope hash of the search a page answered: `given`, else an envelope's request."""
    if given is not None:
        return given.scope_hash()
    if doc.kind != "envelope":
        return None
    request = doc.document.get("request")
    if not isinstance(request, Mapping):
        return None
    params = request.get("params")
    endpoint = str(request.get("endpoint") or "").lower().rstrip("/")
    if not isinstance(params, Mapping) or not endpoint.endswith("/api/search"):
        return None
    try:
        return SearchQuery.from_params(params).scope_hash()
    except ValueError:  # parameters no query could have sent: no scope
        return None


def _codelist_name(path: Path, document: Mapping[str, Any]) -> str:
    stem = path.name.split(".")[0]
    if stem.startswith("codelist_"):
        return stem.removeprefix("codelist_").lower()
    lists = document.get("CodeList") or [{}]
    first = lists[0] if isinstance(lists[0], dict) else {}
    return str(first.get("id") or stem).lower()


class _Numbering:
    """Page numbers in file order, though files are read on several threads.

    Page N of a load is its N-th file that is not a code list (an unreadable file counts:
    it is recorded as a failed page). File i takes its number once file i-1 has taken its
    own; files are handed to the workers in order, so file i-1 is always already read.
    """

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.cond = threading.Condition()
        self.next_index = 0
        self.pages = 0

    def take(self, index: int, *, page: bool) -> int:
        """File `index`'s page number (0 for a code list), after every earlier file's."""
        with self.cond:
            while self.next_index != index:
                if self.stop.is_set():
                    raise RunAborted
                self.cond.wait(0.2)
            self.next_index += 1
            if page:
                self.pages += 1
            self.cond.notify_all()
            return self.pages if page else 0


def load_paths(
    conn: psycopg.Connection[Any],
    store: BronzeStore,
    paths: Iterable[Path],
    *,
    run_id: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    gate: PageGate | None = None,
    scope: SearchQuery | None = None,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Load files and folders of saved responses as one recorded run (checked by `gate`).

    Files are read, captured, parsed and checked on worker threads while the pages before
    them load (the page engine). Page N of the run is the N-th file. Each page's jobs are
    recorded under its search scope (`scope_of`): `scope` when given, else the one an
    envelope's request names.
    """
    files = collect_files(paths)
    now = datetime.now(UTC)
    rid = run_id or new_run_id(now)
    params: dict[str, Any] = {"files": [f.name for f in files]}
    if scope is not None:
        params.update(query=scope.model_dump(mode="json"), search_params=scope.to_params())
    scope_hash = scope.scope_hash() if scope is not None else None
    codelists = 0

    def store_list(name: str, document: Mapping[str, Any]) -> Callable[[Any], None]:
        def apply(db: psycopg.Connection[Any]) -> None:
            nonlocal codelists
            codelists += store_codelist(db, parse_codelist(name, document, fetched_at=now))

        return apply

    with Run(
        conn, rid, command="load", params=params, scope=scope_hash, stop=stop, progress=progress
    ) as run:
        run.total = len(files)
        stages = run.stages(store, now.date(), gate, note_captures=False)
        log.info("load_started", files=len(files), bronze=store.describe())

        numbers = _Numbering(run.stop)

        def source() -> Iterator[Package]:
            for index, path in enumerate(files):
                record = make_record(rid, "", 0, source=path.name)
                yield Package(record, now, tag=(index, path))

        def prepare(pkg: Package) -> Package:
            index, path = pkg.tag
            try:
                doc = read_input(path)
            except BaseException:  # recorded as a failed page: it takes its number
                number = numbers.take(index, page=True)
                pkg.record = replace(pkg.record, page=number, page_key=page_key(number))
                raise
            if doc.kind == "codelist":
                numbers.take(index, page=False)
                pkg.apply = store_list(_codelist_name(path, doc.document), doc.document)
                return pkg
            number = numbers.take(index, page=True)
            pkg.record = replace(pkg.record, page=number, page_key=page_key(number))
            src = _source_for(doc, path, number, now)
            pkg.record = replace(pkg.record, scope_hash=scope_of(doc, scope))
            pkg.src, pkg.seen_at = src, src.received_at
            pkg.record = replace(pkg.record, fetched_at=src.received_at)
            return stages.prepare(pkg)

        run.pump(source(), prepare, workers=LOAD_WORKERS)
        totals = run.summary("succeeded", files=len(files), codelist_values=codelists)
        failed = totals["failed_pages"] > 0 or totals["held_pages"] > 0
        totals["status"] = "failed" if failed else "succeeded"
        summary = run.close(totals)
    return LoadResult(rid, summary, failed)
