"""GOST 34.10-2015 (512) signing and verification: CMS against the curve primitive, same run.

* primitive_sign / primitive_verify: the bare GOST R 34.10 operation over a ready 64-byte
  Streebog digest (gost.py: python-ecdsa points, gmpy2 integers), per second.
* hash_sign: Streebog-512 of the 1 KiB payload plus that operation (SigningKey.sign).
* cms_sign / cms_verify: an attached CMS of the same 1 KiB payload, per second, and its ratio
  to the primitive (the issue's budget: the CMS wrapper may cost at most 20 %, ratio >= 0.8).
* streebog_mb_per_s: gostcrypto's Streebog-512 over 64 KiB.

The key is NCA's GOST 2015 test key in shared/vectors/nca (absent: the figures are skipped).
Rates are medians of short windows, as in bench_cms. Nothing is printed to stdout.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from signer_app.crypto import cms, gost
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.keystores import open_pkcs12

from .raw import Raw

ROOT = Path(__file__).resolve().parent.parent
KEY_FILE = ROOT.parent / "shared" / "vectors" / "nca" / "gokalkan" / "gost1.p12"
PASSWORD = "Qwerty12"
PAYLOAD_SIZE = 1024
POOL_SIZE = 16
WINDOWS = 5
WINDOW_SECONDS = 0.6
TARGETS = {"cms_sign_ratio": 0.80, "cms_verify_ratio": 0.80}


def _rate(operation: Callable[[], object]) -> float:
    """Operations per second: the median of WINDOWS windows of about WINDOW_SECONDS each."""
    rates = []
    for _ in range(WINDOWS):
        count = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < WINDOW_SECONDS:
            operation()
            count += 1
        rates.append(count / elapsed)
    return statistics.median(rates)


def _cycle(items: list[bytes], use: Callable[[bytes], object]) -> Callable[[], object]:
    position = 0

    def one() -> object:
        nonlocal position
        position = (position + 1) % len(items)
        return use(items[position])

    return one


def run(raw: Raw) -> dict[str, object]:
    """Measure the GOST primitive, Streebog and GOST CMS; return figures, ratios and targets."""
    del raw  # the primitive here is our own GOST operation, measured below in the same run
    if not KEY_FILE.is_file():
        return {"skipped": f"NCA GOST test key not found at {KEY_FILE}"}
    entry = open_pkcs12(KEY_FILE, PASSWORD).entry
    key = entry.key
    public = gost.public_key_from_certificate(entry.certificate)
    if not isinstance(key, gost.GostPrivateKey) or public is None:
        raise RuntimeError("the test key is not a GOST 2015 key")
    streebog = DigestAlgorithm.STREEBOG512
    digests = [os.urandom(64) for _ in range(POOL_SIZE)]
    signatures = [key.sign_digest(d, streebog) for d in digests]
    pairs = [d + s for d, s in zip(digests, signatures, strict=True)]  # digest, then signature
    payload = os.urandom(PAYLOAD_SIZE)
    cms.sign(payload, entry)  # warm the per-key template cache as a real session would
    pool = [cms.sign(os.urandom(PAYLOAD_SIZE), entry) for _ in range(POOL_SIZE)]
    if not all(cms.verify(blob).valid for blob in pool):
        raise RuntimeError("a freshly made GOST CMS does not verify")

    primitive_sign = _rate(_cycle(digests, lambda d: key.sign_digest(d, streebog)))
    primitive_verify = _rate(_cycle(pairs, lambda p: public.verify_digest(p[64:], p[:64])))
    hash_sign = _rate(lambda: key.sign(payload, streebog))
    cms_sign = _rate(lambda: cms.sign(payload, entry))
    cms_verify = _rate(_cycle(pool, cms.verify))
    block = os.urandom(64 * 1024)
    start = time.perf_counter()
    gost.streebog512(block)
    streebog_mb_per_s = len(block) / (time.perf_counter() - start) / 1e6

    sign_ratio = round(cms_sign / primitive_sign, 3)
    verify_ratio = round(cms_verify / primitive_verify, 3)
    return {
        "primitive_sign_per_s": round(primitive_sign, 1),
        "primitive_verify_per_s": round(primitive_verify, 1),
        "hash_sign_1k_per_s": round(hash_sign, 1),
        "cms_sign_per_s": round(cms_sign, 1),
        "cms_verify_per_s": round(cms_verify, 1),
        "cms_sign_ratio": sign_ratio,
        "cms_verify_ratio": verify_ratio,
        "cms_sign_vs_hash_sign_ratio": round(cms_sign / hash_sign, 3),
        "streebog_mb_per_s": round(streebog_mb_per_s, 3),
        "targets": TARGETS,
        "met": {
            "cms_sign_ratio": sign_ratio >= TARGETS["cms_sign_ratio"],
            "cms_verify_ratio": verify_ratio >= TARGETS["cms_verify_ratio"],
        },
    }
