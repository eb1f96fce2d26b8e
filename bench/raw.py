"""The raw primitives every benchmark divides by, measured with openssl in the same run."""

from __future__ import annotations

import re
import subprocess
import time
from functools import cached_property
from pathlib import Path


def _openssl_speed(algorithm: str, seconds: int) -> str:
    result = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), algorithm],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


class Raw:
    """Lazily measured raw rates; one instance per benchmark run so all ratios share it."""

    def __init__(self, seconds: int = 3) -> None:
        self.seconds = seconds

    @cached_property
    def _rsa2048(self) -> tuple[float, float]:
        out = _openssl_speed("rsa2048", self.seconds)
        # "rsa 2048 bits 0.000610s 0.000018s   1639.3  55033.4" (sign/s, verify/s at the end)
        match = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", out, re.M)
        if match is None:
            raise RuntimeError(f"cannot read openssl speed output:\n{out}")
        return float(match.group(1)), float(match.group(2))

    @property
    def rsa2048_sign_per_s(self) -> float:
        """`openssl speed rsa2048` private-key operations per second, one core."""
        return self._rsa2048[0]

    @property
    def rsa2048_verify_per_s(self) -> float:
        """`openssl speed rsa2048` public-key operations per second, one core."""
        return self._rsa2048[1]

    def sha256_file_mb_per_s(self, path: Path) -> float:
        """`openssl dgst -sha256` over ``path``: MB/s (10^6 bytes), best of two runs."""
        size = path.stat().st_size
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(
                ["openssl", "dgst", "-sha256", str(path)], capture_output=True, check=True
            )
            best = min(best, time.perf_counter() - start)
        return size / best / 1e6
