"""gather()'s jobs on its thread pool: they run at once, and every item comes back."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gatewaydoctor.agent.gather import WORKERS, _Collector
from gatewaydoctor.agent.runner import Item, new_item

JOBS = 12


def test_jobs_run_at_once_and_every_item_comes_back() -> None:
    # Each job waits for all the others at the barrier: run one after another, it would
    # break (BrokenBarrierError) instead of returning its item.
    barrier = threading.Barrier(JOBS, timeout=10)
    seen: list[str] = []
    progress: list[tuple[int, int]] = []

    def job(n: int) -> Item | list[Item]:
        barrier.wait()
        first = new_item(f"job:{n}", "probe", data={"n": n})
        return [first, new_item(f"job:{n}:more", "probe")] if n % 3 == 0 else first

    def on_progress(_source: str, done: int, started: int) -> None:
        progress.append((done, started))

    with ThreadPoolExecutor(WORKERS) as pool:
        c = _Collector(pool, progress=on_progress, on_item=lambda i: seen.append(i["source"]))
        for n in range(JOBS):
            c.submit(job, n)
        c.drain()
    want = {f"job:{n}" for n in range(JOBS)} | {f"job:{n}:more" for n in range(0, JOBS, 3)}
    assert set(c.items) == want and sorted(seen) == sorted(want)
    assert all(c.items[f"job:{n}"]["data"] == {"n": n} for n in range(JOBS))
    assert sorted(done for done, _ in progress) == list(range(1, JOBS + 1))


def test_a_failing_job_is_raised_where_its_item_is_taken() -> None:
    def boom() -> Any:
        raise OSError("gone")

    with ThreadPoolExecutor(2) as pool:
        c = _Collector(pool)
        fut = c.submit(boom)
        ok = c.submit(new_item, "fine", "file")
        with pytest.raises(OSError, match="gone"):
            c.take(fut)
        assert c.take(ok) == c.items["fine"]
