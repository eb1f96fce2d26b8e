"""HTTP client of the bundled CA (ca_server): enrolment, re-issue, recovery, operator actions.

Thin: JSON in and out over urllib (service/http_opener.py: loopback direct, no redirects), a
timeout on every call, and every failure turned into a typed error with a plain sentence:
* cannot connect, DNS, timeout, a 5xx answer -> CaUnavailable (retriable; nothing changed);
* a 4xx answer -> CaRefused carrying the CA's stable code (ca_server/errors.py).
An operator's session token is sent as a bearer token and never logged.
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, cast

from cryptography import x509

from ..crypto import cms
from ..crypto.keystores import KeyEntry
from .errors import CaRefused, CaUnavailable
from .http_opener import checked_url, opener_for
from .settings import DEFAULT_CA_URL

API = "/api/v1"
DEFAULT_TIMEOUT = 15.0
MAX_ANSWER = 4 << 20

Json = dict[str, Any]


@dataclass(frozen=True)
class Issued:
    """A new AUTH + SIGN pair as the CA returned it."""

    ca: str
    auth: x509.Certificate
    sign: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def _pem_certificate(text: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(text.encode("ascii"))


class CaClient:
    """The CA at ``base_url`` (e.g. http://127.0.0.1:8080), optionally as a signed-in operator."""

    def __init__(
        self, base_url: str = DEFAULT_CA_URL, *, token: str | None = None, timeout: float = 0
    ) -> None:
        parts = checked_url(base_url, "certification centre")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout or DEFAULT_TIMEOUT
        self._opener = opener_for(parts)

    def __repr__(self) -> str:
        signed_in = ", signed in" if self.token else ""
        return f"CaClient({self.base_url!r}{signed_in})"

    # -- transport ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Json | None = None) -> Any:
        raw = self._exchange(method, API + path, body, "application/json")
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise CaUnavailable("the answer is not JSON", url=self.base_url) from None

    def _exchange(self, method: str, path: str, body: Json | None, accept: str) -> bytes:
        headers = {"Accept": accept}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = self.base_url + path
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - scheme checked
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as error:
            raise self._refusal(error) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            cause = getattr(error, "reason", error)
            raise CaUnavailable(f"{type(cause).__name__}: {cause}", url=self.base_url) from None
        except (http.client.HTTPException, OSError) as error:
            raise CaUnavailable(f"{type(error).__name__}: {error}", url=self.base_url) from None
        if len(raw) > MAX_ANSWER:
            raise CaUnavailable("oversized answer", url=self.base_url)
        return bytes(raw)

    def _refusal(self, error: urllib.error.HTTPError) -> Exception:
        try:
            body = json.loads(error.read(64 << 10) or b"{}")
        except (ValueError, OSError):
            body = {}
        finally:
            error.close()
        if error.code >= 500 or not isinstance(body, dict) or "code" not in body:
            return CaUnavailable(f"HTTP {error.code}", url=self.base_url)
        return CaRefused(
            str(body["code"]),
            str(body.get("message") or f"HTTP {error.code}"),
            f"HTTP {error.code} {body['code']}: {body.get('detail') or ''}".strip(),
        )

    # -- anyone ------------------------------------------------------------------------------

    def health(self) -> Json:
        """The CA's /health answer (raises CaUnavailable when it is down)."""
        return cast(Json, self._call("GET", "/health"))

    def certificate_status(self, serial: str) -> Json:
        """What the CA knows of a certificate it issued (status, revocation, supersession)."""
        return cast(Json, self._call("GET", f"/certificates/{urllib.parse.quote(serial)}"))

    def certificates_for_key(self, ski_hex: str) -> list[tuple[Json, x509.Certificate]]:
        """Certificates issued for the key with this SubjectKeyIdentifier (recovery)."""
        found = self._call("GET", f"/keys/{urllib.parse.quote(ski_hex)}/certificates")
        return [(item, _pem_certificate(item["pem"])) for item in cast(list[Json], found)]

    def ca_chain(self, ca: str) -> tuple[x509.Certificate, ...]:
        """The issuing CA ``ca`` (e.g. "nac", "gov") and its root, from the CA's public URLs."""
        quoted = urllib.parse.quote(ca)
        issuing = self._exchange("GET", f"/ca/{quoted}.crt", None, "application/pkix-cert")
        root = self._exchange("GET", f"/ca/{quoted}-root.crt", None, "application/pkix-cert")
        try:
            return tuple(x509.load_der_x509_certificate(der) for der in (issuing, root))
        except ValueError:
            raise CaUnavailable("a CA certificate is not DER", url=self.base_url) from None

    def enroll(
        self,
        iin: str,
        csr_auth_der: bytes,
        csr_sign_der: bytes,
        *,
        code: str | None = None,
        renewal_signature: bytes | None = None,
        role: str | None = None,
        bin: str | None = None,
    ) -> Issued:
        """A new AUTH + SIGN pair for a one-time code or a renewal signed with the AUTH key."""
        body: Json = {
            "iin": iin,
            "csr_auth": base64.b64encode(csr_auth_der).decode("ascii"),
            "csr_sign": base64.b64encode(csr_sign_der).decode("ascii"),
        }
        if code is not None:
            body["code"] = code
        if renewal_signature is not None:
            body["renewal_signature"] = base64.b64encode(renewal_signature).decode("ascii")
        if role is not None:
            body["role"] = role
        if bin is not None:
            body["bin"] = bin
        answer = cast(Json, self._call("POST", "/enroll", body))
        return Issued(
            ca=str(answer["ca"]),
            auth=_pem_certificate(answer["auth"]),
            sign=_pem_certificate(answer["sign"]),
            chain=tuple(_pem_certificate(pem) for pem in answer["chain"]),
        )

    # -- operators ---------------------------------------------------------------------------

    def challenge(self) -> bytes:
        """A single-use challenge for an operator to sign."""
        answer = cast(Json, self._call("POST", "/operators/challenge"))
        return base64.b64decode(answer["challenge"])

    def open_session(self, challenge: bytes, signature: bytes) -> Json:
        """Sign in with the CMS over ``challenge``; keeps and returns the session."""
        body = {
            "challenge": base64.b64encode(challenge).decode("ascii"),
            "signature": base64.b64encode(signature).decode("ascii"),
        }
        answer = cast(Json, self._call("POST", "/operators/session", body))
        self.token = str(answer["token"])
        return answer

    def sign_in(self, entry: KeyEntry) -> Json:
        """Sign in as the operator whose GOV CA AUTH key is ``entry`` (no password to the CA)."""
        challenge = self.challenge()
        return self.open_session(challenge, cms.sign(challenge, entry))

    def close_session(self) -> None:
        """Sign out (the token stops working)."""
        self._call("DELETE", "/operators/session")
        self.token = None

    def me(self) -> Json:
        """Who the session belongs to."""
        return cast(Json, self._call("GET", "/operators/me"))

    def person(self, iin: str) -> Json:
        """A person in the registry."""
        return cast(Json, self._call("GET", f"/persons/{urllib.parse.quote(iin)}"))

    def person_certificates(self, iin: str) -> list[Json]:
        """Every certificate of a person, oldest first."""
        path = f"/persons/{urllib.parse.quote(iin)}/certificates"
        return cast(list[Json], self._call("GET", path))

    def revoke(self, serial: str, reason: str) -> Json:
        """Revoke one certificate with an RFC 5280 reason name."""
        path = f"/certificates/{urllib.parse.quote(serial)}/revoke"
        return cast(Json, self._call("POST", path, {"reason": reason}))

    def ticket(self, iin: str, document_type: str, document_number: str, purpose: str) -> Json:
        """A one-time code for ``iin`` after the identity document was checked."""
        body = {
            "iin": iin,
            "purpose": purpose,
            "id_document": {"type": document_type, "number": document_number},
        }
        return cast(Json, self._call("POST", "/tickets", body))


__all__ = ["API", "DEFAULT_TIMEOUT", "CaClient", "Issued"]
