"""The one way the service opens HTTP: no redirects, and loopback always direct.

Shared by the TSA client and the CA client. Proxies come from the environment (http_proxy,
no_proxy) except for loopback addresses, which always go direct: the bundled CA runs on this
machine. Redirects are not followed: a POST turned into a GET elsewhere is not what was asked.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
import urllib.request
from typing import Any

from ..crypto.errors import InvalidInput


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(url: str, what: str) -> urllib.parse.SplitResult:
    """``url`` split, or InvalidInput when it is not an http(s) URL with a host."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        reason = f"the {what} address must be an http(s) URL, not {url!r}"
        raise InvalidInput(url, reason=reason)
    return parts


def opener_for(parts: urllib.parse.SplitResult) -> urllib.request.OpenerDirector:
    """An opener that never follows redirects and goes direct to loopback hosts."""
    proxies = urllib.request.ProxyHandler({} if is_loopback(parts.hostname or "") else None)
    return urllib.request.build_opener(proxies, _NoRedirect())


__all__ = ["checked_url", "is_loopback", "opener_for"]
