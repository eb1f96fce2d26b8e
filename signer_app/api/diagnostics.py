"""The diagnostics page: ``GET https://127.0.0.1:13579/`` (HTML) and ``/diagnostics.json``.

What a person (or a help desk) needs when a portal says "cannot connect to NCALayer" (PROTOCOL.md
§14 item 1): the version, the data dir, the local root's SHA-256 fingerprint and whether it is in
``~/.pki/nssdb``, the storages, the TSA, the open sockets and limits. Opening the page at all
proves the browser reaches the port; opening it without a certificate warning proves it trusts
the root. Nothing secret is shown: no key, no password, no document, no origin list (only how
many sites are blocked). The page is served only after the loopback-peer and Host checks.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

from .. import __version__
from ..crypto.errors import QalamError
from ..service.prompter import FILE_STORAGES, TOKEN_STORAGES
from . import trust

if TYPE_CHECKING:
    from .server import ApiServer

PATHS = ("/", "/index.html", "/diagnostics", "/diagnostics.json")


def _tls(server: ApiServer, home: Path | None) -> dict[str, Any]:
    if server.tls is None:
        return {"enabled": False}
    info: dict[str, Any] = {"enabled": True, "root_pem": str(server.tls.root_pem)}
    try:
        root = trust.load_root(server.tls.root_pem)
    except QalamError:
        info["root"] = "unreadable"
        return info
    info["root_subject"] = root.subject.rfc4514_string()
    info["root_sha256"] = trust.fingerprint(root)
    info["root_not_after"] = root.not_valid_after_utc.isoformat()
    try:
        leaf = x509.load_pem_x509_certificates(server.tls.server_pem.read_bytes())[0]
        info["server_not_after"] = leaf.not_valid_after_utc.isoformat()
    except (OSError, ValueError, IndexError):
        info["server_not_after"] = "unreadable"
    db = trust.shared_db(home or Path.home())
    try:
        info["nssdb"] = {"path": str(db.folder), "state": trust.db_status(db, root).state}
    except QalamError as error:
        info["nssdb"] = {"path": str(db.folder), "state": f"unknown: {error.message('en')}"}
    return info


def collect(server: ApiServer, home: Path | None = None) -> dict[str, Any]:
    """The report (plain JSON types). Runs certutil: call it off the event loop."""
    service = server.dispatcher.service
    blocked = 0
    if service.origins is not None:
        blocked = sum(1 for d in service.origins.entries().values() if d == "deny")
    tsa_url = getattr(service.tsa, "url", None)
    return {
        "product": "Qalam",
        "version": __version__,
        "greeting_version": server.dispatcher.config.greeting_version,
        "data_dir": str(server.tls.folder.parent) if server.tls else None,
        "listening": {
            "host": server.config.host,
            "ports": sorted(server.ports),
            "tls_port": server.config.port if server.config.port else None,
        },
        "tls": _tls(server, home),
        "storages": {
            "files": list(FILE_STORAGES),
            "tokens_known": list(TOKEN_STORAGES),
            "tokens_connected": [],
            "note": "key files (.p12) are chosen in the dialog; PKCS#11 tokens: not yet",
        },
        "tsa_url": tsa_url,
        "sockets": {
            "open": server.active,
            "max": server.config.max_connections,
            "max_frame_bytes": server.config.max_frame,
        },
        "origins_blocked": blocked,
        "locale": service.locale,
    }


def to_json(report: Mapping[str, Any]) -> str:
    """The JSON body."""
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def _row(name: str, value: object) -> str:
    return f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"


ADVICE = {
    "trusted": "The root is trusted in ~/.pki/nssdb (Chromium, GNOME).",
    "absent": "The root is not in ~/.pki/nssdb: run `qalam trust install`.",
    "different": "~/.pki/nssdb holds an older Qalam root: run `qalam trust install`.",
    "untrusted": "The root is in ~/.pki/nssdb without trust: run `qalam trust install`.",
    "no database": "There is no ~/.pki/nssdb yet: `qalam trust install` creates it.",
}


def to_html(report: Mapping[str, Any]) -> str:
    """A small self-contained page (no script, no external resource)."""
    tls = report["tls"]
    nss = tls.get("nssdb", {})
    state = str(nss.get("state", "unknown"))
    sockets = report["sockets"]
    storages = report["storages"]
    rows = [
        _row("Version", f"Qalam {report['version']} (NCALayer {report['greeting_version']})"),
        _row("Data folder", report["data_dir"]),
        _row("Listening", f"{report['listening']['host']} ports {report['listening']['ports']}"),
        _row("Local root", tls.get("root_subject", "-")),
        _row("Root SHA-256", tls.get("root_sha256", "-")),
        _row("Root file", tls.get("root_pem", "-")),
        _row("Server certificate valid until", tls.get("server_not_after", "-")),
        _row("Trusted in ~/.pki/nssdb", state),
        _row("Storages", f"{', '.join(storages['files'])} ({storages['note']})"),
        _row("Timestamp service", report["tsa_url"] or "none"),
        _row("Open sockets", f"{sockets['open']} of {sockets['max']}"),
        _row("Largest frame", f"{sockets['max_frame_bytes'] >> 20} MiB"),
        _row("Blocked sites", report["origins_blocked"]),
    ]
    advice = html.escape(ADVICE.get(state, f"Trust state: {state}"))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Qalam diagnostics</title>"
        "<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em}"
        "</style></head><body>\n"
        "<h1>Qalam is running</h1>\n"
        "<p>If this page opened without a certificate warning, this browser trusts Qalam's local "
        "root and portals can reach the signer.</p>\n"
        f"<p>{advice}</p>\n<table>\n" + "\n".join(rows) + "\n</table>\n"
        '<p><a href="/diagnostics.json">diagnostics.json</a></p>\n</body></html>\n'
    )


__all__ = ["PATHS", "collect", "to_html", "to_json"]
