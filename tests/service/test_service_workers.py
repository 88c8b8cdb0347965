"""The search and encoding threads (``service.workers.Pool``): every job answered once, in the
order it came, errors re-raised in the caller, and a job whose caller gave up never run."""

from __future__ import annotations

import asyncio
import threading

import pytest
from lsr.service.workers import Pool


def test_concurrent_jobs_are_each_answered_with_their_own_result():
    pool = Pool(2, "test")

    async def main():
        return await asyncio.gather(*(pool.run(pow, i, 2) for i in range(200)))

    assert asyncio.run(main()) == [i * i for i in range(200)]
    pool.shutdown()


def test_jobs_start_in_the_order_they_came():
    pool, started = Pool(1, "test"), []

    async def main():
        await asyncio.gather(*(pool.run(started.append, i) for i in range(50)))

    asyncio.run(main())
    assert started == list(range(50))
    pool.shutdown()


def test_an_exception_is_raised_in_the_caller():
    pool = Pool(1, "test")

    async def main():
        with pytest.raises(ZeroDivisionError):
            await pool.run(divmod, 1, 0)
        return await pool.run(divmod, 7, 2)  # the thread survives the error

    assert asyncio.run(main()) == (3, 1)
    pool.shutdown()


def test_a_job_cancelled_while_queued_never_runs():
    pool, release, ran = Pool(1, "test"), threading.Event(), []

    async def main():
        blocker = asyncio.ensure_future(pool.run(release.wait))
        queued = asyncio.ensure_future(pool.run(ran.append, "queued"))
        await asyncio.sleep(0.05)
        queued.cancel()  # e.g. the request's timeout, while the thread is busy
        await asyncio.sleep(0)
        release.set()
        await blocker
        return await pool.run(ran.append, "after")

    asyncio.run(main())
    assert ran == ["after"]
    pool.shutdown()


def test_shutdown_cancels_the_jobs_still_queued():
    pool, release = Pool(1, "test"), threading.Event()

    async def main():
        busy = asyncio.ensure_future(pool.run(release.wait))
        queued = asyncio.ensure_future(pool.run(pow, 2, 2))
        await asyncio.sleep(0.05)
        pool.shutdown()
        release.set()
        await busy
        with pytest.raises(asyncio.CancelledError):
            await queued

    asyncio.run(main())
