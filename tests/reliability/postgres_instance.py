"""A private PostgreSQL server for tests that stop and start it (the shared one on :5432 must never be touched).

Give `url` to `running_service(database_server_url=...)`: it creates a database there and migrates it
with the real Alembic migrations.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

import psycopg

from bench.server import free_port

PG_ROOT = Path("/usr/lib/postgresql")
OS_USER = "postgres"
START_TIMEOUT_S = 30
# Throwaway data, and the machine itself never crashes in these tests: flushing to disk buys nothing.
# Commits stay synchronous, as in production: with synchronous_commit off, a crash of the server
# (pg_ctl stop -m immediate) would lose commits the service already answered for.
SERVER_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "60",
    "listen_addresses": "'127.0.0.1'",
    "log_min_messages": "warning",
}


def pg_bin_dir() -> Path:
    """The bin directory of the newest PostgreSQL installed under /usr/lib/postgresql."""
    versions = sorted((path for path in PG_ROOT.glob("*/bin") if (path / "initdb").exists()),
                      key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
    if not versions:
        raise FileNotFoundError(f"no initdb under {PG_ROOT}")
    return versions[-1]


class PostgresInstance:
    """initdb into a temporary directory, then start / stop / restart one server on a free loopback port."""

    def __init__(self, database: str = "sdr") -> None:
        self.bin = pg_bin_dir()
        self.port = free_port()
        self.database = database
        # initdb refuses to run as root, so the cluster belongs to the postgres OS user.
        self.root = Path(tempfile.mkdtemp(prefix="sdr-pg-"))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self._as_root = os.geteuid() == 0
        if self._as_root:
            owner = pwd.getpwnam(OS_USER)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database (trust auth, user postgres)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        as_owner = ["runuser", "-u", OS_USER, "--"] if self._as_root else []
        done = subprocess.run([*as_owner, *args], capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        return done

    def create(self) -> Self:
        """initdb, write the settings, start, create the database."""
        self._run(str(self.bin / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        settings = {**SERVER_SETTINGS, "port": str(self.port), "unix_socket_directories": f"'{self.root}'"}
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self.start()
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        return self

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database} connect_timeout=3"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                  "-t", str(START_TIMEOUT_S), "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends sessions cleanly, `immediate` is a crash (recovery on start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def is_running(self) -> bool:
        """Whether the postmaster is up (pg_ctl status)."""
        return self._run(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "status", check=False).returncode == 0

    def restart(self, down_s: float, mode: str = "fast") -> None:
        """Stop, stay down for `down_s` seconds, start again."""
        self.stop(mode)
        time.sleep(down_s)
        self.start()

    def destroy(self) -> None:
        """Stop the server if it runs and delete its files."""
        if self.data_dir.exists() and self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.create()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.destroy()
