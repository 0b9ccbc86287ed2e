"""Drive a server with wrk replaying pre-signed requests once each (bench/replay.lua)."""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPLAY_SCRIPT = Path(__file__).resolve().parent / "replay.lua"
CONNECTIONS = 32
# The -d deadline is an upper bound only: replay.lua ends the run when the last reply
# arrives. It is reached only if a request was lost to a socket error, or if the machine is
# so busy with other work that the service answers slower than this.
SLOWEST_EXPECTED_RPS = 8


class LoadToolMissing(RuntimeError):
    """wrk is not installed."""


@dataclass(frozen=True)
class LoadResult:
    """What one replay measured."""

    requests: int
    not_ok: int
    socket_errors: int
    elapsed_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def throughput(self) -> float:
        """Completed requests per second."""
        return self.requests / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def errors(self) -> int:
        """Non-200 answers plus connection, read, write and timeout errors."""
        return self.not_ok + self.socket_errors


def wrk_path() -> str:
    """Where wrk is, or LoadToolMissing naming the fix."""
    path = shutil.which("wrk")
    if path is None:
        raise LoadToolMissing("wrk is not installed: run `apt-get install -y wrk` (Debian/Ubuntu)")
    return path


def wrk_command(base_url: str, requests_file: Path, connections: int = CONNECTIONS) -> list[str]:
    """The wrk command line for one replay."""
    with requests_file.open("rb") as lines:
        deadline_s = 30 + sum(1 for _ in lines) // SLOWEST_EXPECTED_RPS
    # One thread is enough for loopback at these rates, and leaves the second core to the server.
    return [wrk_path(), "-t1", f"-c{connections}", f"-d{deadline_s}s", "--timeout", "15s", "--latency",
            "-s", str(REPLAY_SCRIPT), base_url, "--", str(requests_file)]


def replay(base_url: str, requests_file: Path, connections: int = CONNECTIONS) -> LoadResult:
    """Send every request in the file once, `connections` at a time; return the measurements."""
    completed = subprocess.run(wrk_command(base_url, requests_file, connections), capture_output=True, text=True,
                               check=False, timeout=None)
    summary = _summary_line(completed.stdout)
    if summary is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout[-500:]}")
    data = json.loads(summary)
    errors = data["errors"]
    return LoadResult(
        requests=data["completed"],
        not_ok=data["not_ok"],
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        elapsed_s=data["elapsed_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def _summary_line(stdout: str) -> str | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith('{"completed"'):
            return line
    return None
