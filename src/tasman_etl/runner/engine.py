"""The page engine's executor: one source, a pool of workers, one owner thread.

Every command that moves pages (`run`, `load`, `replay`) is the same shape: a source
yields tasks (a page to fetch, a file to read, a bronze object to replay), a `prepare`
function turns each task into a loadable package on a worker thread (capture, parse,
gate), and a `finish` function loads it on the calling thread. `execute` runs them.

Thread ownership, stated once for the whole engine:

* The calling thread (the *owner*) iterates the source and calls `finish` for every
  task, one at a time, in the order the source yielded them. It alone may touch the
  run's main database connection, the ledger and the run's counters. The source runs
  on the owner thread too, so it may read and write them as well.
* `finish` may hand a page's load to loader threads, each with a connection of its own
  (`tasman_etl.runner.loaders`); they run the load and nothing else, and the owner counts
  what they return, in the order the pages were handed over.
* Worker threads run `prepare(task)`. They may use only what is safe to share: the
  bronze store, the HTTP client (it owns its rate limiter) and a side connection behind
  its lock. They never touch the main connection or the counters; whatever they learn
  travels in the package they return.
* Bounds: at most ``workers`` tasks are prepared at once and at most ``window.tasks`` are
  between intake and `finish`; intake also pauses while the packages between intake and
  `finish` weigh ``window.bytes`` or more (``size(package)``; one still being prepared
  counts as much as the last package prepared; ``held()`` adds what `finish` still holds,
  pages handed to loaders). A package is released as soon as `finish` returns.
* A `prepare` that raises hands its exception to `finish` (in order, as its result),
  which decides: record the page as failed and go on, or raise to end the command. An
  exception from `finish` or from the source sets ``stop`` (so workers that watch it
  return), cancels tasks not started, waits for the running ones and propagates.
* When ``stop`` is set, intake ends and packages not yet finished are dropped (their
  pages stay as the ledger has them, for ``--resume``); `execute` returns once the
  running workers return (they watch the same event).
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Done", "Window", "execute"]

T = TypeVar("T")
R = TypeVar("R")

IDLE_S = 0.5
"""How often the owner thread calls ``idle`` while it waits for a worker."""


@dataclass(frozen=True)
class Window:
    """How much work may be in flight: tasks taken in, and bytes of packages waiting."""

    tasks: int = 8
    bytes: int = 64 * 2**20

    def __post_init__(self) -> None:
        if self.tasks < 1 or self.bytes < 1:
            raise ValueError(f"a window needs room for one task: {self}")


@dataclass(frozen=True)
class Done(Generic[T, R]):
    """A prepared task as `finish` receives it: the package, or why there is none."""

    task: T
    package: R | None
    error: BaseException | None


def execute(
    source: Iterable[T],
    prepare: Callable[[T], R],
    finish: Callable[[Done[T, R]], None],
    *,
    workers: int,
    window: Window,
    size: Callable[[R], int] = lambda _: 0,
    stop: threading.Event | None = None,
    idle: Callable[[], None] | None = None,
    held: Callable[[], int] = lambda: 0,
) -> int:
    """Prepare every task of `source` on `workers` threads; finish each in order here.

    Returns how many tasks were finished. See the module docstring for the rules.
    """
    stop = stop or threading.Event()
    tasks = iter(source)
    pending: deque[tuple[T, Future[R]]] = deque()
    finished = 0
    exhausted = False
    last_size = 0  # the weight assumed for a package still being prepared

    def weight() -> int:
        nonlocal last_size
        total = held()
        for _, future in pending:
            if not future.done():
                total += last_size
            elif future.exception() is None:
                last_size = size(future.result())
                total += last_size
        return total

    def take(pool: ThreadPoolExecutor) -> None:
        nonlocal exhausted
        while not exhausted and not stop.is_set() and len(pending) < window.tasks:
            running = sum(1 for _, future in pending if not future.done())
            if running >= workers or weight() >= window.bytes:
                return
            try:
                task = next(tasks)
            except StopIteration:
                exhausted = True
                return
            # Workers see the owner's context variables (the run id bound for logging).
            context = contextvars.copy_context()
            pending.append((task, pool.submit(context.run, prepare, task)))

    workers = max(1, workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="page") as pool:
        try:
            while not stop.is_set():
                take(pool)
                if not pending:
                    if exhausted:
                        break
                    continue
                task, head = pending[0]
                if not head.done():
                    running = [future for _, future in pending if not future.done()]
                    wait(running, timeout=IDLE_S, return_when=FIRST_COMPLETED)
                    if idle is not None:
                        idle()
                    continue
                pending.popleft()
                error = head.exception()
                finish(Done(task, None if error is not None else head.result(), error))
                del task, head, error  # the package is released once finished
                finished += 1
                if idle is not None:
                    idle()
        except BaseException:
            stop.set()  # workers that watch it return now
            raise
        finally:
            for _, future in pending:
                future.cancel()
            pending.clear()
    return finished
