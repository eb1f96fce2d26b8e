"""The qalam-ca command line: `qalam-ca demo-pki --out certs` regenerates the demo PKI."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from ca_server import demo_pki


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qalam-ca", description="Qalam's bundled test CA.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo-pki", help="regenerate the fixed demo PKI (TEST ONLY) into a directory"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("certs"), help="output directory (default: certs)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo-pki":
        started = time.monotonic()
        demo_pki.generate(args.out)
        print(f"demo PKI written to {args.out} in {time.monotonic() - started:.1f} s")
        return 0
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
