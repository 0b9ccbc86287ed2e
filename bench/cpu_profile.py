"""`python -m bench.cpu_profile`: where one message's CPU goes, with Sentry off and on, by component.

Each setting runs in its own process (the SDK is initialised once per process): the app is built
in-process against a throwaway PostgreSQL database and Redis, takes warm-up messages, then the
measured ones through the Flask test client under cProfile with a per-thread CPU clock, so time a
request spends waiting on PostgreSQL or Redis is not counted. cProfile's own cost inflates every
figure (about 4 × here), more for code making many small calls: compare shares and settings within
one run, not with the load runs of `make bench`.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sdr_agent.config import PROJECT_ROOT

from .environment import DEFAULT_REDIS_URL, DEFAULT_SERVER_URL, flushed_redis, service_env, throwaway_database
from .workload import post_signed, signed_requests

SETTINGS = ("floor", "off", "0.1")  # the bare Flask floor, the service with Sentry off, at traces 0.1
# Entry points of what Sentry does for a message, cumulative CPU (file suffix, function name).
SENTRY_FEATURES = {
    "request wrapper around the app (scope per request, the sampling decision; sampled transactions "
    "serialised)": ("sdr_agent/telemetry_web.py", "__call__"),
    "stage trail (breadcrumb, counter, Sentry log when on)": ("sdr_agent/telemetry.py", "stage_changed"),
    "outcome (counter; an event for disqualifications and hand-offs)": ("sdr_agent/telemetry.py", "outcome"),
    "sdr.* spans": ("sdr_agent/telemetry.py", "span"),
    "privacy filter (every hook; part of the rows above)": ("sdr_agent/telemetry.py", "_before_"),
}
# The app inside the request wrapper: taken off the wrapper's row, which keeps what Sentry adds around it.
APP_INSIDE_WRAPPER = ("flask/app.py", "wsgi_app")
_MEASURED = {**SENTRY_FEATURES, "app": APP_INSIDE_WRAPPER}


@dataclass(frozen=True)
class Profile:
    """One setting's CPU per message, by component and by Sentry feature."""

    setting: str
    messages: int
    cpu_ms_per_message: float
    components_ms: dict[str, float]
    features_ms: dict[str, float]


def component_of(filename: str) -> str:
    """The package a function belongs to: a site-package, one of our modules, the standard library, builtins."""
    if filename == "~":
        return "builtins (C functions)"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/sdr_agent/" in filename:
        return "sdr_agent/" + filename.split("/sdr_agent/", 1)[1].split("/", 1)[0].removesuffix(".py")
    return "standard library"


def summarise(stats: pstats.Stats, setting: str, messages: int) -> Profile:
    """CPU per message: own time by component, cumulative time of Sentry's features."""
    components: dict[str, float] = {}
    features: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_calls, _primitive, own_s, cumulative_s, _callers) in raw.items():
        component = component_of(filename)
        components[component] = components.get(component, 0.0) + own_s * 1000 / messages
        for feature, (suffix, prefix) in _MEASURED.items():
            if filename.endswith(suffix) and name.startswith(prefix):
                features[feature] = features.get(feature, 0.0) + cumulative_s * 1000 / messages
    wrapper = next(iter(SENTRY_FEATURES))
    app = features.pop("app", 0.0)
    if wrapper in features:
        features[wrapper] -= app
    total = sum(components.values())
    return Profile(setting, messages, total, dict(sorted(components.items(), key=lambda item: -item[1])), features)


def profile_setting(setting: str, database_url: str, redis_url: str, warmup: int, messages: int) -> Profile:
    """Build the app with this Sentry setting, warm it up, profile `messages` webhooks."""
    from sdr_agent import create_app
    from tests.sentry_sink import SentrySink

    from .floor_app import app as floor_app

    sink = SentrySink(keep=False).start() if setting not in ("floor", "off") else None
    try:
        rate = None if sink is None else float(setting)
        env = service_env(database_url, redis_url, sink.dsn() if sink else "", rate)
        app = floor_app if setting == "floor" else create_app(env)
        client = app.test_client()
        requests = signed_requests(1, warmup + messages, env["TWILIO_AUTH_TOKEN"], env["PUBLIC_BASE_URL"])
        for request in requests[:warmup]:
            post_signed(client, request)
        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
        for request in requests[warmup:]:
            post_signed(client, request)
        profiler.disable()
        return summarise(pstats.Stats(profiler), setting, messages)
    finally:
        if sink is not None:
            sink.stop()


def run(server_url: str, redis_url: str, warmup: int, messages: int) -> list[Profile]:
    """One child process per setting, each against its own throwaway database."""
    profiles = []
    for setting in SETTINGS:
        with flushed_redis(redis_url), throwaway_database(server_url, redis_url, "sdr_profile") as database_url:
            child = subprocess.run(
                [sys.executable, "-m", "bench.cpu_profile", "--one", setting, "--database-url", database_url,
                 "--redis-url", redis_url, "--warmup", str(warmup), "--messages", str(messages)],
                check=True, capture_output=True, text=True, cwd=PROJECT_ROOT, env={**os.environ, "PYTHONHASHSEED": "0"},
            )
        profiles.append(Profile(**json.loads(child.stdout.strip().splitlines()[-1])))
    return profiles


def report(profiles: list[Profile], top: int = 14) -> str:
    """Markdown tables: CPU per message by component, and Sentry's features."""
    by_setting = {profile.setting: profile for profile in profiles}
    off = by_setting["off"]
    others = [profile for profile in profiles if profile.setting not in ("floor", "off")]
    names = list(off.components_ms)[:top]
    for profile in profiles:
        names += [name for name in list(profile.components_ms)[:top] if name not in names]
    header = "| component | " + " | ".join(f"{_title(p.setting)} ms/msg | share" for p in profiles) + " |"
    lines = [header, "|---|" + "---|---|" * len(profiles)]
    for name in names:
        cells = [f"{p.components_ms.get(name, 0.0):.2f} | {p.components_ms.get(name, 0.0) / p.cpu_ms_per_message:.1%}"
                 for p in profiles]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{p.cpu_ms_per_message:.2f}** | 100%" for p in profiles) + " |")
    if "floor" in by_setting:
        lines += ["", f"The service with Sentry off costs {off.cpu_ms_per_message / by_setting['floor'].cpu_ms_per_message:.1f} × "
                      "the floor's CPU per message under the profiler (the test client's own work is in both)."]
    for profile in others:
        added = profile.cpu_ms_per_message - off.cpu_ms_per_message
        lines += ["", f"Sentry {profile.setting} adds {added:.2f} ms per message "
                      f"({profile.cpu_ms_per_message / off.cpu_ms_per_message:.2f} × off) under the profiler:", "",
                  "| what Sentry does (cumulative) | ms/msg | of what it adds |", "|---|---|---|"]
        for feature, value in sorted(profile.features_ms.items(), key=lambda item: -item[1]):
            lines.append(f"| {feature} | {value:.2f} | {value / added:.0%} |")
    return "\n".join(lines)


def _title(setting: str) -> str:
    """Column title of a setting."""
    return {"floor": "floor (bare Flask)", "off": "Sentry off"}.get(setting, f"Sentry {setting}")


def main(argv: list[str] | None = None) -> int:
    """Profile every setting and print the tables (or, with --one, one setting as JSON)."""
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--database-server", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--messages", type=int, default=900)
    parser.add_argument("--one", choices=SETTINGS, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        profile = profile_setting(args.one, args.database_url, args.redis_url, args.warmup, args.messages)
        print(json.dumps(profile.__dict__))
        return 0
    print(report(run(args.database_server, args.redis_url, args.warmup, args.messages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
