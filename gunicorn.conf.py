"""gunicorn settings for production (Render), `make run` and `make bench`."""
import os
import sys

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Threads, not processes, carry concurrency: a webhook mostly waits on PostgreSQL and Redis.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Twilio gives up on a webhook after 15 s; a stuck request must die well before that.
timeout = 10
graceful_timeout = 8
keepalive = 5
# Render's proxy terminates TLS; trust its X-Forwarded-* headers.
forwarded_allow_ips = "*"
# Import the app once in the master: config errors stop the start with one line, and
# workers share the loaded flow and code pages.
preload_app = True
accesslog = "-"
# Paths only: our webhook URLs carry no personal data, and bodies are never logged.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def post_fork(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    """Drop any connections inherited from the master: sockets must not be shared across processes."""
    app_module = sys.modules.get("app")
    if app_module is None:
        return  # another WSGI app shares this config (the benchmark's floor): nothing inherited
    from sdr_agent.extensions import db

    with app_module.app.app_context():
        db.engine.dispose(close=False)
