"""Handing work to the background: RQ on Redis in production, a thread in-process locally."""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from datetime import timedelta
from typing import Callable, Iterable, Protocol

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from ..telemetry import job_scope

log = logging.getLogger(__name__)

QUEUE_NAME = "sdr"
JOB_RESULT_TTL_SECONDS = 3600


class Dispatcher(Protocol):
    """Runs outbox deliveries soon and the sweep periodically."""

    def submit(self, item_ids: Iterable[int]) -> None: ...

    def schedule_sweep(self, delay: timedelta) -> None: ...


class RqDispatcher:
    """Enqueues jobs on Redis for `flask --app app sdr worker`."""

    def __init__(self, redis: Redis) -> None:
        self.queue = Queue(QUEUE_NAME, connection=redis)

    def submit(self, item_ids: Iterable[int]) -> None:
        from .jobs import deliver_job

        for item_id in item_ids:
            try:
                # One job id per item: enqueuing it again replaces, never duplicates, the job.
                self.queue.enqueue(deliver_job, item_id, job_id=f"sdr-deliver-{item_id}",
                                   result_ttl=JOB_RESULT_TTL_SECONDS)
            except RedisError as exc:
                # The item stays pending in the database; the next sweep delivers it.
                log.warning("could not enqueue a delivery: %s", type(exc).__name__)

    def schedule_sweep(self, delay: timedelta) -> None:
        from .jobs import sweep_job

        # One job id per period: several workers scheduling the next sweep make one job.
        slot = int(time.time() // max(delay.total_seconds(), 1)) + 1
        try:
            self.queue.enqueue_in(delay, sweep_job, job_id=f"sdr-sweep-{slot}", result_ttl=JOB_RESULT_TTL_SECONDS)
        except RedisError as exc:
            log.warning("could not schedule the sweep: %s", type(exc).__name__)


class InlineDispatcher:
    """Without Redis: one background thread per process delivers after the response and sweeps periodically."""

    def __init__(self, deliver: Callable[[int], object], sweep: Callable[[], object], interval_s: float) -> None:
        self._deliver = deliver
        self._sweep = sweep
        self.interval_s = interval_s
        self._work: queue.Queue[int] = queue.Queue()
        self._pid: int | None = None
        self._lock = threading.Lock()

    def submit(self, item_ids: Iterable[int]) -> None:
        self._ensure_thread()
        for item_id in item_ids:
            self._work.put(item_id)

    def schedule_sweep(self, delay: timedelta) -> None:
        self._ensure_thread()  # the thread sweeps every `interval_s` by itself

    def join(self) -> None:
        """Wait until every submitted delivery has run (tests, CLI)."""
        self._work.join()

    def _ensure_thread(self) -> None:
        # Started lazily and per process: gunicorn forks workers after the app was built.
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._work = queue.Queue()
            threading.Thread(target=self._run, name="sdr-inline-worker", daemon=True).start()

    def _run(self) -> None:
        next_sweep = time.monotonic() + self.interval_s if self.interval_s > 0 else None
        while True:
            timeout = None if next_sweep is None else max(next_sweep - time.monotonic(), 0.0)
            try:
                item_id = self._work.get(timeout=timeout)
            except queue.Empty:
                self._safely(self._sweep)
                next_sweep = time.monotonic() + self.interval_s
                continue
            try:
                self._safely(lambda: self._deliver(item_id))
            finally:
                self._work.task_done()

    @staticmethod
    def _safely(work: Callable[[], object]) -> None:
        try:
            with job_scope():  # this thread runs every job: none may inherit another's breadcrumbs
                work()
        except Exception:  # one failed job must not stop the thread
            log.exception("background job failed")
