"""Redirect URIs of the development authorization server's clients: which ones a client may register, and whether
a request's ``redirect_uri`` is one of them.

Matching is exact (OAuth 2.1 section 2.3.1), with one exception from RFC 8252 section 7.3: a registered loopback
URI (``http://127.0.0.1``, ``http://[::1]``, ``http://localhost``) matches the same URI on any port, since native
apps listen on whatever port is free when they start.

    redirect_uri_matches("http://127.0.0.1:33418/callback", ["http://127.0.0.1/callback"])   # True
    redirect_uri_matches("http://127.0.0.1:33418/callback", ["http://localhost/callback"])   # False: another host
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

from authorizer.config import is_loopback_host


def redirect_uri_problem(uri: object) -> str | None:
    """Why a URI cannot be registered as a redirect URI, or None: https anywhere, http on loopback only, or a
    private-use scheme of a native app (RFC 8252 section 7.1, a reversed domain name such as ``com.example.app:``);
    never a fragment (RFC 6749 section 3.1.2) or anything but printable ASCII."""
    if not isinstance(uri, str) or not uri:
        return "redirect URIs must be non-empty strings"
    if len(uri) > 2048 or not all(0x21 <= ord(c) <= 0x7E for c in uri) or '"' in uri or "\\" in uri:
        return "redirect URIs must be printable ASCII without quotes or backslashes"
    try:
        parts = urllib.parse.urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return "a redirect URI is malformed"
    if parts.fragment or "#" in uri:
        return "redirect URIs must not have a fragment"
    scheme = parts.scheme.lower()
    if scheme == "https":
        return None if host else "an https redirect URI needs a host"
    if scheme == "http":
        return None if is_loopback_host(host) else "http redirect URIs must be loopback (127.0.0.1, [::1], localhost)"
    if "." in scheme and uri.startswith(parts.scheme + ":"):
        return None
    return "redirect URIs must be https, loopback http, or a private-use scheme such as com.example.app:"


def _without_port(parts: urllib.parse.SplitResult) -> tuple[str, str | None, str, str]:
    return parts.scheme.lower(), parts.hostname, parts.path, parts.query


def redirect_uri_matches(requested: str, registered: Iterable[str]) -> bool:
    """Whether ``requested`` is one of the ``registered`` URIs, exactly, or on another port of a loopback one."""
    registered = list(registered)
    if requested in registered:
        return True
    try:
        asked = urllib.parse.urlsplit(requested)
        asked.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if asked.scheme.lower() != "http" or not is_loopback_host(asked.hostname) or asked.fragment:
        return False
    for uri in registered:
        try:
            known = urllib.parse.urlsplit(uri)
        except ValueError:
            continue
        if known.scheme.lower() == "http" and is_loopback_host(known.hostname) \
                and _without_port(known) == _without_port(asked):
            return True
    return False
