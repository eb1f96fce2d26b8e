"""PAdES B-LT signing of a 10-page PDF against pyHanko's own CLI on the same file and key.

The bundled CA is served for both (TSA, OCSP, CRLs). pyHanko's CLI reaches OCSP and CRLs at the
URLs written in the demo certificates (http://127.0.0.1:8080), so the CA is served on port 8080;
when that port is taken, the pyHanko figures cannot be measured and are reported as null.

Figures (the median of ROUNDS runs, the tools alternating):
* ``qalam_cli_seconds``: `qalam sign doc.pdf -f pdf --level b-lt` (a fresh process, like theirs);
* ``pyhanko_cli_seconds``: `pyhanko sign addsig --use-pades --with-validation-info
  --timestamp-url ... pemder` with the same key (unencrypted PEM) and chain;
* ``ratio``: qalam_cli / pyhanko_cli (target <= 1.5);
* ``in_process_seconds``: crypto/pades.sign_pdf alone (what the desktop app and API pay).
"""

from __future__ import annotations

import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign.validation.dss import DocumentSecurityStore

from signer_app.crypto import pades
from signer_app.crypto.keystores import SoftwareKey, open_pkcs12
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.pdf_signing import tsa_stamp

from .raw import Raw
from .served_ca import free_port, served_ca

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "certs"
ROOTS = CERTS / "trust" / "demo-roots.pem"
PAGES = 10
ROUNDS = 5
CERTIFIED_PORT = 8080
TARGET = 1.5


def _pdf(pages: int) -> bytes:
    writer = PdfFileWriter()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
                generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
            }
        )
    )
    resources = generic.DictionaryObject(
        {generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/F1"): font})}
    )
    for number in range(1, pages + 1):
        text = f"BT /F1 18 Tf 72 720 Td (Qalam bench document, page {number}) Tj ET".encode()
        page = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                generic.pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(v) for v in (0, 0, 595, 842)]
                ),
                generic.pdf_name("/Contents"): writer.add_object(
                    generic.StreamObject(stream_data=text)
                ),
                generic.pdf_name("/Resources"): resources,
            }
        )
        writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[2:4]} failed: {done.stderr[-800:]}")
    return seconds


def _require_dss(path: Path) -> None:
    """Both tools must really have made B-LT: a DSS with revocation data."""
    reader = PdfFileReader(io.BytesIO(path.read_bytes()))
    dss = DocumentSecurityStore.read_dss(reader)
    if not (dss.ocsps or dss.crls):
        raise RuntimeError(f"{path.name} has a DSS without revocation data")


def run(raw: Raw) -> dict[str, object]:
    """Serve the bundled CA, sign the same 10-page PDF at B-LT with qalam and with pyHanko."""
    del raw  # the reference here is pyHanko's CLI, measured in the same run
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == "citizen_sign")
    key_path, password = CERTS / row["path"], row["password"]
    entry = open_pkcs12(key_path, password).entry
    assert isinstance(entry.key, SoftwareKey)
    anchors = list(x509.load_pem_x509_certificates(ROOTS.read_bytes()))
    certified = _port_free(CERTIFIED_PORT)
    port = CERTIFIED_PORT if certified else free_port()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = folder / "doc.pdf"
        source.write_bytes(_pdf(PAGES))
        pem_key, pem_cert, pem_chain = folder / "key.pem", folder / "cert.pem", folder / "chain.pem"
        pem_key.write_bytes(
            entry.key.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        pem_cert.write_bytes(entry.certificate.public_bytes(serialization.Encoding.PEM))
        pem_chain.write_bytes(
            b"".join(c.public_bytes(serialization.Encoding.PEM) for c in entry.chain)
        )
        with served_ca(port) as base:
            rewrites = {} if certified else {f"http://127.0.0.1:{CERTIFIED_PORT}": base}
            env = dict(os.environ, QALAM_PASSWORD=password, QALAM_HOME=str(folder / "home"))
            url_map = [a for k, v in rewrites.items() for a in ("--url-map", f"{k}={v}")]
            revocation = pades.Revocation(HttpTransport(timeout=10), anchors, rewrites=rewrites)
            stamp = tsa_stamp(f"{base}/tsp")

            def in_process(index: int) -> float:
                start = time.perf_counter()
                pades.sign_pdf(
                    source,
                    entry,
                    folder / f"inproc-{index}.pdf",
                    level="b-lt",
                    stamp=stamp,
                    revocation=revocation,
                )
                return time.perf_counter() - start

            qalam = [sys.executable, "-m", "signer_app.cli", "sign", str(source), "-f", "pdf"]
            qalam += ["-k", str(key_path), "--level", "b-lt", "--tsa", f"{base}/tsp", *url_map]
            theirs = [sys.executable, "-m", "pyhanko", "sign", "addsig", "--field", "Sig1"]
            theirs += ["--use-pades", "--with-validation-info", "--timestamp-url", f"{base}/tsp"]
            theirs += ["--trust", str(ROOTS), "--trust-replace", "pemder", "--key", str(pem_key)]
            theirs += ["--cert", str(pem_cert), "--chain", str(pem_chain), "--no-pass"]
            in_process(-1)  # warm: imports, first TLS-free HTTP connections, caches
            print("  PAdES B-LT: qalam CLI vs pyhanko CLI ...", file=sys.stderr)
            ours_s, cli_s, pyhanko_s = [], [], []
            for index in range(ROUNDS):
                ours_s.append(in_process(index))
                out = folder / f"qalam-{index}.pdf"
                cli_s.append(_timed([*qalam, "-o", str(out)], env))
                _require_dss(out)
                if certified:
                    target = folder / f"pyhanko-{index}.pdf"
                    pyhanko_s.append(_timed([*theirs, str(source), str(target)], env))
                    _require_dss(target)
    qalam_cli = statistics.median(cli_s)
    pyhanko_cli = statistics.median(pyhanko_s) if pyhanko_s else None
    ratio = qalam_cli / pyhanko_cli if pyhanko_cli else None
    return {
        "pages": PAGES,
        "in_process_seconds": round(statistics.median(ours_s), 3),
        "qalam_cli_seconds": round(qalam_cli, 3),
        "pyhanko_cli_seconds": round(pyhanko_cli, 3) if pyhanko_cli else None,
        "ratio": round(ratio, 3) if ratio else None,
        "target": TARGET,
        "meets_target": ratio <= TARGET if ratio else None,
        "note": None if certified else f"port {CERTIFIED_PORT} busy: pyHanko CLI not measured",
    }
