"""The page engine's executor, with fake stages (no database, no network).

Each test states one of the thread-ownership rules of `tasman_etl.runner.engine` and
checks it with stages that record what they saw.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from tasman_etl.runner.engine import Done, Window, execute


class Recorder:
    """Fake stages: `prepare` doubles a number on a worker, `finish` keeps it in order."""

    def __init__(self, gates: dict[int, threading.Event] | None = None) -> None:
        self.gates = gates or {}
        self.lock = threading.Lock()
        self.active = 0
        self.most_active = 0
        self.prepared_on: set[str] = set()
        self.finished: list[tuple[int, int | None, str | None]] = []
        self.finished_on: set[str] = set()

    def prepare(self, task: int) -> int:
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            self.prepared_on.add(threading.current_thread().name)
        try:
            gate = self.gates.get(task)
            if gate is not None:
                assert gate.wait(10), f"task {task} was never released"
            if task < 0:
                raise ValueError(f"bad task {task}")
            return task * 2
        finally:
            with self.lock:
                self.active -= 1

    def finish(self, done: Done[int, int]) -> None:
        self.finished_on.add(threading.current_thread().name)
        error = None if done.error is None else str(done.error)
        self.finished.append((done.task, done.package, error))


def test_every_task_is_finished_once_in_source_order_on_the_calling_thread() -> None:
    rec = Recorder()
    count = execute(range(50), rec.prepare, rec.finish, workers=4, window=Window(tasks=6))
    assert count == 50
    assert [t for t, _, _ in rec.finished] == list(range(50))
    assert [p for _, p, _ in rec.finished] == [2 * t for t in range(50)]
    assert rec.finished_on == {threading.current_thread().name}
    assert threading.current_thread().name not in rec.prepared_on


def test_a_slow_first_task_does_not_reorder_the_finish() -> None:
    release = threading.Event()
    rec = Recorder({0: release})
    seen_before_release: list[int] = []

    def finish(done: Done[int, int]) -> None:
        seen_before_release.append(int(release.is_set()))
        rec.finish(done)

    timer = threading.Timer(0.2, release.set)
    timer.start()
    execute(range(5), rec.prepare, finish, workers=3, window=Window(tasks=5))
    timer.join()
    assert [t for t, _, _ in rec.finished] == [0, 1, 2, 3, 4]
    assert seen_before_release == [1, 1, 1, 1, 1]


def test_no_more_than_the_window_is_taken_in() -> None:
    taken: list[int] = []
    finished: list[int] = []

    def source() -> Iterator[int]:
        for n in range(20):
            # The source runs on the owner thread: what is taken but unfinished is the window.
            assert len(taken) - len(finished) <= 3
            taken.append(n)
            yield n

    def finish(done: Done[int, int]) -> None:
        finished.append(done.task)

    execute(source(), lambda n: n, finish, workers=8, window=Window(tasks=3))
    assert finished == list(range(20))


def test_workers_bound_how_many_tasks_are_prepared_at_once() -> None:
    gates = {n: threading.Event() for n in range(6)}
    rec = Recorder(gates)
    timer = threading.Timer(0.3, lambda: [g.set() for g in gates.values()])
    timer.start()
    execute(range(6), rec.prepare, rec.finish, workers=2, window=Window(tasks=6))
    timer.join()
    assert rec.most_active == 2
    assert len(rec.finished) == 6


def test_intake_pauses_while_waiting_packages_weigh_the_byte_budget() -> None:
    release = threading.Event()
    taken: list[int] = []
    most_waiting = 0
    waiting: list[int] = []
    lock = threading.Lock()

    def source() -> Iterator[int]:
        for n in range(10):
            taken.append(n)
            yield n

    def prepare(n: int) -> bytes:
        if n == 0:
            assert release.wait(10)
        return b"x" * 100

    def finish(done: Done[int, bytes]) -> None:
        nonlocal most_waiting
        with lock:
            most_waiting = max(most_waiting, len(taken) - len(waiting))
            waiting.append(done.task)

    timer = threading.Timer(0.3, release.set)
    timer.start()
    # Task 0 is slow; the others are prepared at once and wait behind it. Every package
    # weighs 100 bytes (one still being prepared counts as the last one did): with 250
    # allowed, intake stops at three tasks between intake and finish.
    execute(source(), prepare, finish, workers=2, window=Window(tasks=10, bytes=250), size=len)
    timer.join()
    assert waiting == list(range(10))
    assert most_waiting == 3


def test_a_failed_prepare_reaches_finish_in_order_and_the_rest_go_on() -> None:
    rec = Recorder()
    execute([1, -2, 3], rec.prepare, rec.finish, workers=2, window=Window())
    assert rec.finished == [(1, 2, None), (-2, None, "bad task -2"), (3, 6, None)]


def test_an_error_raised_by_finish_ends_the_execution_and_cancels_the_rest() -> None:
    prepared: list[int] = []

    def prepare(n: int) -> int:
        prepared.append(n)
        return n

    def finish(done: Done[int, int]) -> None:
        if done.task == 2:
            raise RuntimeError("the run cannot go on")

    with pytest.raises(RuntimeError, match="cannot go on"):
        execute(range(1000), prepare, finish, workers=2, window=Window(tasks=4))
    assert len(prepared) < 20


def test_a_stop_ends_intake_and_drops_what_is_not_finished() -> None:
    stop = threading.Event()
    finished: list[int] = []

    def finish(done: Done[int, int]) -> None:
        finished.append(done.task)
        if done.task == 4:
            stop.set()

    count = execute(range(100), lambda n: n, finish, workers=2, window=Window(tasks=4), stop=stop)
    assert finished == [0, 1, 2, 3, 4]
    assert count == 5


def test_idle_is_called_on_the_owner_thread_while_a_worker_is_slow() -> None:
    release = threading.Event()
    calls: set[str] = set()

    def prepare(n: int) -> int:
        assert release.wait(10)
        return n

    def idle() -> None:
        calls.add(threading.current_thread().name)
        release.set()

    execute([1], prepare, lambda _: None, workers=1, window=Window(), idle=idle)
    assert calls == {threading.current_thread().name}


def test_an_empty_source_finishes_nothing() -> None:
    assert execute([], lambda n: n, lambda _: None, workers=2, window=Window()) == 0


@pytest.mark.parametrize(("tasks", "size"), [(0, 1), (1, 0)])
def test_a_window_without_room_is_refused(tasks: int, size: int) -> None:
    with pytest.raises(ValueError, match="room for one task"):
        Window(tasks=tasks, bytes=size)


def test_workers_see_the_owners_context_variables() -> None:
    run_id: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="none")
    run_id.set("r-42")
    seen: list[str] = []
    execute(
        range(3),
        lambda n: run_id.get(),
        lambda done: seen.append(done.package or ""),
        workers=2,
        window=Window(),
    )
    assert seen == ["r-42"] * 3
