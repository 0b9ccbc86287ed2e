"""A private redis-server on a free loopback port, so a test can stop and start it at will."""
from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from bench.server import free_port

START_TIMEOUT_S = 10.0


class RedisBinaryMissing(RuntimeError):
    """redis-server is not installed."""


def redis_server_path() -> str:
    """Where redis-server is, or RedisBinaryMissing naming the fix."""
    path = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if path is None:
        raise RedisBinaryMissing("redis-server is not installed: run `apt-get install -y redis-server`")
    return path


class PrivateRedis:
    """One redis-server owned by a test: same port across stop()/start(), no persistence, no shared data."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """URL of database 0 on this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def client(self) -> redis.Redis:
        """A fresh client with short timeouts (the caller closes it)."""
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> "PrivateRedis":
        """Start (or start again) and wait until it answers PING."""
        if self.running:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [redis_server_path(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
                   "--save", "", "--appendonly", "no", "--protected-mode", "no",
                   "--logfile", str(self.workdir / "redis.log")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.workdir / 'redis.log'}")
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {START_TIMEOUT_S:.0f}s")

    def stop(self) -> None:
        """Stop the server abruptly (SIGKILL): in-flight commands fail, every key is gone."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def _answers(self) -> bool:
        client = self.client()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def __enter__(self) -> "PrivateRedis":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
