"""RFC 3161 over HTTP (RFC 3161 §3.4): POST a TimeStampReq, read a TimeStampResp, check it.

``HttpTsa(url).stamp(imprint)`` is the ``stamp`` callable crypto/cms.add_signature_timestamp
takes: it builds a SHA-256 query with a random 64-bit nonce and certReq, posts it as
``application/timestamp-query`` with a timeout, reads at most ``max_response`` bytes, and hands
the answer to crypto/tsp.parse_response (status, imprint, nonce, signature, TSA EKU).

Errors, each with a plain sentence (crypto/errors.py):
* cannot connect, DNS failure, timeout -> TsaUnavailable (retriable), naming the URL;
* an HTTP error status, a redirect, or a PKIStatus rejection -> TsaRefused;
* an answer that is too large or not a TimeStampResp -> MalformedTimestamp;
* a token that does not answer our query -> InvalidTimestamp.

Proxies and redirects: service/http_opener.py (loopback direct, no redirects).
"""

from __future__ import annotations

import http.client
import secrets
import urllib.error
import urllib.parse
import urllib.request
from typing import IO

from ..crypto import tsp
from ..crypto.algorithms import DigestAlgorithm
from ..crypto.errors import InvalidInput, MalformedTimestamp, TsaRefused, TsaUnavailable
from .http_opener import checked_url, opener_for

# The bundled CA's TSA (ca_server's POST /tsp on its default port). Settings come later.
DEFAULT_TSA_URL = "http://127.0.0.1:8080/tsp"
DEFAULT_TIMEOUT = 10.0
MAX_RESPONSE = 1 << 20
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


class HttpTsa:
    """A time-stamping authority reached over HTTP(S)."""

    def __init__(
        self,
        url: str = DEFAULT_TSA_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_response: int = MAX_RESPONSE,
        policy: str | None = None,
    ) -> None:
        parts = checked_url(url, "timestamp service")
        if timeout <= 0 or max_response <= 0:
            raise InvalidInput("limits", reason="the timeout and size limit must be positive")
        self.url = url
        self.timeout = timeout
        self.max_response = max_response
        self.policy = policy
        self._opener = opener_for(parts)

    def __repr__(self) -> str:
        return f"HttpTsa({self.url!r}, timeout={self.timeout})"

    def stamp(self, imprint: bytes) -> bytes:
        """The DER TimeStampToken over ``imprint`` (a SHA-256 digest), checked."""
        return self.stamp_token(imprint).der

    def stamp_token(
        self, imprint: bytes, digest: DigestAlgorithm = DigestAlgorithm.SHA256
    ) -> tsp.TimeStampToken:
        """The checked token over ``imprint`` made with ``digest``."""
        query = tsp.build_query(
            imprint, digest, nonce=secrets.randbits(64), cert_req=True, policy=self.policy
        )
        answer = self._post(query)
        try:
            return tsp.parse_response(answer, query)
        except TsaRefused as refused:
            reason = f"{self.url}: {refused.params.get('reason', refused.detail)}"
            raise TsaRefused(
                refused.detail, status=refused.status, fail_info=refused.fail_info, reason=reason
            ) from None

    def _post(self, query: bytes) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url,
            data=query,
            method="POST",
            headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return self._read(response)
        except urllib.error.HTTPError as error:
            error.close()
            reason = f"{self.url} answered HTTP {error.code} {error.reason}"
            raise TsaRefused(f"HTTP {error.code}", reason=reason) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            cause = getattr(error, "reason", error)
            raise TsaUnavailable(f"{type(cause).__name__}: {cause}", url=self.url) from None
        except (http.client.HTTPException, OSError) as error:
            raise TsaUnavailable(f"{type(error).__name__}: {error}", url=self.url) from None

    def _read(self, response: IO[bytes]) -> bytes:
        body = response.read(self.max_response + 1)
        if len(body) > self.max_response:
            reason = f"the answer is larger than {self.max_response} bytes"
            raise MalformedTimestamp("oversized response", reason=reason)
        return body


__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_TSA_URL", "MAX_RESPONSE", "HttpTsa"]
