"""`qalam`: the command line front door (keys, sign, extend, verify, demo, serve).

Exit statuses: 0 done (for `verify`: the verdict is TOTAL_PASSED), 1 a signature is not valid
(`verify`: TOTAL_FAILED, or INDETERMINATE: it cannot be confirmed, e.g. revocation unknown or no
chain to a trusted root), 2 an error a person can fix (unreadable input, wrong password, missing
file, bad options), 130 interrupted. Errors print one plain
sentence; ``--debug`` adds the detail and the traceback.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, cli_reissue
from .cli_support import data_dir_of as _data_dir
from .cli_support import default_data_dir, lazy_module
from .cli_support import password_from as _password
from .crypto.errors import FileIOError, FileNotFound, InvalidInput, QalamError

# Only what parsing the command line needs is imported here: `qalam --version` and `--help`
# must not load cryptography, lxml, pyHanko or Qt. Each verb imports what it uses.
if TYPE_CHECKING:
    from .crypto import cms, xmldsig
    from .crypto.keystores import KeyEntry
    from .crypto.validation import ValidationReport
else:
    cms = lazy_module("signer_app.crypto.cms")
    xmldsig = lazy_module("signer_app.crypto.xmldsig")

# The bundled CA's TSA (service/tsa_client.DEFAULT_TSA_URL; repeated to keep imports lazy).
DEFAULT_TSA_URL = "http://127.0.0.1:8080/tsp"
EXIT_OK, EXIT_INVALID, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_CERTS = Path(__file__).resolve().parent.parent / "certs"


# ----------------------------------------------------------------------------- passwords


def _open_key(args: argparse.Namespace) -> KeyEntry:
    from .crypto.keystores import open_pkcs12

    secret = _password(args.password_file, "QALAM_PASSWORD", f"Password for {args.key}: ")
    return open_pkcs12(args.key, secret).entry


# ----------------------------------------------------------------------------- commands


def cmd_keys_show(args: argparse.Namespace) -> int:
    """Print who each key of a key file belongs to."""
    from .crypto.keystores import open_pkcs12
    from .render import entry_json, entry_lines

    secret = _password(args.password_file, "QALAM_PASSWORD", f"Password for {args.file}: ")
    store = open_pkcs12(args.file, secret)
    if args.json:
        print(json.dumps([entry_json(e) for e in store.entries()], ensure_ascii=False, indent=2))
    else:
        print(f"{store.label} ({store.storage}, {store.encryption} encryption)")
        for entry in store.entries():
            print("\n".join(entry_lines(entry)))
    return EXIT_OK


def cmd_keys_passwd(args: argparse.Namespace) -> int:
    """Change the password of a key file (atomic, with a backup until the new file opens)."""
    from .crypto.keystores import change_password

    old = _password(args.old_password_file, "QALAM_PASSWORD", "Current password: ")
    new = _password(args.new_password_file, "QALAM_NEW_PASSWORD", "New password: ", confirm=True)
    if not new:
        raise InvalidInput("empty new password", reason="the new password is empty")
    change_password(args.file, old, new)
    print(f"Password changed: {args.file}")
    return EXIT_OK


def _default_output(src: Path, fmt: str, detached: bool) -> Path:
    if fmt == "xml":
        return src.with_name(src.stem + ".signed.xml")
    return src.with_name(src.name + (".p7s" if detached else ".cms"))


def _write_output(target: str, data: bytes) -> None:
    """``data`` to standard output ("-") or to ``target`` atomically: an interrupted write
    (Ctrl-C, a full disk) leaves no half-written signature and any earlier file as it was."""
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from .crypto.atomicfile import atomic_write

    atomic_write(Path(target), data, mode=0o644)


def _check_not_input(source: str, target: str, option: str = "-o") -> None:
    """Refuse to write over the input (also as ./name, another path or a symlink to it)."""
    if "-" in (source, target):
        return
    if _same_file(Path(source), Path(target)):
        raise InvalidInput(target, reason=f"{option} must not be the input: it is kept as it was")


def _read_input(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFound(path, path=path) from None
    except OSError as exc:
        raise FileIOError(exc.strerror or "", path=path) from None


def _parse_hash(raw: bytes) -> bytes:
    """A digest given as raw bytes, hex or base64 (what a portal or a script has at hand)."""
    text = raw.strip()
    if len(text) in (64, 96, 128) and all(c in b"0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text.decode())
    if len(raw) in (32, 48, 64):
        return raw
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise InvalidInput("bad hash", reason="the hash is neither hex nor base64") from None


_LEVEL_ALIASES = {"lt": "b-lt", "lta": "b-lta"}


def cmd_sign(args: argparse.Namespace) -> int:
    """Sign a file: CMS attached (default), detached (streamed), over a hash, XML, or PDF."""
    # CAdES and PAdES share ETSI's baseline names; "lt" and "lta" are kept as short forms.
    args.level = _LEVEL_ALIASES.get(args.level, args.level)
    if args.format == "pdf":
        args.level = args.level or "b-b"
        return _sign_pdf(args)
    if args.visible:
        raise InvalidInput("pdf options", reason="--visible is for PDF signatures (-f pdf)")
    tsa = None
    if args.xades and args.format != "xml":
        raise InvalidInput("--xades", reason="--xades is for XML signatures (-f xml)")
    if args.level and args.format != "cms":
        reason = "--level is for CMS and PDF signatures (XML: --xades bes|t|lt|lta)"
        raise InvalidInput("--level", reason=reason)
    if args.level == "b-b":
        args.level = None
    elif args.level == "b-t" and not args.tsa:
        raise InvalidInput("--tsa", reason="B-T needs a timestamp (--tsa)")
    elif args.level == "b-t":
        args.level = None  # a signature timestamp is all B-T adds
    stamped_xades = args.xades in ("t", "lt", "lta")
    if args.tsa:
        if args.format != "cms" and not stamped_xades:
            reason = "timestamps (--tsa) are for CMS signatures and XAdES-T/LT/LTA (--xades t)"
            raise InvalidInput("--tsa with xml", reason=reason)
        from .service.tsa_client import HttpTsa

        tsa = HttpTsa(args.tsa)
    if (stamped_xades or args.level) and tsa is None:
        reason = "XAdES-T/LT/LTA and CAdES-LT/LTA need a timestamp (--tsa)"
        raise InvalidInput("--tsa", reason=reason)
    src = Path(args.input)
    output = args.output or str(_default_output(src, args.format, args.detached or args.hash))
    _check_not_input(args.input, output)
    entry = _open_key(args)
    if args.format == "xml" and args.xades in ("lt", "lta") and tsa is not None:
        from .crypto.revocation import parse_rewrites
        from .service.verification import sign_xml_long_term

        document = sign_xml_long_term(
            _read_input(args.input),
            entry,
            args.xades,
            data_dir=_data_dir(args),
            stamp=tsa.stamp,
            rewrites=parse_rewrites(args.url_map or ()),
        )
        _write_output(output, document.encode("utf-8"))
    elif args.format == "xml" and args.xades:
        from .crypto import xades

        stamp = tsa.stamp if tsa is not None else None
        document = xades.sign_xades(_read_input(args.input), entry, level=args.xades, stamp=stamp)
        _write_output(output, document.encode("utf-8"))
    elif args.format == "xml":
        signed = xmldsig.sign_xml(_read_input(args.input), entry).encode("utf-8")
        _write_output(output, signed)
    else:
        # A detached signature's data, for an archive timestamp (b-lta) to hash in.
        content: Path | bytes | None = None
        if args.hash:
            der = cms.sign_digest(_parse_hash(_read_input(args.input)), entry)
        elif args.detached and args.input != "-":
            try:
                with src.open("rb") as stream:
                    der = cms.sign_stream(stream, entry)
            except FileNotFoundError:
                raise FileNotFound(args.input, path=args.input) from None
            content = src
        else:
            data = _read_input(args.input)
            der = cms.sign(data, entry, detached=args.detached)
            content = data if args.detached else None
        if tsa is not None:
            der = cms.add_signature_timestamp(der, tsa.stamp)
        if args.level and tsa is not None:
            from .crypto.revocation import parse_rewrites
            from .service.verification import extend_to_long_term

            der = extend_to_long_term(
                der,
                "lt" if args.level == "b-lt" else "lta",
                data_dir=_data_dir(args),
                stamp=tsa.stamp,
                content=content,
                rewrites=parse_rewrites(args.url_map or ()),
            )
        _write_output(output, _pem("CMS", der) if args.pem else der)
    if output != "-":
        print(f"Signed: {output}", file=sys.stderr)
    return EXIT_OK


def _sign_pdf(args: argparse.Namespace) -> int:
    """PAdES at --level, into -o or doc.signed.pdf (service/pdf_signing.py does the work)."""
    from .crypto.pades import VisibleField
    from .crypto.revocation import parse_rewrites
    from .service.pdf_signing import sign_pdf_file

    if "-" in (args.input, args.output) or args.detached or args.hash or args.pem:
        reason = "a PDF is signed from a file into a file (no -, --detached, --hash, --pem)"
        raise InvalidInput("pdf options", reason=reason)
    visible = VisibleField.parse(args.visible) if args.visible else None
    out = sign_pdf_file(
        Path(args.input),
        _open_key(args),
        Path(args.output) if args.output else None,
        data_dir=_data_dir(args),
        level=args.level,
        visible=visible,
        tsa_url=args.tsa,
        rewrites=parse_rewrites(args.url_map or ()),
    )
    print(f"Signed: {out}", file=sys.stderr)
    return EXIT_OK


def cmd_extend(args: argparse.Namespace) -> int:
    """Raise a CMS to CAdES-LT or LTA, or renew an LTA with a further archive timestamp; the
    result goes atomically to -o, which may not be the input."""
    from .crypto.revocation import parse_rewrites
    from .service.tsa_client import HttpTsa
    from .service.verification import extend_to_long_term

    level = _LEVEL_ALIASES.get(args.level, args.level)
    target = Path(args.output)
    _check_not_input(args.signed, args.output)
    if args.data is not None:
        _check_not_input(args.data, args.output)
    if args.data is not None and not Path(args.data).is_file():
        raise FileNotFound(args.data, path=args.data)
    signed = cms.load(_read_input(args.signed))
    content = Path(args.data) if args.data else None
    inside = _attached_content(signed) if content is not None else None
    if content is not None and inside is not None:
        _check_attached_data(inside, content)
        content = None  # the same bytes are inside: the signature's own copy is used
    elif content is not None and level == "b-lt":  # B-LTA's archive timestamp checks it
        _check_detached_data(signed, content)
    tsa = HttpTsa(args.tsa)
    # An LT needs a signature timestamp (T) first; a signature that has one keeps it.
    signed = cms.add_signature_timestamp(signed, tsa.stamp)
    der = extend_to_long_term(
        signed,
        "lt" if level == "b-lt" else "lta",
        data_dir=_data_dir(args),
        stamp=tsa.stamp,
        content=content,
        rewrites=parse_rewrites(args.url_map or ()),
    )
    _write_output(args.output, _pem("CMS", der) if args.pem else der)
    print(f"Extended to {level.upper()}: {target}", file=sys.stderr)
    return EXIT_OK


def _attached_content(signed: bytes) -> bytes | None:
    """The document inside an attached CMS; None when it is detached (or unreadable: the
    extension itself then says what is wrong)."""
    try:
        return cms.verify(signed).content
    except QalamError:
        return None


def _check_attached_data(inside: bytes, data: Path) -> None:
    """--data given for an attached signature must be the document ``inside`` it: otherwise
    the person is about to extend a signature over other data than they think."""
    try:
        same = data.stat().st_size == len(inside) and _read_input(str(data)) == inside
    except OSError as exc:
        raise FileIOError(exc.strerror or "", path=str(data)) from None
    if not same:
        reason = (
            f"{data} is not the document inside this signature (it is attached): leave out"
            " --data, or extend the signature of that file"
        )
        raise InvalidInput(str(data), reason=reason)


def _check_detached_data(signed: bytes, data: Path) -> None:
    """--data for a detached signature must be what it covers: B-LT does not read it otherwise
    (B-LTA's archive timestamp hashes it and says so). Checked before any TSA is asked,
    streamed."""
    try:
        with data.open("rb") as stream:
            checked = cms.verify(signed, stream=stream)
    except OSError as exc:
        raise FileIOError(exc.strerror or "", path=str(data)) from None
    if any(cms.DIGEST_MISMATCH in signer.problems for signer in checked.signers):
        reason = f"{data} is not what the signature covers"
        raise InvalidInput(str(data), reason=reason)


def _same_file(one: Path, other: Path) -> bool:
    if one.resolve() == other.resolve():
        return True
    try:
        return one.exists() and other.exists() and one.samefile(other)
    except OSError:
        return False


def _pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""]).encode()


def cmd_verify(args: argparse.Namespace) -> int:
    """Validate every signature of a CMS or XML file: mathematics, chain, revocation, timestamps.

    Exit 0 only when the verdict is TOTAL_PASSED; 1 for TOTAL_FAILED or INDETERMINATE; 2 when
    the file cannot be read or the options are wrong.
    """
    from .crypto.revocation import parse_rewrites
    from .crypto.validation import ValidationPolicy
    from .render import report_json, report_lines
    from .service.trust_store import read_certificates
    from .service.verification import validate_file

    if args.report:
        for source in (args.signed, args.data):
            if source is not None:
                _check_not_input(source, args.report, "--report")
    anchors = [c for path in args.anchors or () for c in read_certificates(_read_input(path), path)]
    intermediates = [
        c for path in args.intermediates or () for c in read_certificates(_read_input(path), path)
    ]
    signed = _read_input(args.signed)
    report = validate_file(
        signed,
        Path(args.data) if args.data else None,
        data_dir=_data_dir(args),
        anchors=anchors,
        intermediates=intermediates,
        policy=ValidationPolicy(
            revocation="hard-fail" if args.hard_fail else "soft-fail",
            expired_without_poe="failed" if args.expired_fails else "indeterminate",
        ),
        offline=args.offline,
        timeout=args.timeout,
        rewrites=parse_rewrites(args.url_map or ()),
    )
    if args.json:
        print(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        print("\n".join(report_lines(report)))
    if args.report:
        _save_report(report, args, signed)
    return EXIT_OK if report.passed else EXIT_INVALID


def _save_report(report: ValidationReport, args: argparse.Namespace, signed: bytes) -> None:
    """Write the printable report (--report): PDF for a .pdf name, else HTML."""
    import hashlib

    from .service.report_html import ReportFile
    from .service.report_pdf import save_report

    data_sha256 = None
    if args.data:
        digest = hashlib.sha256()
        with Path(args.data).open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        data_sha256 = digest.hexdigest()
    name = Path(args.signed).name if args.signed != "-" else "stdin"
    file = ReportFile(name, hashlib.sha256(signed).hexdigest(), data_sha256)
    language = os.environ.get("LANG", "")[:2]
    target = save_report(
        report, file, Path(args.report), language if language in ("ru", "en") else "kk"
    )
    print(f"Report: {target}", file=sys.stderr)


def cmd_trust_anchors(args: argparse.Namespace) -> int:
    """List, add or remove the trust anchors signatures are validated against."""
    from .service.trust_store import TrustStore

    store = TrustStore(_data_dir(args))
    if args.anchors_cmd == "list":
        anchors = store.anchors()
        if args.json:
            rows = [
                {
                    "sha256": a.sha256,
                    "subject": a.subject,
                    "origin": a.origin,
                    "not_after": a.certificate.not_valid_after_utc.isoformat(),
                }
                for a in anchors
            ]
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return EXIT_OK
        if not anchors:
            print(
                "No trust anchors: no signature can be validated. Add one with "
                "`qalam trust-anchors add ROOT.pem`."
            )
        for anchor in anchors:
            origin = "demo (TEST ONLY)" if anchor.origin == "demo" else "added by you"
            until = f"{anchor.certificate.not_valid_after_utc:%Y-%m-%d}"
            print(f"{anchor.sha256[:16]}  {anchor.subject}  [{origin}; valid to {until}]")
        return EXIT_OK
    if args.anchors_cmd == "add":
        added = store.add(_read_input(args.file), args.file)
        if not added:
            print("Already trusted: nothing changed.")
        for anchor in added:
            print(f"Trusted now: {anchor.subject} (SHA-256 {anchor.sha256})")
        return EXIT_OK
    removed = store.remove(args.sha256)
    print(f"No longer trusted: {removed.subject} (SHA-256 {removed.sha256})")
    return EXIT_OK


SCRIPTED_BANNER = """\
WARNING: qalam serve --scripted answers every request from {script} WITHOUT asking anyone.
WARNING: it is for tests and CI only; never run it where a real key or a browser you use can
WARNING: reach it. It listens on the loopback interface only."""


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the NCALayer-compatible API without a window (TerminalPrompter or --scripted)."""
    import asyncio
    import logging

    from .api.dispatch import ApiConfig, Dispatcher
    from .api.server import ApiServer, ServerConfig, is_loopback
    from .api.tls import ensure_tls
    from .crypto.revocation import parse_rewrites
    from .service.key_status import RevocationChecker, TrustedCas
    from .service.origins import OriginPolicy
    from .service.prompter import Prompter, ScriptedPrompter, TerminalPrompter
    from .service.settings import SettingsStore
    from .service.signing import SigningService
    from .service.tokens import environment_registry
    from .service.trust_store import TrustStore
    from .service.tsa_client import HttpTsa

    if not is_loopback(args.host):
        reason = f"{args.host} is not a loopback address: the API listens on this machine only"
        raise InvalidInput(args.host, reason=reason)
    rewrites = parse_rewrites(args.url_map or ())
    prompter: Prompter
    if args.scripted:
        prompter = ScriptedPrompter.from_file(args.scripted)
        print(SCRIPTED_BANNER.format(script=args.scripted), file=sys.stderr)
    elif sys.stdin.isatty():
        prompter = TerminalPrompter()
    else:
        reason = "no terminal to ask on: run it in a terminal, or use --scripted FILE for tests"
        raise InvalidInput("no tty", reason=reason)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    store = SettingsStore(data_dir)
    settings = store.load()
    tsa_url = settings.tsa_url if args.tsa_url is None else args.tsa_url
    tsa = HttpTsa(tsa_url) if tsa_url else None
    files = ensure_tls(data_dir)
    max_frame_mib = settings.max_frame_mib if args.max_frame_mib is None else args.max_frame_mib
    config = ServerConfig(
        port=args.port,
        host=args.host,
        plain_ws_port=args.plain_ws_port,
        max_frame=int(max_frame_mib * (1 << 20)),
        max_connections=args.max_connections or settings.max_connections,
    )
    tokens = environment_registry(settings.pkcs11_modules)
    trusted = TrustedCas(TrustStore(data_dir))
    service = SigningService(
        prompter,
        tsa=tsa,
        origins=OriginPolicy(store),
        tokens=tokens,
        trusted=trusted,
        revocation=RevocationChecker(trusted, rewrites=rewrites),
    )
    service.locale = settings.locale
    dispatcher = Dispatcher(service, config=ApiConfig())
    server = ApiServer(dispatcher, config, files)

    async def run() -> None:
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        await server.start()
        print(f"Qalam API listening on wss://{args.host}:{server.bound_port(0)}/", flush=True)
        if args.plain_ws_port is not None:
            print(f"Plain WebSocket (tests only): ws://{args.host}:{server.bound_port(1)}/")
        print(f"Root certificate to trust: {files.root_pem}", flush=True)
        print(
            f"Timestamps from: {tsa.url if tsa else 'none (timestamped requests refused)'}",
            file=sys.stderr,
        )
        try:
            await stop.wait()
        finally:
            await server.stop()

    asyncio.run(run())
    return EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    """Start the desktop app (also what `qalam` with no command does)."""
    from .ui.app import AppOptions, run_app

    data_dir = getattr(args, "data_dir", None)
    options = AppOptions(
        data_dir=Path(data_dir) if data_dir else default_data_dir(),
        keys=tuple(Path(k).resolve() for k in getattr(args, "key", None) or ()),
        port=getattr(args, "port", 13579),
        tsa_url=getattr(args, "tsa_url", None),
        hidden=getattr(args, "hidden", False),
        operator=getattr(args, "operator", False),
        files=tuple(Path(f).resolve() for f in getattr(args, "files", None) or ()),
    )
    return run_app(options)


def cmd_origins(args: argparse.Namespace) -> int:
    """List, block, allow (lift a block) or forget per-origin decisions."""
    from .service.origins import OriginPolicy
    from .service.settings import SettingsStore

    policy = OriginPolicy(SettingsStore(_data_dir(args)))
    if args.origins_cmd == "list":
        entries = policy.entries()
        if not entries:
            print("No sites listed: every site's requests are asked about (the default).")
        for origin, decision in entries.items():
            shown = "blocked" if decision == "deny" else "ask each time"
            print(f"{origin}\t{shown}")
        return EXIT_OK
    if args.origins_cmd == "block":
        key = policy.block(args.origin)
        print(f"Blocked: requests from {key} are refused without asking.")
    elif args.origins_cmd == "allow":
        key = policy.allow(args.origin)
        print(f"{key} may ask again; every signature still needs your confirmation.")
    else:
        key = policy.forget(args.origin)
        print(f"Forgotten: {key} (the default applies: ask each time).")
    return EXIT_OK


def cmd_trust(args: argparse.Namespace) -> int:
    """Install, check or remove the local root in the user's NSS databases."""
    from .api import trust
    from .api.tls import ensure_tls

    if args.trust_cmd == "remove":
        for line in trust.remove():
            print(line)
        return EXIT_OK
    files = ensure_tls(_data_dir(args))
    root = trust.load_root(files.root_pem)
    print(f"Local root: {files.root_pem}")
    print(f"SHA-256: {trust.fingerprint(root)}")
    if args.trust_cmd == "install":
        for line in trust.install(files.root_pem):
            print(line)
        print("Restart the browser if it was open.")
        return EXIT_OK
    states = trust.status(files.root_pem)
    for state in states:
        print(f"{state.state}: {state.db.label}: {state.db.folder}")
    trusted = [s for s in states if s.state == "trusted"]
    return EXIT_OK if trusted and len(trusted) == len(states) else EXIT_INVALID


def cmd_demo(args: argparse.Namespace) -> int:
    """List the demo PKI's keys and who they belong to (TEST ONLY keys with known passwords)."""
    from .crypto.keystores import open_pkcs12
    from .render import entry_lines

    index = Path(args.certs) / "demo" / "index.json"
    try:
        rows = json.loads(index.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFound(str(index), path=str(index)) from None
    print("Qalam demo PKI (TEST ONLY: these keys and passwords are public)\n")
    for row in rows:
        entry = open_pkcs12(Path(args.certs) / row["path"], row["password"]).entry
        print(f"[{row['id']}] {row['path']}  password: {row['password']}  status: {row['status']}")
        print("\n".join(entry_lines(entry)[1:]))
        print()
    print("Try:  qalam sign README.md -k certs/<path> --password-file <file>   (or QALAM_PASSWORD)")
    return EXIT_OK


# ----------------------------------------------------------------------------- tokens


def _token_registry(args: argparse.Namespace) -> Any:
    """The driver registry with the settings' module paths and a --module for the generic one."""
    from .service.settings import SettingsStore
    from .service.tokens import TokenRegistry

    modules = dict(SettingsStore(_data_dir(args)).load().pkcs11_modules)
    if getattr(args, "module", None):
        modules["PKCS11"] = args.module
    return TokenRegistry(modules)


def _token_storage(args: argparse.Namespace, registry: Any) -> str:
    """The storage named (--module means the generic one), else the only one with a token."""
    if args.module:
        return "PKCS11"
    if args.storage:
        return str(args.storage)
    active = registry.active_storages()
    if len(active) != 1:
        found = ", ".join(active) if active else "none"
        reason = f"name a storage with --storage or a driver with --module (tokens found: {found})"
        raise InvalidInput("which token", reason=reason)
    return str(active[0])


def cmd_tokens_list(args: argparse.Namespace) -> int:
    """Every token storage: its driver (or what to install) and the tokens present."""
    registry = _token_registry(args)
    report = []
    for status in registry.statuses():
        tokens: list[Any] = []
        problem = None
        if status.present:
            try:
                tokens = registry.tokens(status.storage)
            except QalamError as error:
                problem = error.message(args.lang)
        report.append((status, tokens, problem))
    if args.json:
        rows = [
            {
                "storage": st.storage,
                "title": st.title,
                "driver": st.path,
                "source": st.source,
                "problem": problem,
                "tokens": [
                    {
                        "label": t.label,
                        "serial": t.serial,
                        "model": t.model,
                        "manufacturer": t.manufacturer,
                        "pin": t.pin_state.value,
                    }
                    for t in tokens
                ],
            }
            for st, tokens, problem in report
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for status, tokens, problem in report:
        print(f"{status.storage}: {status.guidance}")
        if problem:
            print(f"  {problem}")
        for token in tokens:
            print(f"  token {token.summary}")
    return EXIT_OK


def cmd_tokens_keys(args: argparse.Namespace) -> int:
    """Log in to a token and print its keys with their owners."""
    from .render import entry_json, entry_lines

    registry = _token_registry(args)
    storage = _token_storage(args, registry)
    pin = _password(args.pin_file, "QALAM_PIN", f"PIN for {storage}: ")
    with registry.open(storage, pin, args.token) as store:
        entries = store.entries()
        if args.json:
            print(json.dumps([entry_json(e) for e in entries], ensure_ascii=False, indent=2))
            return EXIT_OK
        print(f"{store.label} ({storage}, serial {store.info.serial})")
        for entry in entries:
            print("\n".join(entry_lines(entry)))
        for skipped in store.skipped:
            print(f"  left out: {skipped}")
    return EXIT_OK


def cmd_tokens_passwd(args: argparse.Namespace) -> int:
    """Change a token's user PIN."""
    registry = _token_registry(args)
    storage = _token_storage(args, registry)
    old = _password(args.old_pin_file, "QALAM_PIN", "Current PIN: ")
    new = _password(args.new_pin_file, "QALAM_NEW_PIN", "New PIN: ", confirm=True)
    from .service.tokens import change_pin

    change_pin(registry, storage, old, new, args.token)
    print(f"PIN changed on the token in {storage}.")
    return EXIT_OK


def _token_ca(args: argparse.Namespace) -> Any:
    """The certification centre: --ca-url, else the settings' one."""
    from .service.ca_client import CaClient
    from .service.settings import SettingsStore

    url = args.ca_url or SettingsStore(_data_dir(args)).load().ca_url
    if not url:
        raise InvalidInput("no CA", reason="no certification centre is set: use --ca-url")
    return CaClient(url)


def _token_step(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _token_report(store: Any, done: Any, remove_old: bool = False) -> None:
    from .crypto.identity import identity_of
    from .service import token_reissue

    who = identity_of(done.auth)
    where = f"{store.label} ({done.storage}, serial {done.serial})"
    print(f"New keys on {where} for {who.common_name} (IIN {who.iin}):")
    for name, key_id, cert in (
        ("AUTH", done.auth_id, done.auth),
        ("SIGN", done.sign_id, done.sign),
    ):
        print(f"  {name}  key id {key_id.hex()}  valid until {cert.not_valid_after_utc:%Y-%m-%d}")
    if remove_old:
        for entry in token_reissue.remove_replaced(store, done):
            serial = entry.certificate.serial_number
            print(f"Removed the replaced key {entry.alias} (certificate serial {serial:x}).")
    elif replaced := token_reissue.replaced_pairs(store, done):
        print(
            f"{len(replaced)} replaced key pair(s) are still on the token; the CA revoked their"
            " certificates. Run with --remove-old next time to take them off."
        )


def _open_for_writing(args: argparse.Namespace, storage: str | None, token: str | None) -> Any:
    registry = _token_registry(args)
    chosen = storage if storage and not args.module else _token_storage(args, registry)
    pin = _password(args.pin_file, "QALAM_PIN", f"PIN for {chosen}: ")
    return registry.open(chosen, pin, token, rw=True)


def cmd_tokens_enroll(args: argparse.Namespace) -> int:
    """New keys on a token for a PSC code; or finish / give up one left pending."""
    from .service import token_reissue

    data_dir = _data_dir(args)
    if args.resume is not None or args.discard:
        waiting = token_reissue.pending_files(data_dir)
        named = args.discard or args.resume
        path = Path(named) if named else (waiting[0] if waiting else None)
        if path is None:
            print("Nothing to resume: no enrolment on a token is pending.")
            return EXIT_OK
        pending = token_reissue.TokenPending.read(path)
        with _open_for_writing(args, args.storage or pending.storage, pending.serial) as store:
            if args.discard:
                token_reissue.discard(path, store)
                print(f"Discarded {path}: its new keys were taken off {pending.where}.")
                return EXIT_OK
            done = token_reissue.resume(
                _token_ca(args), path, store, code=args.code, step=_token_step
            )
            _token_report(store, done, args.remove_old)
        return EXIT_OK
    if not args.iin or not args.code:
        raise InvalidInput("arguments", reason="give --iin and --code (or --resume)")
    client = _token_ca(args)
    with _open_for_writing(args, args.storage, args.token) as store:
        done = token_reissue.with_code(
            client, data_dir, store, args.iin, args.code, kind=args.key_kind, step=_token_step
        )
        _token_report(store, done, args.remove_old)
    return EXIT_OK


def cmd_tokens_renew(args: argparse.Namespace) -> int:
    """New keys on a token for a request signed with the token's still-valid AUTH key."""
    from .crypto.identity import identity_of
    from .service import token_reissue

    client = _token_ca(args)
    with _open_for_writing(args, args.storage, args.token) as store:
        current = token_reissue.current_auth_key(store)
        iin = identity_of(current.certificate).iin
        if not iin:
            raise InvalidInput("no IIN", reason="the AUTH certificate on the token names no IIN")
        done = token_reissue.renew(
            client, _data_dir(args), store, current, iin, kind=args.key_kind, step=_token_step
        )
        _token_report(store, done, args.remove_old)
    return EXIT_OK


def _add_tokens_parser(sub: Any, data_help: str) -> None:
    tokens = sub.add_parser("tokens", help="hardware keys: PKCS#11 tokens and ID cards")
    tokens_sub = tokens.add_subparsers(dest="tokens_cmd", required=True)
    for name, text, func in (
        ("list", "drivers and the tokens connected", cmd_tokens_list),
        ("keys", "log in to a token and show its keys", cmd_tokens_keys),
        ("passwd", "change a token's PIN", cmd_tokens_passwd),
        ("enroll", "new keys on a token for a PSC code (or --resume)", cmd_tokens_enroll),
        ("renew", "new keys on a token, signed with its AUTH key", cmd_tokens_renew),
    ):
        one = tokens_sub.add_parser(name, help=text)
        one.add_argument("--module", help="PKCS#11 module to use (the generic PKCS11 storage)")
        one.add_argument("--data-dir", help=data_help)
        if name == "list":
            one.add_argument("--json", action="store_true")
        else:
            one.add_argument("--storage", help="e.g. AKKaztokenStore (else the only one found)")
            one.add_argument("--token", help="serial or label, when several are connected")
        if name in ("keys", "enroll", "renew"):
            one.add_argument("--pin-file", help="file holding the PIN (else QALAM_PIN or a prompt)")
        if name == "keys":
            one.add_argument("--json", action="store_true")
        if name in ("enroll", "renew"):
            one.add_argument("--ca-url", help="the certification centre (else the settings')")
            one.add_argument("--key-kind", choices=("rsa", "ec"), default="rsa")
            one.add_argument(
                "--remove-old", action="store_true",
                help="take the replaced key pairs (their certificates revoked) off the token",
            )  # fmt: skip
        if name == "enroll":
            one.add_argument("--iin", help="your IIN")
            one.add_argument("--code", help="the one-time code from the PSC operator")
            one.add_argument(
                "--resume", nargs="?", const="", metavar="PENDING",
                help="finish an enrolment whose answer was lost (the oldest when no file)",
            )  # fmt: skip
            one.add_argument("--discard", metavar="PENDING", help="give up a pending enrolment")
        if name == "passwd":
            one.add_argument("--old-pin-file", help="else QALAM_PIN or a prompt")
            one.add_argument("--new-pin-file", help="else QALAM_NEW_PIN or a prompt")
        one.set_defaults(func=func)


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `qalam`."""
    parser = argparse.ArgumentParser(prog="qalam", description="Qalam e-signature client.")
    parser.add_argument("--version", action="version", version=f"qalam {__version__}")
    parser.add_argument("--debug", action="store_true", help="show details and tracebacks")
    parser.add_argument(
        "--lang", choices=["en", "ru", "kk"], default="en", help="language of error messages"
    )
    parser.add_argument(
        "--operator", action="store_true", help="start the desktop app in PSC operator mode"
    )
    # No command starts the desktop app (cmd_app), as a double-click on Qalam does.
    sub = parser.add_subparsers(dest="command")
    parser.set_defaults(func=cmd_app)

    keys = sub.add_parser("keys", help="key files").add_subparsers(dest="keys_cmd", required=True)
    show = keys.add_parser("show", help="who a key file belongs to")
    show.add_argument("file")
    show.add_argument("--password-file", help="file holding the password (else QALAM_PASSWORD)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_keys_show)
    passwd = keys.add_parser("passwd", help="change the password of a key file")
    passwd.add_argument("file")
    passwd.add_argument("--old-password-file", help="else QALAM_PASSWORD or a prompt")
    passwd.add_argument("--new-password-file", help="else QALAM_NEW_PASSWORD or a prompt")
    passwd.set_defaults(func=cmd_keys_passwd)

    sign = sub.add_parser("sign", help="sign a file")
    sign.add_argument("input", help="file to sign ('-' for standard input)")
    sign.add_argument("-k", "--key", required=True, help="PKCS#12 key file")
    sign.add_argument("--password-file", help="file holding the password (else QALAM_PASSWORD)")
    sign.add_argument("-f", "--format", choices=["cms", "xml", "pdf"], default="cms")
    sign.add_argument(
        "--level",
        choices=["b-b", "b-t", "b-lt", "b-lta", "lt", "lta"],
        help="ETSI baseline level: PAdES for -f pdf (default b-b); for CMS with --tsa, b-lt embeds"
        " chains and revocation data and b-lta adds an archive stamp (lt, lta: the same)",
    )
    sign.add_argument("--visible", metavar="PAGE,X1,Y1,X2,Y2", help="visible signature box (pdf)")
    sign.add_argument(
        "--url-map",
        action="append",
        metavar="FROM=TO",
        help="--level, --xades lt|lta: fetch URLs starting with FROM from TO instead (a CA served"
        " elsewhere)",
    )
    sign.add_argument("--data-dir", help="settings and trust store (else $QALAM_HOME)")
    sign.add_argument("--detached", action="store_true", help="signature apart from the data")
    sign.add_argument("--hash", action="store_true", help="INPUT holds a SHA-256 digest")
    sign.add_argument("-o", "--output", help="where to write ('-' for standard output)")
    sign.add_argument("--pem", action="store_true", help="PEM instead of DER")
    sign.add_argument(
        "--tsa", metavar="URL", help="add a signature timestamp (CAdES-T) from this RFC 3161 TSA"
    )
    sign.add_argument(
        "--xades",
        choices=["bes", "t", "lt", "lta"],
        help="XML: XAdES-BES, or with --tsa XAdES-T, -LT (chains and revocation data embedded)"
        " or -LTA (LT plus an archive timestamp)",
    )
    sign.set_defaults(func=cmd_sign)

    extend = sub.add_parser(
        "extend",
        help="add long-term evidence to a CMS: b-lt, or b-lta (again on an LTA: renewal)",
    )
    extend.add_argument("signed", help="the CMS signature ('-' for standard input)")
    extend.add_argument("-o", "--output", required=True, help="where to write (not the input)")
    extend.add_argument("--data", help="the original file, for a detached signature (b-lta)")
    extend.add_argument(
        "--level", choices=["b-lt", "b-lta", "lt", "lta"], default="b-lta", help="(b-lta)"
    )
    extend.add_argument(
        "--tsa", metavar="URL", default=DEFAULT_TSA_URL, help=f"RFC 3161 TSA ({DEFAULT_TSA_URL})"
    )
    extend.add_argument(
        "--url-map",
        action="append",
        metavar="FROM=TO",
        help="fetch URLs starting with FROM from TO instead (a CA served elsewhere)",
    )
    extend.add_argument("--data-dir", help="where the trust store lives (else $QALAM_HOME)")
    extend.add_argument("--pem", action="store_true", help="PEM instead of DER")
    extend.set_defaults(func=cmd_extend)

    verify = sub.add_parser(
        "verify",
        help="validate the signatures of a CMS or XML file (exit 0 valid, 1 not, 2 error)",
    )
    verify.add_argument("signed")
    verify.add_argument("--data", help="the original file, for a detached signature")
    verify.add_argument("--json", action="store_true")
    verify.add_argument(
        "--offline", action="store_true", help="fetch nothing: revocation is then unknown"
    )
    verify.add_argument(
        "--hard-fail",
        action="store_true",
        help="unknown revocation fails the signature (default: cannot be confirmed)",
    )
    verify.add_argument(
        "--expired-fails",
        action="store_true",
        help="an expired certificate without a timestamp fails (default: cannot be confirmed)",
    )
    verify.add_argument(
        "--anchors", action="append", metavar="PEM", help="also trust these roots (this run)"
    )
    verify.add_argument(
        "--intermediates", action="append", metavar="PEM", help="CA certificates to build with"
    )
    verify.add_argument(
        "--url-map",
        action="append",
        metavar="FROM=TO",
        help="fetch URLs starting with FROM from TO instead (a CA served elsewhere)",
    )
    verify.add_argument("--timeout", type=float, default=5.0, help="per request, seconds (5)")
    verify.add_argument("--data-dir", help="where the trust store lives (else $QALAM_HOME)")
    verify.add_argument(
        "--report",
        metavar="OUT.html|OUT.pdf",
        help="also save a printable report (language from $LANG: kk, ru or en)",
    )
    verify.set_defaults(func=cmd_verify)

    anchors_parser = sub.add_parser(
        "trust-anchors", help="the roots signatures are validated against"
    )
    anchors_sub = anchors_parser.add_subparsers(dest="anchors_cmd", required=True)
    listing = anchors_sub.add_parser("list", help="show the trusted roots")
    listing.add_argument("--json", action="store_true")
    adding = anchors_sub.add_parser("add", help="trust the CA certificates of a PEM or DER file")
    adding.add_argument("file")
    removing = anchors_sub.add_parser("remove", help="stop trusting a root")
    removing.add_argument("sha256", help="its SHA-256 fingerprint, or its first 8+ hex digits")
    for one in (listing, adding, removing):
        one.add_argument(
            "--data-dir", help="the data dir (else $QALAM_HOME or ~/.local/share/qalam)"
        )
        one.set_defaults(func=cmd_trust_anchors)

    serve = sub.add_parser("serve", help="run the NCALayer-compatible API without a window")
    serve.add_argument("--port", type=int, default=13579, help="TLS WebSocket port (13579)")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    serve.add_argument(
        "--data-dir", help="where tls/ lives (else $QALAM_HOME or ~/.local/share/qalam)"
    )
    serve.add_argument(
        "--scripted", metavar="FILE", help="TEST ONLY: answer prompts from a JSON script"
    )
    serve.add_argument("--plain-ws-port", type=int, help="also serve plain ws:// here (tests)")
    serve.add_argument("--max-frame-mib", type=float, help="largest frame (settings, else 64 MiB)")
    serve.add_argument(
        "--max-connections", type=int, help="open sockets at most (settings, else 64)"
    )
    serve.add_argument(
        "--tsa-url",
        metavar="URL",
        help=f"RFC 3161 TSA for tsaProfile and CAdES-T (settings, else {DEFAULT_TSA_URL}; "
        "'' for none)",
    )
    serve.add_argument(
        "--url-map",
        action="append",
        metavar="FROM=TO",
        help="revocation checks of keys: fetch URLs starting with FROM from TO instead (a CA"
        " served elsewhere)",
    )
    serve.set_defaults(func=cmd_serve)

    data_help = "the data dir (else $QALAM_HOME or ~/.local/share/qalam)"
    app = sub.add_parser("app", help="the desktop app with the local API (the default)")
    app.add_argument("--data-dir", help=data_help)
    app.add_argument(
        "--key", action="append", metavar="FILE", help="a key file offered first (repeatable)"
    )
    app.add_argument("--port", type=int, default=13579, help="TLS WebSocket port (13579)")
    app.add_argument("--tsa-url", metavar="URL", help="RFC 3161 TSA (settings, else the CA's)")
    app.add_argument("--hidden", action="store_true", help="start in the tray (start on login)")
    app.add_argument("--operator", action="store_true", help="open PSC operator mode")
    app.add_argument(
        "files", nargs="*", metavar="FILE", help="open: signed files on Verify, others on Sign"
    )
    app.set_defaults(func=cmd_app)
    origins = sub.add_parser("origins", help="per-site decisions: ask (default) or blocked")
    origins_sub = origins.add_subparsers(dest="origins_cmd", required=True)
    for name, text in (
        ("list", "show the listed sites"),
        ("block", "refuse a site's requests without asking"),
        ("allow", "lift a block (each signature is still asked about)"),
        ("forget", "remove a site from the list"),
    ):
        one = origins_sub.add_parser(name, help=text)
        if name != "list":
            one.add_argument("origin", help="e.g. https://portal.example.kz")
        one.add_argument("--data-dir", help=data_help)
        one.set_defaults(func=cmd_origins)

    trust_parser = sub.add_parser("trust", help="the local TLS root in NSS databases (Linux)")
    trust_sub = trust_parser.add_subparsers(dest="trust_cmd", required=True)
    for name, text in (
        ("install", "add the root to ~/.pki/nssdb and every Firefox profile"),
        ("status", "say where the root is trusted (exit 1 if not everywhere)"),
        ("remove", "delete the root from those databases"),
    ):
        one = trust_sub.add_parser(name, help=text)
        one.add_argument("--data-dir", help=data_help)
        one.set_defaults(func=cmd_trust)

    cli_reissue.add_parsers(sub, data_help)
    _add_tokens_parser(sub, data_help)

    demo = sub.add_parser("demo", help="show the demo PKI's keys")
    demo.add_argument("--certs", default=str(DEFAULT_CERTS), help="the demo PKI folder")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `qalam` and return its exit status."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except QalamError as error:
        print(f"qalam: {error.message(args.lang)}", file=sys.stderr)
        if args.debug:
            print(f"  code: {error.code}; detail: {error.detail}", file=sys.stderr)
            traceback.print_exc()
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("qalam: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`qalam demo | head`): nothing left to say to it.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
