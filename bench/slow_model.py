"""The slow-model scenario: a language model answering in 1.5 s, many leads writing at once, the service responsive."""
from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Mapping

from flask import Flask

from sdr_agent.simulator import (VOICE_PATH, WHATSAPP_PATH, WebhookClient, call_form, new_call_sid,
                                 new_message_sid, sign, whatsapp_form)

from .server import GunicornServer

MODEL_DELAY_S = 1.5
# What the rules read up to the budget question, without the model.
TO_BUDGET = ("oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar o atendimento de vendas")
# An amount the rules cannot read: every one of these goes to the model, which answers 50,000.
UNREAD_BUDGET = "cinquentinha por mês, mais ou menos"
MODEL_ANSWER = {"commands": [{"command": "set_slot", "slot": "budget", "value": "50000", "topic": None}]}
STATUS_PATH = "/twilio/status"
PROBE_INTERVAL_S = 0.1
HTTP_TIMEOUT_S = 15.0


class SlowModel:
    """An OpenAI-compatible chat-completions server on loopback that answers every request after a delay."""

    def __init__(self, delay_s: float = MODEL_DELAY_S) -> None:
        self.delay_s = delay_s
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="slow-model", daemon=True)

    @property
    def base_url(self) -> str:
        """The /v1 URL the service's client is pointed at."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "SlowModel":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _arrived(self, change: int) -> None:
        with self._lock:
            self.in_flight += change
            if change > 0:
                self.requests += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real providers serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                model._arrived(+1)
                try:
                    time.sleep(model.delay_s)
                finally:
                    model._arrived(-1)
                body = json.dumps({
                    "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                    "model": request.get("model", "bench"),
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                 "message": {"role": "assistant", "content": json.dumps(MODEL_ANSWER), "refusal": None}}],
                    "usage": {"prompt_tokens": 900, "completion_tokens": 30, "total_tokens": 930},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def model_env(env: Mapping[str, str], model: SlowModel) -> dict[str, str]:
    """The service's environment with the language model on (its default budgets and features)."""
    return {**env, "SDR_LLM_API_KEY": "bench-key", "SDR_LLM_BASE_URL": model.base_url, "SDR_LLM_MODEL": "bench-slow"}


@dataclass(frozen=True)
class Latencies:
    """Response times of one kind of request, in milliseconds, and how many failed."""

    samples: list[float]
    errors: int = 0

    def percentile(self, share: float) -> float:
        """The latency under which `share` of the requests answered (nearest rank)."""
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples) if self.samples else 0.0

    @property
    def p95(self) -> float:
        return self.percentile(0.95)

    @property
    def max(self) -> float:
        return max(self.samples, default=0.0)


@dataclass
class SlowModelRun:
    """One slow-model run: the leads' replies, and the requests that must not wait behind them."""

    label: str
    workers: int
    threads: int
    leads: int
    model_delay_ms: float
    replies: Latencies
    health: Latencies
    status_callbacks: Latencies
    voice: Latencies
    elapsed_s: float
    model_requests: int
    model_peak_in_flight: int
    at_next_stage: int  # leads the model's answer moved on to the timeline question

    @property
    def throughput(self) -> float:
        """Model-assisted replies per second."""
        return len(self.replies.samples) / self.elapsed_s if self.elapsed_s else 0.0


def _timed(send: Callable[[], int]) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        ok = send() == 200
    except (urllib.error.URLError, OSError):
        ok = False
    return (time.perf_counter() - started) * 1000, ok


def _post(url: str, form: Mapping[str, str], signed_url: str, auth_token: str) -> int:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                     headers={"X-Twilio-Signature": sign(auth_token, signed_url, form)})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class _Probe(threading.Thread):
    """Sends one kind of request every PROBE_INTERVAL_S until stopped, timing each."""

    def __init__(self, send: Callable[[], int]) -> None:
        super().__init__(daemon=True)
        self.send = send
        self.samples: list[float] = []
        self.errors = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            elapsed, ok = _timed(self.send)
            self.samples.append(elapsed)
            self.errors += not ok
            self.stopping.wait(PROBE_INTERVAL_S)

    def result(self) -> Latencies:
        self.stopping.set()
        self.join(timeout=HTTP_TIMEOUT_S + 1)
        return Latencies(self.samples, self.errors)


def run_slow_model(app: Flask, server: GunicornServer, model: SlowModel, phones: list[str], concurrency: int,
                   label: str, workers: int, threads: int, stage_of: Callable[[str], str]) -> SlowModelRun:
    """Walk every lead to the budget question, then `concurrency` leads at a time answer it in words only the
    model reads, while /healthz, message status callbacks and call openings are sent alongside."""
    settings = app.extensions["sdr_settings"]
    auth, public = settings.twilio_auth_token, settings.public_base_url
    account = settings.twilio_account_sid
    webhooks = WebhookClient(app, base_url=server.url)

    def walk(phone: str) -> None:
        for text in TO_BUDGET:
            webhooks.send_whatsapp(phone, text)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(walk, phones))

    def answer(phone: str) -> tuple[float, bool]:
        form = whatsapp_form(phone, UNREAD_BUDGET, sid=new_message_sid(), account_sid=account)
        return _timed(lambda: _post(server.url + WHATSAPP_PATH, form, public + WHATSAPP_PATH, auth))

    def health() -> int:
        with urllib.request.urlopen(server.url + "/healthz", timeout=HTTP_TIMEOUT_S) as response:
            response.read()
            return response.status

    def status_callback() -> int:
        form = {"MessageSid": new_message_sid(), "MessageStatus": "delivered", "AccountSid": account}
        return _post(server.url + STATUS_PATH, form, public + STATUS_PATH, auth)

    calls = iter(range(10**6))

    def call_opening() -> int:
        phone = f"+5521977{next(calls):06d}"
        form = call_form(phone, new_call_sid(), account, CallStatus="ringing")
        return _post(server.url + VOICE_PATH, form, public + VOICE_PATH, auth)

    probes = [_Probe(health), _Probe(status_callback), _Probe(call_opening)]
    for probe in probes:
        probe.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        outcomes = list(pool.map(answer, phones))
    elapsed = time.perf_counter() - started
    health_latency, status_latency, voice_latency = (probe.result() for probe in probes)
    replies = Latencies([ms for ms, _ok in outcomes], sum(not ok for _ms, ok in outcomes))
    return SlowModelRun(label=label, workers=workers, threads=threads, leads=len(phones),
                        model_delay_ms=model.delay_s * 1000, replies=replies, health=health_latency,
                        status_callbacks=status_latency, voice=voice_latency, elapsed_s=elapsed,
                        model_requests=model.requests, model_peak_in_flight=model.peak_in_flight,
                        at_next_stage=sum(stage_of(phone) == "timeline" for phone in phones))


def scenario_log(workdir: Path, label: str) -> Path:
    """Where the scenario's gunicorn writes its log."""
    return workdir / f"slow-model-{label.replace(' ', '-').replace('×', 'x')}.log"
