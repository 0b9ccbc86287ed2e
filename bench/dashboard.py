"""The operator dashboard's overview page, timed in-process as an operator sees it (queries and rendering)."""
from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass

from flask import Flask

OVERVIEW_PATH = "/admin"
# Production cookies are Secure: the client must speak https for the session to stick.
BASE_URL = "https://localhost"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class OverviewTiming:
    """Wall times of the overview page (default period: the last 30 days), in milliseconds."""

    samples_ms: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        """The median of the samples."""
        return statistics.median(self.samples_ms)


def time_overview(app: Flask, password: str, rounds: int) -> OverviewTiming:
    """Log in with the password form, then load the overview `rounds` times (after one warm-up)."""
    client = app.test_client()
    form = client.get("/admin/login", base_url=BASE_URL)
    token = CSRF_FIELD.search(form.get_data(as_text=True))
    if token is None:
        raise RuntimeError("the login form carries no CSRF token")
    # Over https Flask-WTF also wants a same-origin Referer, as a browser sends.
    login = client.post("/admin/login", base_url=BASE_URL, headers={"Referer": BASE_URL + "/admin/login"},
                        data={"csrf_token": token.group(1), "password": password})
    if login.status_code != 303:
        raise RuntimeError(f"login answered {login.status_code}")
    samples = []
    for round_number in range(rounds + 1):
        started = time.perf_counter()
        page = client.get(OVERVIEW_PATH, base_url=BASE_URL)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if page.status_code != 200:
            raise RuntimeError(f"the overview answered {page.status_code}")
        if round_number:
            samples.append(elapsed_ms)
    return OverviewTiming(tuple(samples))
