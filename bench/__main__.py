"""Run every benchmark (`python -m bench [name ...]`) and print one JSON document."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
from pathlib import Path

from .raw import Raw

# Benchmarks named without the bench_ prefix (one module per subject).
NAMED = ("validation",)


def main(argv: list[str] | None = None) -> int:
    """Run the bench_* modules (all, or those named) and print their figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="which benchmarks (e.g. cms xml); all if none")
    parser.add_argument("--seconds", type=int, default=3, help="openssl speed duration")
    args = parser.parse_args(argv)
    here = Path(__file__).parent
    modules = sorted(
        m.name
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_") or m.name in NAMED
    )
    if args.names:
        modules = [m for m in modules if m.removeprefix("bench_") in args.names]
    raw = Raw(seconds=args.seconds)
    report: dict[str, object] = {}
    for name in modules:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ...", file=sys.stderr)
        report[name.removeprefix("bench_")] = module.run(raw)
    report["raw"] = {
        "openssl_rsa2048_sign_per_s": raw.rsa2048_sign_per_s,
        "openssl_rsa2048_verify_per_s": raw.rsa2048_verify_per_s,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalization: with the Qt benches loaded, PySide6 sometimes aborts there
    # ("bool_dealloc: deallocating True or False", exit 134) after every figure was printed.
    os._exit(status)
