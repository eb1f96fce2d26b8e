"""What the Sign page adds around a PAdES B-B signature, against crypto/pades.sign_pdf alone.

Before any dialog the page reads the PDF (service/pdf_local.prepare_pdf: header, encryption,
page count, signatures already there, the stamp page's size, the SHA-256 the confirmation
shows); after the approval the job signs into a private folder and links the result into
place. Both are measured on a 10-page and a 2,000-page PDF (already signed once, the stamp on
the last page: the costly case) against the raw engine on the same file in the same run.

Figures (median of ROUNDS): ``prepare_seconds``, ``job_seconds``, ``raw_seconds``, and
``prepare_ratio`` = prepare / raw, ``job_ratio`` = job / raw, where a job is the checks and
the signing together (what the page pays in all; 1.0 would be no overhead).
"""

from __future__ import annotations

import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from signer_app.crypto import pades
from signer_app.crypto.keystores import KeyEntry, open_pkcs12
from signer_app.service.pdf_local import Corner, StampPage, prepare_pdf

from .bench_pades import _pdf
from .raw import Raw

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 9
SIZES = (10, 2000)


def _medians(*actions: Callable[[], None]) -> list[float]:
    """Each action's median time, the actions alternating round by round (a machine shared
    with other work slows them alike)."""
    seconds: list[list[float]] = [[] for _ in actions]
    for _ in range(ROUNDS):
        for action, times in zip(actions, seconds, strict=True):
            # The garbage of the previous signing (pyHanko's object graphs, the font) would
            # otherwise be collected inside whichever action comes next.
            gc.collect()
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in seconds]


def _measure(signed: Path, entry: KeyEntry, home: Path) -> dict[str, object]:
    stamp: tuple[StampPage, Corner] = ("last", "bottom-right")
    visible = prepare_pdf(signed, data_dir=home, stamp=stamp).visible
    raw_out = signed.with_name("raw.pdf")

    def engine() -> None:
        pades.sign_pdf(signed, entry, raw_out, visible=visible, overwrite=True)

    def checks() -> None:
        prepare_pdf(signed, data_dir=home, stamp=stamp, overwrite=True)

    def job() -> None:
        prepare_pdf(signed, data_dir=home, stamp=stamp, overwrite=True).run(entry, lambda: False)

    raw_s, prepare_s, job_s = _medians(engine, checks, job)
    return {
        "bytes": signed.stat().st_size,
        "raw_seconds": round(raw_s, 4),
        "prepare_seconds": round(prepare_s, 4),
        "job_seconds": round(job_s, 4),
        "prepare_ratio": round(prepare_s / raw_s, 3),
        "job_ratio": round(job_s / raw_s, 3),
    }


def run(raw: Raw) -> dict[str, object]:
    """Measure the page's checks and job against pades.sign_pdf on the same PDFs."""
    del raw  # the raw primitive here is pades.sign_pdf itself, measured in the same rounds
    index = {k["id"]: k for k in json.loads((ROOT / "certs/demo/index.json").read_text())}
    demo = index["citizen_sign"]
    entry = open_pkcs12(ROOT / "certs" / demo["path"], demo["password"]).entry
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="qalam-bench-pdf-") as name:
        folder = Path(name)
        for pages in SIZES:
            plain = folder / f"p{pages}.pdf"
            plain.write_bytes(_pdf(pages))
            signed = pades.sign_pdf(plain, entry, folder / f"p{pages}-signed.pdf")
            report[f"pages_{pages}"] = _measure(signed, entry, folder / "home")
    return report
