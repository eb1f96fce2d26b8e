"""The HTTP transport of revocation data (crypto/revocation.Transport): OCSP POSTs, CRL and
caIssuers GETs, with a timeout and a size limit.

Loopback addresses always go direct (service/http_opener.is_loopback: the bundled CA runs on
this machine); other hosts use the environment's proxies. Redirects are followed for GET (CRL
mirrors do redirect) but not for POST (an OCSP request turned into a GET elsewhere is not an
OCSP request).
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..crypto.revocation import FetchFailed
from .http_opener import is_loopback

DEFAULT_TIMEOUT = 5.0
# The largest CRL worth reading on a desktop (NCA's full CRLs are a few MB).
MAX_BODY = 32 << 20


class _NoPostRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, *args: Any, **kwargs: Any) -> Any:
        if req.get_method() == "POST":
            return None
        return super().redirect_request(req, *args, **kwargs)


class HttpTransport:
    """GET and POST over urllib, every failure as FetchFailed naming the URL."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, max_body: int = MAX_BODY) -> None:
        self.timeout = timeout
        self.max_body = max_body
        self._direct = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _NoPostRedirect()
        )
        self._proxied = urllib.request.build_opener(_NoPostRedirect())

    def get(self, url: str) -> tuple[bytes, str]:
        """The body and Content-Type at ``url``."""
        return self._open(urllib.request.Request(url, method="GET"))  # noqa: S310

    def post(self, url: str, body: bytes, content_type: str) -> tuple[bytes, str]:
        """POST ``body`` to ``url``; the answer's body and Content-Type."""
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in _open
            url, data=body, method="POST", headers={"Content-Type": content_type}
        )
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[bytes, str]:
        url = request.full_url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchFailed(f"{url}: not an http(s) URL")
        opener = self._direct if is_loopback(parts.hostname) else self._proxied
        try:
            with opener.open(request, timeout=self.timeout) as response:
                body = response.read(self.max_body + 1)
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            error.close()
            raise FetchFailed(f"{url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            cause = getattr(error, "reason", error)
            raise FetchFailed(f"{url}: {cause}") from None
        except (http.client.HTTPException, OSError) as error:
            raise FetchFailed(f"{url}: {type(error).__name__}: {error}") from None
        if len(body) > self.max_body:
            raise FetchFailed(f"{url}: larger than {self.max_body} bytes")
        return body, kind.split(";", 1)[0].strip()


__all__ = ["DEFAULT_TIMEOUT", "MAX_BODY", "HttpTransport"]
