"""A Twilio-like load driver: replays pre-signed webhooks over keep-alive connections and retries failures."""
from __future__ import annotations

import heapq
import http.client
import itertools
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from bench.workload import WHATSAPP_PATH
from tests.reliability.workload import Delivery, Plan

CONNECTIONS = 32
REQUEST_TIMEOUT_S = 15.0  # Twilio gives up on a webhook after 15 s
RETRY_DELAY_S = 0.3  # first retry; doubles per attempt up to MAX_RETRY_DELAY_S
MAX_RETRY_DELAY_S = 3.0
MAX_ATTEMPTS = 12
# gunicorn.conf.py closes keep-alive connections idle for 5 s; a connection idle this long is reopened
# first, as HTTP clients with a pool do, so a clean run counts no self-inflicted resets.
IDLE_REOPEN_S = 4.0


@dataclass(frozen=True)
class Attempt:
    """One request as the driver saw it: a status and body, or the connection error instead."""

    sid: str
    number: int  # 1 for the first delivery of this copy, 2+ for Twilio-like retries
    started: float  # time.monotonic()
    ended: float
    status: int | None
    body: bytes | None
    error: str | None
    retry_after: str | None = None  # the Retry-After header of the answer, if any

    @property
    def acked(self) -> bool:
        """Twilio counts a 2xx as delivered and stops retrying."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """What Twilio retries: no answer at all, or a 5xx."""
        return self.status is None or self.status >= 500


@dataclass
class DriveResult:
    """Every attempt, in completion order, and the copies given up on."""

    attempts: list[Attempt] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)  # SIDs of copies that never got a 2xx
    started: float = 0.0
    ended: float = 0.0

    @property
    def elapsed_s(self) -> float:
        """Wall time of the run."""
        return self.ended - self.started

    @property
    def statuses(self) -> Counter[str]:
        """'200', '503', 'error:ConnectionResetError', ... -> count."""
        return Counter(str(a.status) if a.status is not None else f"error:{a.error}" for a in self.attempts)

    @property
    def server_errors(self) -> int:
        """Attempts answered with a 5xx."""
        return sum(a.status is not None and a.status >= 500 for a in self.attempts)

    @property
    def connection_errors(self) -> int:
        """Attempts that got no HTTP answer."""
        return sum(a.status is None for a in self.attempts)

    @property
    def retries(self) -> int:
        """Attempts that repeated a failed one."""
        return sum(a.number > 1 for a in self.attempts)

    def acked_bodies(self) -> dict[str, list[bytes]]:
        """SID -> body of every 2xx answer it got (several when it was duplicated)."""
        bodies: dict[str, list[bytes]] = {}
        for attempt in self.attempts:
            if attempt.acked:
                bodies.setdefault(attempt.sid, []).append(attempt.body or b"")
        return bodies

    def failed_between(self, start: float, end: float) -> list[Attempt]:
        """Attempts without a 2xx that were in flight at some point in [start, end]."""
        return [a for a in self.attempts if not a.acked and a.started <= end and a.ended >= start]

    def acked_between(self, start: float, end: float) -> list[Attempt]:
        """Attempts sent and answered with a 2xx entirely within [start, end]."""
        return [a for a in self.attempts if a.acked and a.started >= start and a.ended <= end]

    def overlapping_copies(self) -> int:
        """SIDs that had two copies in flight at the same time (a concurrent duplicate really was one)."""
        spans: dict[str, list[Attempt]] = {}
        for attempt in self.attempts:
            spans.setdefault(attempt.sid, []).append(attempt)
        return sum(any(a.started < b.ended and b.started < a.ended for a, b in itertools.combinations(copies, 2))
                   for copies in spans.values() if len(copies) > 1)


@dataclass(order=True)
class _Task:
    due: float
    order: int
    lead: int = field(compare=False)
    job_index: int = field(compare=False)
    sends: tuple[tuple[float, Delivery], ...] = field(compare=False)
    attempt: int = field(compare=False, default=1)


class LoadDriver:
    """Sends a Plan like Twilio would, `connections` requests at a time.

    Each lead sends its next job only once every copy of the previous one got a 2xx, the way a person
    waits for the bot's answer (a burst is one job: five messages within 100 ms, each on its own
    connection). A copy that gets no answer or a 5xx is sent again later, same MessageSid and same
    signature, with a growing delay, up to MAX_ATTEMPTS times. Use run(), or start() then join()
    to inject faults while it runs (acked() and wait_for_acked() tell how far it got).
    """

    def __init__(self, base_url: str, plan: Plan, connections: int = CONNECTIONS, max_attempts: int = MAX_ATTEMPTS,
                 on_attempt: Callable[[Attempt], None] | None = None) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.plan = plan
        self.connections = connections
        self.max_attempts = max_attempts
        self.on_attempt = on_attempt
        self.result = DriveResult()
        self._order = itertools.count()
        self._queue: list[_Task] = []
        self._cond = threading.Condition()
        self._outstanding = 0  # tasks queued or being sent
        self._acked = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> "LoadDriver":
        """Queue every lead's first job and start the connection threads."""
        self.result.started = time.monotonic()
        for lead, jobs in enumerate(self.plan.leads):
            if jobs:
                self._push(_Task(time.monotonic(), next(self._order), lead, 0, jobs[0].sends))
        self._threads = [threading.Thread(target=self._work, name=f"driver-{n}", daemon=True)
                         for n in range(self.connections)]
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout_s: float | None = None) -> DriveResult:
        """Wait until every job is answered or abandoned; the result."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(None if deadline is None else max(deadline - time.monotonic(), 0))
            if thread.is_alive():
                raise TimeoutError(f"load did not finish within {timeout_s}s ({self.acked()} copies acked)")
        self.result.ended = time.monotonic()
        return self.result

    def run(self, timeout_s: float | None = None) -> DriveResult:
        """start() then join()."""
        return self.start().join(timeout_s)

    def acked(self) -> int:
        """Copies answered with a 2xx so far."""
        with self._cond:
            return self._acked

    def acked_since(self, moment: float) -> int:
        """Copies sent at or after `moment` (time.monotonic()) and answered with a 2xx so far."""
        with self._cond:
            return sum(attempt.acked and attempt.started >= moment for attempt in self.result.attempts)

    def wait_for_acked(self, count: int, timeout_s: float = 120.0) -> None:
        """Block until `count` copies got a 2xx."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._acked < count:
                remaining = deadline - time.monotonic()
                if self._outstanding == 0 or remaining <= 0:
                    raise TimeoutError(f"only {self._acked} of {count} copies acked")
                self._cond.wait(remaining)

    def _push(self, task: _Task) -> None:
        with self._cond:
            heapq.heappush(self._queue, task)
            self._outstanding += 1
            self._cond.notify_all()

    def _next(self) -> _Task | None:
        with self._cond:
            while True:
                if self._outstanding == 0:
                    return None
                if self._queue and self._queue[0].due <= time.monotonic():
                    return heapq.heappop(self._queue)
                wait = self._queue[0].due - time.monotonic() if self._queue else None
                self._cond.wait(wait)

    def _work(self) -> None:
        pool: list[http.client.HTTPConnection] = []
        last_used: list[float] = []
        while (task := self._next()) is not None:
            while len(pool) < len(task.sends):
                pool.append(http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S))
                last_used.append(time.monotonic())
            for index in range(len(task.sends)):
                if time.monotonic() - last_used[index] > IDLE_REOPEN_S:
                    pool[index].close()
                last_used[index] = time.monotonic()
            attempts = self._send(pool, task)
            retry = tuple((0.0, delivery) for (_, delivery), attempt in zip(task.sends, attempts) if attempt.retryable)
            with self._cond:
                self.result.attempts.extend(attempts)
                self._acked += sum(attempt.acked for attempt in attempts)
                self._cond.notify_all()
            for attempt in attempts:
                if self.on_attempt is not None:
                    self.on_attempt(attempt)
            given_up = [attempt.sid for attempt in attempts if not attempt.acked and not attempt.retryable]
            if retry and task.attempt >= self.max_attempts:
                given_up += [delivery.sid for _, delivery in retry]
                retry = ()
            with self._cond:
                self.result.abandoned.extend(given_up)
            if retry:
                delay = min(RETRY_DELAY_S * 2 ** (task.attempt - 1), MAX_RETRY_DELAY_S)
                self._push(_Task(time.monotonic() + delay, next(self._order), task.lead, task.job_index, retry,
                                 task.attempt + 1))
            else:
                jobs = self.plan.leads[task.lead]
                if task.job_index + 1 < len(jobs):
                    self._push(_Task(time.monotonic(), next(self._order), task.lead, task.job_index + 1,
                                     jobs[task.job_index + 1].sends))
            with self._cond:
                self._outstanding -= 1
                self._cond.notify_all()
        for connection in pool:
            connection.close()

    def _send(self, pool: list[http.client.HTTPConnection], task: _Task) -> list[Attempt]:
        """Send every request of the task on its own connection at its offset, then read every answer."""
        begun = time.monotonic()
        sent: list[tuple[float, str | None]] = []
        for connection, (offset, delivery) in zip(pool, task.sends):
            pause = begun + offset - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            started = time.monotonic()
            try:
                connection.request("POST", WHATSAPP_PATH, body=delivery.body, headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": delivery.signature,
                })
                sent.append((started, None))
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                sent.append((started, type(exc).__name__))
        attempts = []
        for connection, (_, delivery), (started, error) in zip(pool, task.sends, sent):
            status = body = retry_after = None
            if error is None:
                try:
                    response = connection.getresponse()
                    body = response.read()
                    status = response.status
                    retry_after = response.getheader("Retry-After")
                    if response.will_close:
                        connection.close()
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    error = type(exc).__name__
            attempts.append(Attempt(delivery.sid, task.attempt, started, time.monotonic(), status, body, error,
                                    retry_after))
        return attempts
