"""The local API over wss, against a real `qalam serve --scripted` process on loopback.

* array: basics.sign, format cms, ``data`` an array of 200 payloads of 1 KiB, one dialog (the
  scripted approval), one RSA-2048 key: signatures/s over the whole round trip (key file open
  included) divided by ``openssl speed rsa2048`` sign/s. Target >= 0.5.
* single: 50 basics.sign round trips of one 1 KiB payload, each opening the key file (as
  NCALayer does): p50 and p99. The PKCS#12 open and the CMS sign are timed in this process
  with the same code and key (median of 20 each); the API's own share is defined as
  p50 round trip - median open - median sign: what the socket, TLS, JSON, base64, dispatch,
  scripted prompter and reply formatting add. Target < 2 ms. (bench_api_share measures the same
  share per request inside the server, which a loaded machine disturbs much less.)
* heartbeat: 50 sockets send ``--heartbeat--`` in a loop (one outstanding each) while another
  process signs a 50 MiB payload (detached CMS) over its own socket; the longest wait for a
  heartbeat echo, from the start of that upload to its reply. Target < 100 ms.
* heartbeat_attached: the same with an attached CMS, so the reply carries the 50 MiB back (a
  PEM-armoured CMS of ~68 MiB of JSON text: its encoding and JSON must stay off the loop).
  Target < 100 ms.
* cold_start: process start (Popen) to the first greeting frame, first run (TLS identity made)
  and a second run with the data dir in place. Target < 1 s.

``QALAM_BENCH_API_PHASES=heartbeat`` (comma-separated: array, single, heartbeat,
heartbeat_attached) runs only those phases after the cold start; all of them when unset.

Loopback only, bounded (each phase has a timeout; the whole run well under 60 s), nothing on
stdout (the harness prints the JSON).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from signer_app.crypto import cms
from signer_app.crypto.keystores import open_pkcs12

from .raw import Raw

ROOT = Path(__file__).resolve().parent.parent
INDEX = ROOT / "certs" / "demo" / "index.json"
KEY_ID = "citizen_sign"
ARRAY_SIZE = 200
PAYLOAD = 1024
SINGLE_RUNS = 50
HEARTBEAT_SOCKETS = 50
BIG_SIZE = 50 << 20
GREETING = '{"result":{"version":"1.4"}}'
PHASES = ("array", "single", "heartbeat", "heartbeat_attached")


def _phases() -> set[str]:
    chosen = os.environ.get("QALAM_BENCH_API_PHASES", "")
    return {p.strip() for p in chosen.split(",") if p.strip()} or set(PHASES)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sign_frame(data: list[str] | str, encapsulate: bool = True) -> str:
    return json.dumps(
        {
            "module": "kz.gov.pki.knca.basics",
            "method": "sign",
            "args": {
                "allowedStorages": ["PKCS12"],
                "format": "cms",
                "data": data,
                "signingParams": {"decode": True, "encapsulate": encapsulate},
                "signerParams": {"extKeyUsageOids": []},
                "locale": "en",
            },
        }
    )


class Serve:
    """A `qalam serve --scripted` child process."""

    def __init__(self, folder: Path, script: Path) -> None:
        self.port = _free_port()
        self.data = folder / "home"
        command = [sys.executable, "-m", "signer_app.cli", "serve", "--scripted", str(script)]
        command += ["--port", str(self.port), "--data-dir", str(self.data), "--tsa-url", ""]
        command += ["--max-frame-mib", "100"]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.url = f"wss://127.0.0.1:{self.port}/"

    @property
    def cafile(self) -> Path:
        return self.data / "tls" / "root.pem"

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    async def first_greeting(self, timeout: float = 20) -> float:
        """Seconds from Popen to the first greeting frame (polling every 5 ms)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("qalam serve exited")
            if self.cafile.is_file():
                try:
                    async with connect(self.url, ssl=self.context(), open_timeout=5) as ws:
                        if await ws.recv() == GREETING:
                            return time.perf_counter() - self.started
                except (TimeoutError, OSError, ssl.SSLError):
                    pass
            await asyncio.sleep(0.005)
        raise RuntimeError("no greeting from qalam serve")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


async def _session(serve: Serve) -> ClientConnection:
    ws = await connect(serve.url, ssl=serve.context(), max_size=None, open_timeout=10)
    assert await ws.recv() == GREETING
    return ws


async def _sign(ws: ClientConnection, frame: str) -> dict[str, Any]:
    await ws.send(frame)
    reply: dict[str, Any] = json.loads(await ws.recv())
    if reply.get("status") is not True or not reply["body"].get("result"):
        raise RuntimeError(f"basics.sign failed: {str(reply)[:200]}")
    return reply


async def _array(serve: Serve, raw: Raw) -> dict[str, object]:
    payloads = [base64.b64encode(os.urandom(PAYLOAD)).decode() for _ in range(ARRAY_SIZE)]
    frame = _sign_frame(payloads)
    ws = await _session(serve)
    try:
        await _sign(ws, _sign_frame(payloads[:1]))  # warm up
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            reply = await _sign(ws, frame)
            best = min(best, time.perf_counter() - start)
            assert len(reply["body"]["result"]) == ARRAY_SIZE
    finally:
        await ws.close()
    rate = ARRAY_SIZE / best
    return {
        "signatures": ARRAY_SIZE,
        "payload_bytes": PAYLOAD,
        "seconds_best_of_3": round(best, 3),
        "signatures_per_s": round(rate, 1),
        "ratio_to_raw_rsa2048_sign": round(rate / raw.rsa2048_sign_per_s, 3),
        "target_ratio": 0.5,
    }


def _median_ms(action: Any, runs: int = 20) -> float:
    action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def _single(serve: Serve, key_path: Path, password: str) -> dict[str, object]:
    data = os.urandom(PAYLOAD)
    frame = _sign_frame(base64.b64encode(data).decode())
    ws = await _session(serve)
    times = []
    try:
        await _sign(ws, frame)
        for _ in range(SINGLE_RUNS):
            start = time.perf_counter()
            await _sign(ws, frame)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        await ws.close()
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    open_ms = _median_ms(lambda: open_pkcs12(key_path, password))
    entry = open_pkcs12(key_path, password).entry
    sign_ms = _median_ms(lambda: cms.sign(data, entry))
    return {
        "requests": SINGLE_RUNS,
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "pkcs12_open_ms": round(open_ms, 2),
        "cms_sign_ms": round(sign_ms, 2),
        "api_share_ms": round(p50 - open_ms - sign_ms, 2),
        "api_share_definition": "p50 round trip - median in-process open_pkcs12 - median cms.sign",
        "target_api_share_ms": 2,
    }


BIG_SIGNER = """
import asyncio, json, ssl, sys, time
from websockets.asyncio.client import connect
url, cafile, frame_file = sys.argv[1:4]
frame = open(frame_file, encoding="ascii").read()
async def main():
    ctx = ssl.create_default_context(cafile=cafile)
    async with connect(url, ssl=ctx, max_size=None, open_timeout=10) as ws:
        await ws.recv()
        print("ready", flush=True)
        sys.stdin.readline()
        start = time.perf_counter()
        await ws.send(frame)
        reply = json.loads(await ws.recv())
        assert reply["status"] is True, str(reply)[:200]
        print(f"{time.perf_counter() - start:.3f}", flush=True)
asyncio.run(main())
"""


async def _heartbeats(serve: Serve, folder: Path, attached: bool = False) -> dict[str, object]:
    frame_file = folder / "big.json"
    big = base64.b64encode(os.urandom(BIG_SIZE)).decode()
    frame_file.write_text(_sign_frame(big, encapsulate=attached), encoding="ascii")
    del big
    signer = subprocess.Popen(
        [sys.executable, "-c", BIG_SIGNER, serve.url, str(serve.cafile), str(frame_file)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sockets = [await _session(serve) for _ in range(HEARTBEAT_SOCKETS)]
    waits: list[float] = []
    done = asyncio.Event()

    async def beat(ws: ClientConnection) -> None:
        while not done.is_set():
            start = time.perf_counter()
            await ws.send("--heartbeat--")
            assert await asyncio.wait_for(ws.recv(), 10) == "--heartbeat--"
            waits.append(time.perf_counter() - start)
            await asyncio.sleep(0.005)

    try:
        assert signer.stdout is not None
        assert signer.stdin is not None
        ready = await asyncio.wait_for(asyncio.to_thread(signer.stdout.readline), 20)
        if ready.strip() != "ready":
            raise RuntimeError(f"big signer did not start: {signer.stderr.read()[:300]}")  # type: ignore[union-attr]
        tasks = [asyncio.create_task(beat(ws)) for ws in sockets]
        await asyncio.sleep(0.2)
        waits.clear()
        signer.stdin.write("go\n")
        signer.stdin.flush()
        line = await asyncio.wait_for(asyncio.to_thread(signer.stdout.readline), 40)
        done.set()
        await asyncio.gather(*tasks)
        if not line.strip():
            raise RuntimeError(f"big sign failed: {signer.stderr.read()[:300]}")  # type: ignore[union-attr]
    finally:
        done.set()
        for ws in sockets:
            await ws.close()
        signer.kill()
        signer.wait(timeout=10)
    waits.sort()
    return {
        "sockets": HEARTBEAT_SOCKETS,
        "payload_mib": BIG_SIZE >> 20,
        "reply": "attached CMS (PEM)" if attached else "detached CMS (PEM)",
        "big_sign_round_trip_s": float(line),
        "heartbeats": len(waits),
        "max_wait_ms": round(waits[-1] * 1000, 1),
        "p99_wait_ms": round(waits[int(0.99 * (len(waits) - 1))] * 1000, 1),
        "target_max_wait_ms": 100,
        "load_average_1min": round(os.getloadavg()[0], 2),  # other work on the machine skews it
    }


async def _run(raw: Raw, folder: Path) -> dict[str, object]:
    rows = json.loads(INDEX.read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == KEY_ID)
    key_path = ROOT / "certs" / row["path"]
    script = folder / "answers.json"
    script.write_text(json.dumps({"key": str(key_path), "password": row["password"]}))
    report: dict[str, object] = {"key": f"{KEY_ID} (RSA-2048, PKCS#12)"}
    first = Serve(folder, script)
    try:
        fresh = await first.first_greeting()
    finally:
        first.stop()
    serve = Serve(folder, script)
    try:
        again = await serve.first_greeting()
        report["cold_start"] = {
            "first_run_ms": round(fresh * 1000, 1),
            "with_data_dir_ms": round(again * 1000, 1),
            "target_ms": 1000,
        }
        phases = _phases()
        if "array" in phases:
            report["array"] = await asyncio.wait_for(_array(serve, raw), 30)
        if "single" in phases:
            password = row["password"]
            report["single"] = await asyncio.wait_for(_single(serve, key_path, password), 30)
        if "heartbeat" in phases:
            report["heartbeat"] = await asyncio.wait_for(_heartbeats(serve, folder), 50)
        if "heartbeat_attached" in phases:
            attached = _heartbeats(serve, folder, attached=True)
            report["heartbeat_attached"] = await asyncio.wait_for(attached, 60)
    finally:
        serve.stop()
    return report


def run(raw: Raw) -> dict[str, object]:
    """The figures above, as a JSON-able dict."""
    with tempfile.TemporaryDirectory(prefix="qalam-bench-api-") as tmp:
        return asyncio.run(_run(raw, Path(tmp)))
