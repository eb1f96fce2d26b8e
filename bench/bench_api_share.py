"""The API's own share of a single basics.sign round trip, measured per request.

A real `qalam serve --scripted` child process answers 200 basics.sign requests of one 1 KiB
payload over wss, each opening the key file (as NCALayer does). Inside that child the parts
that are not the API are timed around every call, in the same request: the PKCS#12 open
(``open_pkcs12``), the signature (``cms.sign``; of which the raw RSA signature, ``key.sign``)
and the scripted prompter (``choose_key`` + ``confirm``). Per request::

    api_share = round trip (client) - open - cms.sign - prompter

which leaves the socket, TLS, JSON, base64, dispatch, filters, key status and thread hops
(the wake-ups of the event loop after a worker thread, which a loaded machine stretches).
Since wall time on a shared machine is noisy, the event loop thread's own CPU time per
request is reported too (``api_loop_thread_cpu_p50_ms``): what the API itself computes; and
the wall time one worker-thread hop around a PBKDF2 as long as the open adds on this machine
right now, without the API (``worker_hop_overhead_p50_ms``), with the share minus it.
Figures: p50/p99 of the round trip and of the share, the medians of each part, and the
share over the raw RSA-2048 signature time (``openssl speed``) measured in the same run.
Target: p50 api_share < 2 ms.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .bench_api import INDEX, KEY_ID, PAYLOAD, ROOT, Serve, _session, _sign, _sign_frame
from .raw import Raw

REQUESTS = 200

# Run in the child: wrap the parts that are not the API with timers, then serve. The timings
# are written when the server stops (SIGTERM), so recording them costs a list append.
CHILD = """
import atexit, json, sys, threading, time
from signer_app.crypto import cms
from signer_app.crypto import keystores
from signer_app.service import prompter, signing
from signer_app.api import dispatch

out_file = sys.argv[1]
parts = {"open": [], "sign": [], "raw": [], "prompt": [], "handle": []}
clock = time.perf_counter

def timed(name, func):
    def wrapper(*args, **kwargs):
        start = clock()
        try:
            return func(*args, **kwargs)
        finally:
            parts[name].append(clock() - start)
    return wrapper

def timed_async(name, func):
    async def wrapper(*args, **kwargs):
        start = clock()
        try:
            return await func(*args, **kwargs)
        finally:
            parts[name].append(clock() - start)
    return wrapper

signing.open_pkcs12 = timed("open", signing.open_pkcs12)
dispatch.Dispatcher.handle = timed_async("handle", dispatch.Dispatcher.handle)
parts["loop_cpu"] = []
handle = dispatch.Dispatcher.handle

async def cpu_marked(*args, **kwargs):
    parts["loop_cpu"].append(time.thread_time())  # CPU of the event loop's thread so far
    return await handle(*args, **kwargs)

dispatch.Dispatcher.handle = cpu_marked
cms.sign = timed("sign", cms.sign)
parts["sign_on_loop_cpu"] = []
timed_sign = cms.sign

def sign_on_loop(*args, **kwargs):
    # A small request is signed on the loop's thread: its CPU is the signature's, not the API's.
    on_loop = threading.current_thread() is threading.main_thread()
    start = time.thread_time()
    try:
        return timed_sign(*args, **kwargs)
    finally:
        parts["sign_on_loop_cpu"].append(time.thread_time() - start if on_loop else 0.0)

cms.sign = sign_on_loop
keystores.SoftwareKey.sign = timed("raw", keystores.SoftwareKey.sign)
for method in ("choose_key", "confirm"):
    setattr(prompter.ScriptedPrompter, method,
            timed_async("prompt", getattr(prompter.ScriptedPrompter, method)))

def dump():
    with open(out_file, "w") as f:
        json.dump(parts, f)

atexit.register(dump)
from signer_app.cli import main
sys.exit(main(sys.argv[2:]))
"""


class TimedServe(Serve):
    """`qalam serve --scripted` with the non-API parts timed inside."""

    def __init__(self, folder: Path, script: Path) -> None:
        from .bench_api import _free_port

        self.port = _free_port()
        self.data = folder / "home"
        self.parts_file = folder / "parts.json"
        command = [sys.executable, "-c", CHILD, str(self.parts_file), "serve"]
        command += ["--scripted", str(script), "--port", str(self.port)]
        command += ["--data-dir", str(self.data), "--tsa-url", ""]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.url = f"wss://127.0.0.1:{self.port}/"

    def parts(self) -> dict[str, list[float]]:
        """Seconds per call of each timed part, in call order (after ``stop``)."""
        parts: dict[str, list[float]] = json.loads(self.parts_file.read_text())
        return parts


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _round_trips(serve: TimedServe) -> list[float]:
    frame = _sign_frame(base64.b64encode(os.urandom(PAYLOAD)).decode())
    ws = await _session(serve)
    times = []
    try:
        for _ in range(REQUESTS):
            start = time.perf_counter()
            await _sign(ws, frame)
            times.append(time.perf_counter() - start)
    finally:
        await ws.close()
    return times


async def _run(folder: Path) -> tuple[list[float], dict[str, list[float]]]:
    rows = json.loads(INDEX.read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == KEY_ID)
    script = folder / "answers.json"
    key = str(ROOT / "certs" / row["path"])
    script.write_text(json.dumps({"key": key, "password": row["password"]}))
    serve = TimedServe(folder, script)
    try:
        await serve.first_greeting()
        trips = await asyncio.wait_for(_round_trips(serve), 120)
    finally:
        serve.stop()
    return trips, serve.parts()


async def _hop_overhead(seconds: float, runs: int = 20) -> float:
    """Median wall time an asyncio worker-thread hop adds around ``seconds`` of CPU work (a
    PBKDF2 as long as the PKCS#12 open), measured here, without the API: the machine's own
    cost of waking the loop after a worker, which the open's hop pays in the server too."""
    rounds = 1000
    start = time.perf_counter()
    hashlib.pbkdf2_hmac("sha256", b"p", b"s", rounds)
    rounds = max(1000, int(rounds * seconds / max(time.perf_counter() - start, 1e-6)))
    inner: list[float] = []

    def work() -> None:
        begin = time.perf_counter()
        hashlib.pbkdf2_hmac("sha256", b"p", b"s", rounds)
        inner.append(time.perf_counter() - begin)

    extra = []
    for _ in range(runs):
        begin = time.perf_counter()
        await asyncio.to_thread(work)
        extra.append(time.perf_counter() - begin - inner[-1])
    return statistics.median(extra)


def run(raw: Raw) -> dict[str, Any]:
    """The figures above, as a JSON-able dict (milliseconds)."""
    with tempfile.TemporaryDirectory(prefix="qalam-bench-api-share-") as tmp:
        trips, parts = asyncio.run(_run(Path(tmp)))
    # One open, one cms.sign, one raw signature, two prompts per request, in order.
    prompts = [a + b for a, b in zip(parts["prompt"][::2], parts["prompt"][1::2], strict=True)]
    shares = [
        t - o - s - p
        for t, o, s, p in zip(trips, parts["open"], parts["sign"], prompts, strict=True)
    ]
    handles = parts["handle"][-len(trips) :]
    inside = [
        h - o - s - p
        for h, o, s, p in zip(handles, parts["open"], parts["sign"], prompts, strict=True)
    ]
    # The event loop thread's CPU from one request's dispatch to the next: frames, TLS, JSON,
    # dispatch, filters (the open runs on a worker thread and is not in it); the prompter and a
    # signature made on the loop are taken out. Unlike wall time, load does not move it.
    marks = parts["loop_cpu"][-len(trips) :]
    on_loop = parts["sign_on_loop_cpu"][-len(trips) :]
    cpu = [b - a - s for (a, b), s in zip(itertools.pairwise(marks), on_loop, strict=False)][1:]
    # The first request also pays for the first revocation question and warm caches.
    steady = shares[1:]
    hop = asyncio.run(_hop_overhead(statistics.median(parts["open"])))
    raw_sign_ms = 1000 / raw.rsa2048_sign_per_s
    ms = 1000.0
    return {
        "requests": REQUESTS,
        "round_trip_p50_ms": round(statistics.median(trips) * ms, 3),
        "round_trip_p99_ms": round(_pct(trips, 0.99) * ms, 3),
        "pkcs12_open_median_ms": round(statistics.median(parts["open"]) * ms, 3),
        "pkcs12_open_share_of_round_trip": round(
            statistics.median(parts["open"]) / statistics.median(trips), 3
        ),
        "cms_sign_median_ms": round(statistics.median(parts["sign"]) * ms, 3),
        "raw_key_sign_median_ms": round(statistics.median(parts["raw"]) * ms, 3),
        "scripted_prompter_median_ms": round(statistics.median(prompts) * ms, 3),
        "api_share_p50_ms": round(statistics.median(steady) * ms, 3),
        "api_share_p99_ms": round(_pct(steady, 0.99) * ms, 3),
        "api_share_inside_dispatch_p50_ms": round(statistics.median(inside[1:]) * ms, 3),
        "api_share_socket_tls_json_p50_ms": round(
            statistics.median(t - h for t, h in zip(trips[1:], handles[1:], strict=True)) * ms, 3
        ),
        "api_loop_thread_cpu_p50_ms": round(
            (statistics.median(cpu) - statistics.median(prompts)) * ms, 3
        ),
        "worker_hop_overhead_p50_ms": round(hop * ms, 3),
        "api_share_p50_minus_hop_ms": round((statistics.median(steady) - hop) * ms, 3),
        "api_share_first_request_ms": round(shares[0] * ms, 3),
        "api_share_p50_over_openssl_rsa2048_sign": round(
            statistics.median(steady) * ms / raw_sign_ms, 3
        ),
        "target_api_share_ms": 2,
    }
