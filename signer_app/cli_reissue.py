"""`qalam reissue`, `qalam renew` and `qalam operator`: the re-issue flows on the command line.

Citizen: ``reissue --iin IIN --code CODE --out DIR [--kind gost]`` (a PSC code),
``renew --key AUTH.p12 --out DIR`` (self-service with the still-valid AUTH key, keeping its
kind), ``reissue --resume`` (finish one whose answer was lost). Operator: ``operator login
--key OPERATOR_AUTH.p12`` signs the CA's challenge with the GOV CA key (no password goes to the
CA), then ``find``, ``revoke``, ``code``, ``logout``. Passwords come from a file, the
environment or the terminal, never from argv.

The operator's session token is kept in ``<data dir>/operator-session.json`` (0600) until
``logout`` or its expiry (the CA's sessions are short): a bearer token, not a password.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_support import data_dir_of, lazy_module, password_from
from .crypto.errors import InvalidInput

# `qalam --help` builds these parsers: the flows' modules load when a verb runs.
if TYPE_CHECKING:
    from .service import reissue
    from .service.ca_client import CaClient
else:
    reissue = lazy_module("signer_app.service.reissue")

SESSION_FILE = "operator-session.json"
# service/reissue.KINDS, repeated so that building the parser imports nothing (a test keeps
# the two equal).
KINDS = ("rsa", "ec", "gost")
REASONS = ("keyCompromise", "cessationOfOperation", "superseded", "affiliationChanged")


def _client(args: argparse.Namespace, token: str | None = None) -> CaClient:
    from .service.ca_client import CaClient
    from .service.settings import SettingsStore

    url = args.ca_url or SettingsStore(data_dir_of(args)).load().ca_url
    if not url:
        raise InvalidInput("no CA", reason="no certification centre is set: use --ca-url")
    return CaClient(url, token=token)


def _new_password(args: argparse.Namespace) -> str:
    new = password_from(
        args.new_password_file, "QALAM_NEW_PASSWORD", "New key password: ", confirm=True
    )
    if not new:
        raise InvalidInput("empty new password", reason="the new password is empty")
    return new


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _report(done: reissue.Reissued) -> None:
    from .crypto.identity import identity_of

    who = identity_of(done.auth)
    print(f"New keys for {who.common_name} (IIN {who.iin}):")
    print(f"  AUTH  {done.auth_path}  valid until {done.auth.not_valid_after_utc:%Y-%m-%d}")
    print(f"  SIGN  {done.sign_path}  valid until {done.sign.not_valid_after_utc:%Y-%m-%d}")
    print("Keep a backup copy of both files somewhere else (a USB stick, not this disk).")


def cmd_reissue(args: argparse.Namespace) -> int:
    """New keys for a PSC one-time code; or finish / discard a re-issue left pending."""
    data_dir = data_dir_of(args)
    if args.discard:
        reissue.discard(Path(args.discard))
        print(f"Discarded {args.discard}")
        return 0
    if args.resume is not None:
        pending = reissue.pending_files(data_dir)
        chosen = Path(args.resume) if args.resume else (pending[0] if pending else None)
        if chosen is None:
            print("Nothing to resume: no re-issue is pending.")
            return 0
        secret = password_from(
            args.new_password_file, "QALAM_NEW_PASSWORD", "The new key password you chose: "
        )
        done = reissue.resume(_client(args), chosen, secret, code=args.code, step=_say)
        _report(done)
        return 0
    if not args.iin or not args.code or not args.out:
        raise InvalidInput("arguments", reason="give --iin, --code and --out (or --resume)")
    password = _new_password(args)
    done = reissue.with_code(
        _client(args),
        data_dir,
        args.iin,
        args.code,
        password,
        Path(args.out),
        kind=args.key_kind or "rsa",
        encryption="legacy" if args.legacy else "aes",
        step=_say,
    )
    _report(done)
    return 0


def cmd_renew(args: argparse.Namespace) -> int:
    """New keys for a request signed with the current AUTH key."""
    secret = password_from(
        args.password_file, "QALAM_PASSWORD", f"Current password of {args.key}: "
    )
    from .crypto.identity import identity_of
    from .crypto.keystores import open_pkcs12

    current = open_pkcs12(args.key, secret).entry
    who = identity_of(current.certificate)
    if not who.iin:
        raise InvalidInput(args.key, reason="this key's certificate names no IIN")
    password = _new_password(args)
    done = reissue.renew(
        _client(args),
        data_dir_of(args),
        current,
        who.iin,
        password,
        Path(args.out),
        kind=args.key_kind,
        encryption="legacy" if args.legacy else "aes",
        step=_say,
    )
    _report(done)
    return 0


# -- operator ---------------------------------------------------------------------------------


def _session_path(args: argparse.Namespace) -> Path:
    return Path(data_dir_of(args)) / SESSION_FILE


def _session(args: argparse.Namespace) -> CaClient:
    from .service.ca_client import CaClient

    path = _session_path(args)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        token, url = str(saved["token"]), str(saved["ca_url"])
    except (OSError, ValueError, KeyError, TypeError):
        raise InvalidInput("no session", reason="sign in first: qalam operator login") from None
    return CaClient(args.ca_url or url, token=token)


def cmd_operator(args: argparse.Namespace) -> int:
    """The PSC operator's actions against the CA, in a signed-in session."""
    from .crypto.atomicfile import atomic_write
    from .crypto.keystores import open_pkcs12

    action = args.operator_cmd
    if action == "login":
        secret = password_from(args.password_file, "QALAM_PASSWORD", f"Password of {args.key}: ")
        entry = open_pkcs12(args.key, secret).entry
        client = _client(args)
        opened = client.sign_in(entry)
        path = _session_path(args)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        record = {
            "ca_url": client.base_url,
            "token": opened["token"],
            "expires_at": opened["expires_at"],
        }
        atomic_write(path, json.dumps(record).encode("utf-8"), mode=0o600)
        who = opened["operator"]
        print(f"Signed in as {who['role']} IIN {who['iin']} until {opened['expires_at']}")
        return 0
    client = _session(args)
    if action == "logout":
        try:
            client.close_session()
        finally:
            _session_path(args).unlink(missing_ok=True)
        print("Signed out.")
        return 0
    if action == "whoami":
        print(json.dumps(client.me(), ensure_ascii=False, indent=2))
        return 0
    if action == "find":
        person = client.person(args.iin)
        certificates = client.person_certificates(args.iin)
        if args.json:
            print(json.dumps({"person": person, "certificates": certificates}, ensure_ascii=False))
            return 0
        names = " ".join(filter(None, (person.get(k) for k in ("surname", "given_name"))))
        print(f"{names} (IIN {person['iin']}), born {person.get('birth_date')}")
        print(f"ID document on file: {'yes' if person.get('has_id_document') else 'no'}")
        for cert in certificates:
            state = cert["status"] + (" (expired)" if cert.get("expired") else "")
            if cert.get("reason"):
                state += f", {cert['reason']}"
            print(
                f"  {cert['serial']}  {cert['purpose']:<5} {cert['role']:<14} "
                f"until {cert['not_after'][:10]}  {state}"
            )
        return 0
    if action == "revoke":
        done = client.revoke(args.serial, args.reason)
        print(f"Revoked {done['serial']} ({done['reason']}) at {done['revoked_at']}")
        return 0
    if action == "code":
        made = client.ticket(args.iin, args.document_type, args.document_number, args.purpose)
        expires = datetime.fromisoformat(str(made["expires_at"])).astimezone(UTC)
        print(f"One-time {made['purpose']} code for IIN {made['iin']}: {made['code']}")
        print(f"Valid until {expires:%Y-%m-%d %H:%M} UTC, for this IIN only, once.")
        return 0
    raise InvalidInput(action, reason=f"unknown operator action {action}")


def add_parsers(sub: Any, data_help: str) -> None:
    """Add `reissue`, `renew` and `operator` to the `qalam` parser."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--ca-url", help="the CA service (default: from settings)")
        parser.add_argument("--data-dir", help=data_help)

    def new_keys(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--out", help="folder for the new key files (nothing is overwritten)")
        parser.add_argument("--new-password-file", help="else QALAM_NEW_PASSWORD or a prompt")
        parser.add_argument(
            "--kind",
            "--key-kind",
            dest="key_kind",
            choices=KINDS,
            default=None,
            help="gost: GOST 34.10-2015 keys in GOST512_*.p12 files, as NCA issues today; "
            "rsa (the default for a code) or ec; a renewal keeps the current key's kind",
        )
        parser.add_argument(
            "--legacy", action="store_true", help="3DES key files, for old Kalkan-based tools"
        )

    again = sub.add_parser("reissue", help="new keys for a PSC one-time code")
    again.add_argument("--iin", help="your IIN")
    again.add_argument("--code", help="the one-time code from the PSC operator")
    again.add_argument(
        "--resume", nargs="?", const="", metavar="PENDING", help="finish a pending re-issue"
    )
    again.add_argument("--discard", metavar="PENDING", help="forget a pending re-issue")
    new_keys(again)
    common(again)
    again.set_defaults(func=cmd_reissue)

    renew = sub.add_parser("renew", help="new keys, signed with your current AUTH key")
    renew.add_argument("--key", required=True, help="your current AUTH key file")
    renew.add_argument("--password-file", help="its password (else QALAM_PASSWORD or a prompt)")
    new_keys(renew)
    common(renew)
    renew.set_defaults(func=cmd_renew)

    operator = sub.add_parser("operator", help="PSC operator: sign in, find, revoke, codes")
    actions = operator.add_subparsers(dest="operator_cmd", required=True)
    login = actions.add_parser("login", help="sign in with your GOV CA AUTH key")
    login.add_argument("--key", required=True)
    login.add_argument("--password-file", help="else QALAM_PASSWORD or a prompt")
    for name, text in (("logout", "sign out"), ("whoami", "who is signed in")):
        actions.add_parser(name, help=text)
    find = actions.add_parser("find", help="a person and their certificates")
    find.add_argument("iin")
    find.add_argument("--json", action="store_true")
    revoke = actions.add_parser("revoke", help="revoke a certificate")
    revoke.add_argument("serial")
    revoke.add_argument("--reason", required=True, choices=REASONS)
    code = actions.add_parser("code", help="a one-time re-issue code after checking the ID")
    code.add_argument("iin")
    code.add_argument(
        "--document-type", required=True, choices=("id_card", "passport", "residence_permit")
    )
    code.add_argument("--document-number", required=True)
    code.add_argument("--purpose", choices=("reissue", "enroll"), default="reissue")
    for parser in actions.choices.values():
        common(parser)
    operator.set_defaults(func=cmd_operator)


__all__ = ["add_parsers", "cmd_operator", "cmd_reissue", "cmd_renew"]
