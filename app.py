"""WSGI entry point: `gunicorn app:app`, `flask --app app …`."""
import sys

from sdr_agent import create_app
from sdr_agent.config import ConfigError
from sdr_agent.qualification import FlowError

try:
    app = create_app()
except (ConfigError, FlowError) as error:
    # One clear line instead of a traceback: this is what an operator sees on Render.
    sys.exit(f"SDR Agent cannot start: {error}")
