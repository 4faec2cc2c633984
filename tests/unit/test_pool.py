"""The agent's thread pool: results, errors, callbacks, completion order, waiting at the end."""

from __future__ import annotations

import threading
import time

import pytest

from gatewaydoctor.agent.pool import Pool, as_completed


def test_results_and_errors() -> None:
    with Pool(4) as pool:
        ok = pool.submit(lambda a, b=0: a + b, 2, b=3)
        bad = pool.submit(lambda: 1 / 0)
        assert ok.result() == 5 and ok.exception() is None
        with pytest.raises(ZeroDivisionError):
            bad.result()
        assert isinstance(bad.exception(), ZeroDivisionError)


def test_completion_order_and_callbacks() -> None:
    seen: list[str] = []
    with Pool(4) as pool:
        slow = pool.submit(lambda: time.sleep(0.3) or "slow")
        fast = pool.submit(lambda: "fast")
        fast.result()
        fast.add_done_callback(lambda j: seen.append("late:" + j.result()))  # already done
        slow.add_done_callback(lambda j: seen.append("cb:" + j.result()))
        slow.add_done_callback(lambda j: 1 / 0)  # a failing callback harms nothing
        assert [j.result() for j in as_completed([slow, fast])] == ["fast", "slow"]
    assert seen == ["late:fast", "cb:slow"]


def test_threads_are_bounded_and_reused() -> None:
    active, peak = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1

    with Pool(3) as pool:
        jobs = [pool.submit(work) for _ in range(12)]
    assert all(j.done() for j in jobs)  # the with block waited for every job
    assert peak <= 3 and len({t for t in pool._threads}) <= 3


def test_a_job_may_submit_more_jobs() -> None:
    with Pool(2) as pool:
        outer = pool.submit(lambda: pool.submit(lambda: "inner"))
        assert outer.result().result() == "inner"
