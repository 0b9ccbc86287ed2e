"""gunicorn settings for production (Render), `make run` and `make bench`."""
import gc
import os
import sys

from sdr_agent.config import resolve_environment

# Local development listens on loopback only; a deployment on every interface (Render routes to PORT).
_HOST = "127.0.0.1" if resolve_environment(os.environ) == "development" else "0.0.0.0"
bind = f"{_HOST}:{os.environ.get('PORT', '8000')}"
# Threads, not processes, carry concurrency: a webhook mostly waits on PostgreSQL and Redis, and with
# a language model on, for seconds on the model (with no database connection held: see
# docs/architecture.md, "A slow model"). 2 × 64 threads let 64 leads wait on a 1.5 s model at once
# while health checks, status callbacks and calls still find a free thread; 2 × 16 made the second
# half of them wait a whole model answer more (docs/benchmarks.md, "Slow model"). A thread also waits
# on a client that sends its headers slowly (see README, "Slow clients").
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
# Twilio gives up on a webhook after 15 s; a stuck request must die well before that.
timeout = 10
graceful_timeout = 8
keepalive = 5
# X-Forwarded-* headers are read by the app (werkzeug's ProxyFix, SDR_PROXY_HOPS), which trusts
# exactly the configured number of proxies; gunicorn keeps its default of trusting loopback only.
# Import the app once in the master: config errors stop the start with one line, and
# workers share the loaded flow and code pages.
preload_app = True
accesslog = "-"
# Method and path only (no query string, no Referer, link tokens masked): dashboard searches
# carry names, e-mails and phone numbers. Bodies are never logged.
logger_class = "sdr_agent.access_log.PathOnlyLogger"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def pre_fork(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    """Move everything the master has loaded out of the collector's reach before a worker is forked."""
    # The preloaded app is hundreds of thousands of long-lived objects (phone metadata, SQLAlchemy,
    # the SDKs). Unfrozen, each full collection in a worker walks them all, 100-160 ms with the GIL
    # held, stalling every request in flight: the tail of the latency. Frozen, a full collection takes
    # about 20 ms, and the workers no longer write to those pages, so they stay shared
    # (docs/benchmarks.md, "Collector pauses").
    gc.freeze()


def post_fork(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    """Drop any connections inherited from the master: sockets must not be shared across processes."""
    app_module = sys.modules.get("app")
    if app_module is None:
        return  # another WSGI app shares this config (the benchmark's floor): nothing inherited
    from sdr_agent.extensions import db

    with app_module.app.app_context():
        db.engine.dispose(close=False)
