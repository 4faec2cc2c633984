"""A small thread pool for the agent: submit jobs, wait for results, in completion order.

Why not concurrent.futures: importing it imports logging, which imports traceback,
linecache and tokenize (which compiles its regexes at import): ~10 ms of CPU before the
first command starts, a tenth of what a whole bundle costs. This is the part of
ThreadPoolExecutor the agent uses, with the same names: `submit`, `result`, `exception`,
`add_done_callback`, `as_completed`, and a `with` block that waits for every job.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from queue import SimpleQueue
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Job(Generic[T]):
    """One submitted call: its result or its exception once done."""

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self._call = (fn, args, kwargs)
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Job[T]], object]] = []

    def run(self) -> None:
        fn, args, kwargs = self._call
        try:
            self._value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever asks for the result
            self._error = exc
        with self._lock:
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _call_quietly(callback, self)

    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> T:
        """Wait for the call; its return value, or raise what it raised."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def exception(self) -> BaseException | None:
        self._done.wait()
        return self._error

    def add_done_callback(self, callback: Callable[[Job[T]], object]) -> None:
        """Call callback(job) when done (now, if it is): in the thread that finished it."""
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        _call_quietly(callback, self)


def _call_quietly(callback: Callable[[Job[Any]], object], job: Job[Any]) -> None:
    with contextlib.suppress(Exception):  # a callback's failure is not the job's
        callback(job)


class Pool:
    """Up to `workers` threads, started as jobs come and reused when idle."""

    def __init__(self, max_workers: int) -> None:
        self._max = max_workers
        self._queue: SimpleQueue[Job[Any] | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Semaphore(0)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Job[T]:
        job: Job[T] = Job(fn, args, kwargs)
        self._queue.put(job)
        if not self._idle.acquire(blocking=False) and len(self._threads) < self._max:
            thread = threading.Thread(target=self._work, daemon=True,
                                      name=f"gatewaydoctor-{len(self._threads)}")
            thread.start()
            self._threads.append(thread)
        return job

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            job.run()
            self._idle.release()

    def shutdown(self) -> None:
        """Wait for every job submitted, then end the threads."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def as_completed(jobs: Iterable[Job[T]]) -> Iterator[Job[T]]:
    """The jobs, each as soon as it is done."""
    finished: SimpleQueue[Job[T]] = SimpleQueue()
    pending = list(jobs)
    for job in pending:
        job.add_done_callback(finished.put)
    for _ in pending:
        yield finished.get()
