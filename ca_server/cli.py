"""The qalam-ca command line: set up a CA instance and act on it as its local operator.

    qalam-ca init [--data-dir D] [--fresh] [--passphrase-file F]    create an instance
    qalam-ca serve [--host H] [--port P] [--workers N]              run the HTTP service
    qalam-ca issue --iin IIN [--bin BIN] --role R --out DIR         test keys for a portal developer
    qalam-ca revoke SERIAL --reason R / qalam-ca status SERIAL
    qalam-ca registry add-person|add-entity|add-role|show …
    qalam-ca ticket --iin IIN                                       a one-time re-issue code
    qalam-ca crl nac|gov [--out FILE] / qalam-ca audit [--since 1h]
    qalam-ca demo-pki --out certs                                   regenerate the demo PKI
    qalam-ca demo-pki --add-gost                                    add only the GOST line

Every command works on the instance in ``--data-dir`` (default ``$QALAM_CA_HOME`` or
``~/.local/share/qalam-ca``), acts as the local user ``cli:<user>`` in the audit log, prints
plain text (``--json`` where it helps), and exits 0 on success, 1 when the CA refused or failed
(one plain sentence and the error code), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ca_server import audit, authority, demo_pki, registry
from ca_server.ca_keys import read_passphrase_file
from ca_server.enrollment import OperatorAction, enroll
from ca_server.errors import CaError
from ca_server.instance import (
    DEFAULT_CERTS_DIR,
    Instance,
    default_data_dir,
    init_instance,
    load_instance,
)
from ca_server.profiles import DEFAULT_BASE_URL, Purpose
from signer_app.crypto.errors import QalamError
from signer_app.crypto.identity import dn_string
from signer_app.crypto.keystores import write_pkcs12

__all__ = ["main"]

_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


# -- arguments ----------------------------------------------------------------------------------


def _instance_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the instance's directory (default: $QALAM_CA_HOME or ~/.local/share/qalam-ca)",
    )
    common.add_argument("--db", default=None, help="database URL (default: the instance's)")
    common.add_argument(
        "--passphrase-file",
        type=Path,
        default=None,
        help="file holding the CA key passphrase (default: $QALAM_CA_PASSPHRASE or the "
        "instance's passphrase file)",
    )
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qalam-ca", description="Qalam's bundled test CA.")
    commands = parser.add_subparsers(dest="command", required=True)
    common = _instance_options()

    demo = commands.add_parser(
        "demo-pki", help="regenerate the fixed demo PKI (TEST ONLY) into a directory"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("certs"), help="output directory (default: certs)"
    )
    demo.add_argument(
        "--add-gost",
        action="store_true",
        help="only add the GOST 2015 line where it is missing (keeps every existing key)",
    )

    init = commands.add_parser(
        "init", parents=[common], help="create a CA instance (adopts the demo PKI by default)"
    )
    init.add_argument(
        "--fresh", action="store_true", help="new roots and issuing CAs, empty registry"
    )
    init.add_argument("--base-url", default=DEFAULT_BASE_URL, help="URL written into certificates")
    init.add_argument("--certs", type=Path, default=DEFAULT_CERTS_DIR, help="the demo PKI to adopt")

    serve = commands.add_parser(
        "serve", parents=[common], help="run the CA's HTTP service (uvicorn)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the database"
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
    )
    serve.add_argument(
        "--no-access-log", action="store_true", help="do not log every request (benchmarks)"
    )

    issue = commands.add_parser(
        "issue",
        parents=[common],
        help="make key pairs and AUTH + SIGN certificates for a registered person",
    )
    issue.add_argument("--iin", required=True)
    issue.add_argument("--bin", default=None, help="for head, signer, employee, ...")
    issue.add_argument(
        "--role",
        required=True,
        help="individual, head, signer, employee, civil_servant or psc_operator",
    )
    issue.add_argument("--out", type=Path, required=True, help="directory for the key files")
    issue.add_argument("--json", action="store_true")

    revoke = commands.add_parser("revoke", parents=[common], help="revoke a certificate")
    revoke.add_argument("serial", help="serial number in hex")
    revoke.add_argument(
        "--reason",
        required=True,
        help=f"RFC 5280 reason: {', '.join(authority.REVOCATION_REASONS)}",
    )

    status = commands.add_parser("status", parents=[common], help="a certificate's status")
    status.add_argument("serial", help="serial number in hex")
    status.add_argument("--json", action="store_true")

    reg = commands.add_parser("registry", help="persons, legal entities and roles")
    reg_commands = reg.add_subparsers(dest="registry_command", required=True)
    person = reg_commands.add_parser("add-person", parents=[common], help="register a person")
    person.add_argument("--iin", required=True)
    person.add_argument("--surname", required=True)
    person.add_argument("--given-name", required=True)
    person.add_argument("--patronymic")
    person.add_argument("--birth-date", type=dt.date.fromisoformat, help="YYYY-MM-DD")
    person.add_argument("--document", help="identity document number")
    person.add_argument("--email")
    entity = reg_commands.add_parser(
        "add-entity", parents=[common], help="register a company or a state agency"
    )
    entity.add_argument("--bin", required=True)
    entity.add_argument("--name", required=True)
    entity.add_argument("--state-agency", action="store_true")
    role = reg_commands.add_parser(
        "add-role", parents=[common], help="give a person a role in a legal entity"
    )
    role.add_argument("--bin", required=True)
    role.add_argument("--iin", required=True)
    role.add_argument("--role", required=True)
    show = reg_commands.add_parser(
        "show", parents=[common], help="a person, their roles and certificates"
    )
    show.add_argument("iin")
    show.add_argument("--json", action="store_true")

    ticket = commands.add_parser(
        "ticket", parents=[common], help="create a one-time enrolment or re-issue code"
    )
    ticket.add_argument("--iin", required=True)
    ticket.add_argument("--purpose", choices=registry.TICKET_PURPOSES, default="reissue")
    ticket.add_argument("--ttl", default="24h", help="how long it lives (e.g. 30m, 24h, 2d)")

    crl = commands.add_parser("crl", parents=[common], help="write the current CRL of a CA")
    crl.add_argument("ca", help="nac or gov")
    crl.add_argument("--out", type=Path, default=None, help="file (default: <ca>.crl)")

    log = commands.add_parser("audit", parents=[common], help="read the audit log")
    log.add_argument("--since", default=None, help="ISO time, or an age such as 30m, 2h, 7d")
    log.add_argument("--actor", default=None)
    log.add_argument("--limit", type=int, default=100)
    log.add_argument("--json", action="store_true")
    return parser


def _duration(text: str) -> dt.timedelta:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise CaError("invalid_input", f"{text!r} is not a duration such as 30m, 24h or 7d")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _since(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    if _DURATION.fullmatch(text.strip()):
        return dt.datetime.now(dt.UTC) - _duration(text)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CaError("invalid_input", f"{text!r} is neither an ISO time nor an age") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _load(args: argparse.Namespace) -> Instance:
    data_dir = args.data_dir or default_data_dir()
    passphrase = None
    if args.passphrase_file is not None:
        passphrase = read_passphrase_file(args.passphrase_file)
    return load_instance(data_dir, db_url=args.db, passphrase=passphrase)


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


# -- commands -----------------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or default_data_dir()
    result = init_instance(
        data_dir,
        fresh=args.fresh,
        certs_dir=args.certs,
        passphrase_file=args.passphrase_file,
        base_url=args.base_url,
        db_url=args.db,
        actor=_actor(),
    )
    what = (
        "new roots and issuing CAs, empty registry"
        if result.origin == "fresh"
        else f"adopted the demo PKI: {result.certificates} certificates, {result.persons} persons"
    )
    print(f"CA instance created in {result.data_dir} ({what})")
    print(f"authorities: {', '.join(result.authorities)}")
    print(f"database: {result.database}")
    if result.generated_passphrase_file is not None:
        print(
            "the CA keys are encrypted with a new random passphrase, written to "
            f"{result.generated_passphrase_file} (mode 0600): keep it, or move it and use "
            "--passphrase-file or QALAM_CA_PASSPHRASE"
        )
    elif args.passphrase_file is not None:
        print(f"the CA keys are encrypted with the passphrase in {args.passphrase_file}")
    else:
        print("the CA keys are encrypted with the passphrase in $QALAM_CA_PASSPHRASE")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ca_server.http.app import DB_URL_ENV, PASSPHRASE_FILE_ENV, SKIP_MIGRATE_ENV
    from ca_server.instance import HOME_ENV

    if args.workers < 1:
        raise CaError("invalid_input", "--workers must be at least 1")
    data_dir = (args.data_dir or default_data_dir()).expanduser().absolute()
    # Open everything once here, so a missing instance or a wrong passphrase is one clear
    # sentence before uvicorn starts; this also migrates the database once for all workers.
    instance = _load(args)
    try:
        from ca_server.http.service import CaService, HttpSettings

        CaService(instance, HttpSettings())
        base_url = instance.config.base_url
    finally:
        instance.close()
    os.environ[HOME_ENV] = str(data_dir)
    os.environ[SKIP_MIGRATE_ENV] = "1"
    if args.db:
        os.environ[DB_URL_ENV] = args.db
    if args.passphrase_file is not None:
        os.environ[PASSPHRASE_FILE_ENV] = str(args.passphrase_file.expanduser().absolute())
    listening = f"http://{args.host}:{args.port}"
    print(
        f"qalam-ca: serving {data_dir} on {listening} with {args.workers} worker(s); "
        f"certificates name {base_url}",
        file=sys.stderr,
    )
    if base_url.rstrip("/") != listening:
        print(
            f"qalam-ca: note: the URLs in certificates ({base_url}) are not this address",
            file=sys.stderr,
        )
    uvicorn.run(
        "ca_server.http.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=not args.no_access_log,
        proxy_headers=False,
        server_header=False,
    )
    return 0


def _password() -> str:
    # 16 characters from 62 letters and digits: ~95 bits, no punctuation to mistype.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def _csr(key: rsa.RSAPrivateKey, iin: str) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}")])
    request = (
        x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.DER)


def _issue(args: argparse.Namespace) -> int:
    instance = _load(args)
    try:
        role = registry.parse_role(args.role)
        ca = instance.authority(registry.ROLE_CA[role])
        iin = registry.check_iin(args.iin)
        keys = {
            purpose: rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for purpose in (Purpose.AUTH, Purpose.SIGN)
        }
        pair = enroll(
            instance.db,
            {ca.id: ca},
            OperatorAction(_actor()),
            iin,
            {purpose: _csr(key, iin) for purpose, key in keys.items()},
            role=role,
            bin=args.bin,
        )
    finally:
        instance.close()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    chain = [ca.certificate] + ([ca.root] if ca.root is not None else [])
    written = []
    for issued in (pair.auth, pair.sign):
        prefix = "AUTH_RSA256" if issued.purpose is Purpose.AUTH else "RSA256"
        path = out / f"{prefix}_{issued.ski}.p12"
        password = _password()
        write_pkcs12(path, keys[issued.purpose], issued.certificate, password, chain=chain)
        written.append(
            {
                "purpose": issued.purpose.value,
                "path": str(path),
                "password": password,
                "serial": issued.serial,
                "ca": issued.ca,
                "subject": dn_string(issued.certificate.subject),
                "not_after": issued.certificate.not_valid_after_utc.isoformat(),
            }
        )
    if args.json:
        _print_json(written)
        return 0
    print(f"issued AUTH and SIGN certificates by {ca.id} to {written[0]['subject']}")
    for item in written:
        print(f"  {item['purpose'].upper():4}  {item['path']}")
        print(f"        password: {item['password']}")
        print(f"        serial:   {item['serial']} (valid until {item['not_after']})")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    instance = _load(args)
    try:
        done = authority.revoke(instance.db, args.serial, args.reason, actor=_actor())
    finally:
        instance.close()
    print(
        f"revoked {done.serial} ({done.reason.value}) by {done.ca} at {done.revoked_at.isoformat()}"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    instance = _load(args)
    try:
        found = authority.status(instance.db, args.serial)
    finally:
        instance.close()
    if args.json:
        _print_json(found.to_dict())
        return 0
    state = found.status
    if found.status == "revoked":
        state += (
            f" ({found.reason}) since {found.revoked_at.isoformat() if found.revoked_at else '?'}"
        )
    elif found.expired:
        state += ", expired"
    print(f"serial:   {found.serial}")
    print(f"status:   {state}")
    print(f"issuer:   {found.ca}")
    print(f"subject:  {found.subject}")
    print(f"profile:  {found.profile}")
    print(f"valid:    {found.not_before.isoformat()} .. {found.not_after.isoformat()}")
    if found.superseded_by:
        print(f"superseded by: {found.superseded_by}")
    return 0


def _registry(args: argparse.Namespace) -> int:
    instance = _load(args)
    try:
        return _registry_command(instance, args)
    finally:
        instance.close()


def _registry_command(instance: Instance, args: argparse.Namespace) -> int:
    db, actor = instance.db, _actor()
    command = args.registry_command
    if command == "add-person":
        added = registry.add_person(
            db,
            iin=args.iin,
            surname=args.surname,
            given_name=args.given_name,
            patronymic=args.patronymic,
            birth_date=args.birth_date,
            id_document_number=args.document,
            email=args.email,
            actor=actor,
        )
        print(f"registered {added.surname} {added.given_name} (IIN {added.iin})")
    elif command == "add-entity":
        kind = "state_agency" if args.state_agency else "company"
        entity = registry.add_legal_entity(db, bin=args.bin, name=args.name, kind=kind, actor=actor)
        print(f"registered {entity.name} (BIN {entity.bin}, {entity.kind.replace('_', ' ')})")
    elif command == "add-role":
        job = registry.add_employment(db, bin=args.bin, iin=args.iin, role=args.role, actor=actor)
        print(f"{job.iin} is {job.role.value} in {job.organisation} (BIN {job.bin})")
    else:
        person = registry.get_person(db, args.iin)
        grants = registry.allowed_roles(db, person.iin)
        jobs = registry.employments_of(db, person.iin)
        certificates = authority.certificates_of(db, person.iin)
        if args.json:
            _print_json(
                {
                    "person": person.to_dict(),
                    "roles": [
                        {"bin": j.bin, "organisation": j.organisation, "role": j.role.value}
                        for j in jobs
                    ],
                    "may_get": [{"role": g.role.value, "bin": g.bin, "ca": g.ca} for g in grants],
                    "certificates": [c.to_dict() for c in certificates],
                }
            )
            return 0
        names = " ".join(filter(None, (person.surname, person.given_name, person.patronymic)))
        print(f"{names} (IIN {person.iin})")
        for label, value in (
            ("birth date", person.birth_date.isoformat() if person.birth_date else None),
            ("document", person.id_document_number),
            ("e-mail", person.email),
        ):
            if value:
                print(f"  {label}: {value}")
        for job in jobs:
            print(f"  {job.role.value} in {job.organisation} (BIN {job.bin})")
        may_get = ", ".join(g.role.value + (f" ({g.bin})" if g.bin else "") for g in grants)
        print(f"  may get: {may_get}")
        for cert in certificates:
            state = cert.status + (" (expired)" if cert.expired and cert.status == "good" else "")
            print(f"  {cert.purpose.upper():4} {cert.serial} {cert.ca} {cert.role}: {state}")
    return 0


def _ticket(args: argparse.Namespace) -> int:
    instance = _load(args)
    try:
        new = registry.create_ticket(
            instance.db, args.iin, _actor(), args.purpose, _duration(args.ttl)
        )
    finally:
        instance.close()
    print(f"one-time {new.purpose} code for IIN {new.iin}: {new.code}")
    print(f"valid until {new.expires_at.isoformat()}; it is shown only now")
    return 0


def _crl(args: argparse.Namespace) -> int:
    instance = _load(args)
    try:
        der = authority.current_crl(instance.db, instance.authority(args.ca))
    finally:
        instance.close()
    out: Path = args.out or Path(f"{args.ca}.crl")
    out.write_bytes(der)
    print(f"CRL of {args.ca} written to {out} ({len(der)} bytes)")
    return 0


def _audit(args: argparse.Namespace) -> int:
    instance = _load(args)
    try:
        entries = audit.read(instance.db, _since(args.since), args.actor, limit=args.limit)
    finally:
        instance.close()
    if args.json:
        _print_json([entry.to_dict() for entry in entries])
        return 0
    for entry in entries:
        where = f" from {entry.remote_addr}" if entry.remote_addr else ""
        details = json.dumps(dict(entry.details), ensure_ascii=False) if entry.details else ""
        print(
            f"{entry.at.isoformat()}  #{entry.id}  {entry.actor}{where}  {entry.action}"
            f"  {entry.target or '-'}  {entry.outcome}  {details}".rstrip()
        )
    return 0


_COMMANDS = {
    "init": _init,
    "serve": _serve,
    "issue": _issue,
    "revoke": _revoke,
    "status": _status,
    "registry": _registry,
    "ticket": _ticket,
    "crl": _crl,
    "audit": _audit,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo-pki":
        started = time.monotonic()
        if args.add_gost:
            added = demo_pki.add_gost(args.out)
            print(f"GOST line: {len(added)} file(s) added to {args.out}")
            return 0
        demo_pki.generate(args.out)
        print(f"demo PKI written to {args.out} in {time.monotonic() - started:.1f} s")
        return 0
    try:
        return _COMMANDS[args.command](args)
    except CaError as error:
        detail = f" ({error.detail})" if error.detail else ""
        print(f"qalam-ca: {error.message}{detail} [{error.code}]", file=sys.stderr)
        return 1
    except QalamError as error:
        print(f"qalam-ca: {error} [{error.code}]", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
