"""GET /healthz for Render's health check."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 while the database answers; Redis is reported but never fails the check."""
    db_ok = True
    try:
        with current_app.extensions["sdr_session_factory"]() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        db_ok = False
    redis_client = current_app.extensions["sdr_redis"]
    redis_state = "absent"
    if redis_client is not None:
        try:
            redis_state = "ok" if redis_client.ping() else "error"
        except RedisError:
            redis_state = "error"
    body = {"status": "ok" if db_ok else "error", "db": "ok" if db_ok else "error", "redis": redis_state}
    return jsonify(body), 200 if db_ok else 503
