"""Start of the command line: `qalam --version` and `qalam --help`, each a fresh process.

* version_seconds, help_seconds: the median of ROUNDS runs of `python -m signer_app.cli
  --version` (and `--help`), the way the console script starts it;
* raw primitive, same run: a bare `python -c pass` (the interpreter's own start), median of
  ROUNDS; each figure is also given as a ratio to it (1.0 would be free).

cli.py imports only what parsing needs; a verb imports what it uses, so these two never load
cryptography, lxml, pyHanko or Qt (tests/test_cli.py checks that through sys.modules).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from .raw import Raw

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 11


def _median_seconds(command: list[str]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=60)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(raw: Raw) -> dict[str, object]:
    """Median start times of `qalam --version` / `--help` against a bare interpreter."""
    del raw  # the reference here is the interpreter's start, measured in the same run
    bare = _median_seconds([sys.executable, "-c", "pass"])
    qalam = [sys.executable, "-m", "signer_app.cli"]
    version = _median_seconds([*qalam, "--version"])
    helped = _median_seconds([*qalam, "--help"])
    return {
        "rounds": ROUNDS,
        "python_bare_seconds": round(bare, 3),
        "version_seconds": round(version, 3),
        "help_seconds": round(helped, 3),
        "version_ratio_to_bare": round(version / bare, 2),
        "help_ratio_to_bare": round(helped / bare, 2),
    }
