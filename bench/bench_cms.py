"""CMS signing, verification and streamed signing against the raw primitives they are built on.

* sign: attached CMS of a 1 KiB payload with the demo RSA-2048 key, per second, divided by
  ``openssl speed rsa2048`` private-key operations per second (one core).
* verify: the same kind of CMS, per second, divided by ``openssl speed rsa2048`` public-key
  operations per second. A pool of distinct signatures is verified round robin, so nothing but
  what genuinely repeats between signatures (the signer's certificate) can be cached.
* stream: detached signing of a 1 GiB file with sign_stream, MB/s divided by
  ``openssl dgst -sha256`` MB/s on the same file, in a child process whose peak RSS is reported;
  the two alternate for a few rounds and the best of each counts.

Rates are the median of several short windows (robust against a noisy neighbour on a shared
machine). Nothing is printed to stdout: the harness prints the JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from signer_app.crypto import cms
from signer_app.crypto.keystores import KeyEntry, open_pkcs12

from .raw import Raw

ROOT = Path(__file__).resolve().parent.parent
INDEX = ROOT / "certs" / "demo" / "index.json"
KEY_ID = "citizen_sign"
PAYLOAD_SIZE = 1024
POOL_SIZE = 64
WINDOWS = 5
WINDOW_SECONDS = 0.6
STREAM_SIZE = 1 << 30
STREAM_ROUNDS = 3

TARGETS = {
    "sign_ratio": 0.80,
    "verify_ratio": 0.50,
    "stream_ratio": 0.90,
    "stream_peak_rss_mb": 100.0,
}

# Runs in a fresh interpreter so that its peak RSS is the streamed signing's alone.
_CHILD = """
import json, sys, time
from signer_app.crypto import cms
from signer_app.crypto.keystores import open_pkcs12
entry = open_pkcs12(sys.argv[1], sys.argv[2]).entry
start = time.perf_counter()
with open(sys.argv[3], "rb") as stream:
    signature = cms.sign_stream(stream, entry)
seconds = time.perf_counter() - start
status = open("/proc/self/status", encoding="ascii").read()
hwm_kb = int(status.split("VmHWM:")[1].split()[0])
print(json.dumps({"seconds": seconds, "vmhwm_kb": hwm_kb, "size": len(signature)}))
"""


def _demo_key() -> tuple[Path, str]:
    rows = json.loads(INDEX.read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == KEY_ID)
    return ROOT / "certs" / row["path"], row["password"]


def _rate(operation: Callable[[], object]) -> float:
    """Operations per second: the median of WINDOWS windows of about WINDOW_SECONDS each."""
    rates = []
    for _ in range(WINDOWS):
        count = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < WINDOW_SECONDS:
            for _ in range(10):
                operation()
            count += 10
        rates.append(count / elapsed)
    return statistics.median(rates)


def _sign_rate(entry: KeyEntry) -> float:
    payload = os.urandom(PAYLOAD_SIZE)
    cms.sign(payload, entry)  # warm the per-key cache as a real session would
    return _rate(lambda: cms.sign(payload, entry))


def _verify_rate(entry: KeyEntry) -> float:
    pool = [cms.sign(os.urandom(PAYLOAD_SIZE), entry) for _ in range(POOL_SIZE)]
    if not all(cms.verify(blob).valid for blob in pool):
        raise RuntimeError("a freshly made CMS does not verify")
    position = 0

    def one() -> None:
        nonlocal position
        cms.verify(pool[position])
        position = (position + 1) % POOL_SIZE

    return _rate(one)


def _make_file(path: Path) -> None:
    block = os.urandom(1 << 20)
    with path.open("wb") as out:
        for _ in range(STREAM_SIZE // len(block)):
            out.write(block)


def _stream(raw: Raw, key_path: Path, password: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="qalam-bench-") as folder:
        big = Path(folder) / "big.bin"
        print(f"  writing {STREAM_SIZE >> 20} MiB to {big} ...", file=sys.stderr)
        _make_file(big)
        # Alternate openssl and us, best of each: a neighbour's burst then hits both alike.
        raw_mb_per_s = 0.0
        best = float("inf")
        peak_kb = 0
        for _ in range(STREAM_ROUNDS):
            raw_mb_per_s = max(raw_mb_per_s, raw.sha256_file_mb_per_s(big))
            result = subprocess.run(
                [sys.executable, "-c", _CHILD, str(key_path), password, str(big)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            figures = json.loads(result.stdout)
            best = min(best, figures["seconds"])
            peak_kb = max(peak_kb, figures["vmhwm_kb"])
    mb_per_s = STREAM_SIZE / best / 1e6
    return {
        "stream_mb_per_s": round(mb_per_s, 1),
        "stream_raw_mb_per_s": round(raw_mb_per_s, 1),
        "stream_ratio": round(mb_per_s / raw_mb_per_s, 3),
        "stream_peak_rss_mb": round(peak_kb / 1024, 1),
    }


def run(raw: Raw) -> dict[str, object]:
    """Measure sign, verify and streamed signing; return the figures, ratios and targets."""
    key_path, password = _demo_key()
    entry = open_pkcs12(key_path, password).entry
    print("  sign ...", file=sys.stderr)
    sign_per_s = _sign_rate(entry)
    print("  verify ...", file=sys.stderr)
    verify_per_s = _verify_rate(entry)
    print("  stream ...", file=sys.stderr)
    stream = _stream(raw, key_path, password)
    sign_ratio = round(sign_per_s / raw.rsa2048_sign_per_s, 3)
    verify_ratio = round(verify_per_s / raw.rsa2048_verify_per_s, 3)
    return {
        "sign_per_s": round(sign_per_s, 1),
        "sign_ratio": sign_ratio,
        "verify_per_s": round(verify_per_s, 1),
        "verify_ratio": verify_ratio,
        **stream,
        "targets": TARGETS,
        "met": {
            "sign_ratio": sign_ratio >= TARGETS["sign_ratio"],
            "verify_ratio": verify_ratio >= TARGETS["verify_ratio"],
            "stream_ratio": stream["stream_ratio"] >= TARGETS["stream_ratio"],
            "stream_peak_rss_mb": stream["stream_peak_rss_mb"] <= TARGETS["stream_peak_rss_mb"],
        },
    }
