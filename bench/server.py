"""Start an app under gunicorn with the production config, and read its workers' own accounting."""
from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping

from sdr_agent.config import PROJECT_ROOT

CONFIG_FILE = PROJECT_ROOT / "gunicorn.conf.py"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gunicorn_setting(name: str) -> int:
    """A number from gunicorn.conf.py as this environment makes it (e.g. workers, threads)."""
    return int(runpy.run_path(str(CONFIG_FILE))[name])


class GunicornServer:
    """One gunicorn master started from gunicorn.conf.py; stop() ends it and its workers."""

    def __init__(self, app_spec: str, env: Mapping[str, str], log_path: Path) -> None:
        self.app_spec = app_spec
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        """The exact command line, as production runs it."""
        return [sys.executable, "-m", "gunicorn", "-c", str(CONFIG_FILE), self.app_spec]

    def start(self) -> "GunicornServer":
        """Start and wait until every worker answers."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            if len(self.worker_pids()) >= self.expected_workers() and self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not become ready in {START_TIMEOUT_S:.0f}s; see {self.log_path}")

    def expected_workers(self) -> int:
        """Worker processes gunicorn.conf.py asks for under this environment."""
        return int(self.env.get("WEB_CONCURRENCY", "2"))

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def worker_pids(self) -> list[int]:
        """PIDs of the master's worker processes."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def worker_cpu_seconds(self) -> float:
        """User + system CPU seconds the workers have used so far (their own /proc accounting)."""
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / CLOCK_TICKS

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker, in MiB."""
        sizes = []
        for pid in self.worker_pids():
            resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
            sizes.append(resident_pages * PAGE_BYTES / 2**20)
        return sizes

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then kill if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> "GunicornServer":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
