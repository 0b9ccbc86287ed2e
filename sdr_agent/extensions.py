"""Flask extensions, created unbound and bound in the app factory."""
from __future__ import annotations

from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from redis import Redis
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of every model."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


class RedisExtension:
    """Holds the app's Redis client, or None when REDIS_URL is unset."""

    key = "sdr_redis"

    def init_app(self, app: Flask, url: str | None) -> None:
        """Create the client (connections open lazily, on first use)."""
        client = None
        if url:
            # Short timeouts: a stalled Redis must not hold a webhook past Twilio's limit.
            client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
        app.extensions[self.key] = client

    @property
    def client(self) -> Redis | None:
        """The current app's Redis client."""
        return current_app.extensions[self.key]


redis_ext = RedisExtension()
