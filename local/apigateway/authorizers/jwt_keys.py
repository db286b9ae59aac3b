"""An issuer's signing keys for the native JWT authorizer: OIDC discovery, then its JWKS, refetched with a cooldown.

``IssuerKeys(issuer).key(kid, alg)`` returns the python-jose key for a token; an unknown ``kid`` refetches at most
once per cooldown, a JWKS older than its max age is refreshed, and a failed refresh keeps the keys held.
``fetch_json`` is the transport: ``authorizer/fetch.py``'s ``JsonFetcher`` (API Gateway's 1.5 s and 150000-byte
limits, https or http on loopback, no redirects), with failures reported as ``KeysUnavailable``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from jose import jwk
from jose.exceptions import JOSEError

from authorizer.config import discovery_url, is_loopback_host
from authorizer.errors import FetchError
from authorizer.fetch import MAX_DOCUMENT_BYTES, JsonFetcher
from local.apigateway.errors import JwtRejected, KeysUnavailable

JWKS_FETCH_TIMEOUT_SECONDS = 1.5
JWKS_MAX_BYTES = MAX_DOCUMENT_BYTES
JWKS_REFETCH_COOLDOWN_SECONDS = 30.0
JWKS_MAX_AGE_SECONDS = 3600.0


def fetch_json(url: str, *, timeout_s: float = JWKS_FETCH_TIMEOUT_SECONDS, max_bytes: int = JWKS_MAX_BYTES) -> Any:
    """GET a JSON document the way API Gateway fetches discovery and JWKS: https (or http on loopback), capped."""
    with requests.Session() as session:
        session.trust_env = not is_loopback_host(urlsplit(url).hostname)  # no proxy between us and a local issuer
        try:
            return JsonFetcher(timeout_s, max_bytes, session=session).get_json(url)
        except FetchError as error:
            raise KeysUnavailable(str(error)) from error


class IssuerKeys:
    """The signing keys of one issuer: discovery, then its jwks_uri; refetched for an unknown kid (with a cooldown)."""

    def __init__(
        self,
        issuer: str,
        *,
        fetch: Callable[[str], Any] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
        cooldown_s: float = JWKS_REFETCH_COOLDOWN_SECONDS,
        max_age_s: float = JWKS_MAX_AGE_SECONDS,
    ) -> None:
        self.issuer = issuer
        self._fetch = fetch
        self._clock = clock
        self._cooldown_s = cooldown_s
        self._max_age_s = max_age_s
        self._jwks: dict[str, Mapping[str, Any]] = {}
        self._keys: dict[tuple[str, str], Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str, algorithm: str) -> Any:
        """The verification key for ``kid`` (one jose key, built once per kid and algorithm)."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age_s
            unknown = kid not in self._jwks
            may_refetch = self._fetched_at is None or now - self._fetched_at >= self._cooldown_s
            if stale or (unknown and may_refetch):
                try:
                    self._refresh(now)
                except KeysUnavailable:
                    if not self._jwks:
                        raise  # nothing held to fall back on
            jwk_data = self._jwks.get(kid)
            if jwk_data is None:
                raise JwtRejected("unknown_kid", "the token's key id (kid) is not in the issuer's JWKS")
            if jwk_data.get("alg") not in (None, algorithm):
                raise JwtRejected("alg_mismatch", "the token's algorithm does not match its key")
            cache_key = (kid, algorithm)
            if cache_key not in self._keys:
                try:
                    self._keys[cache_key] = jwk.construct(dict(jwk_data), algorithm)
                except JOSEError as error:
                    raise JwtRejected("bad_key", "the issuer's key for this token is unusable") from error
            return self._keys[cache_key]

    def _refresh(self, now: float) -> None:
        self._fetched_at = now  # failures count too: no retry storm against a broken issuer
        self.fetches += 1
        discovery = self._fetch(discovery_url(self.issuer))
        jwks_uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
        if not isinstance(jwks_uri, str):
            raise KeysUnavailable(f"{self.issuer}: discovery document without jwks_uri")
        document = self._fetch(jwks_uri)
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise KeysUnavailable(f"{jwks_uri}: no keys list")
        self._jwks = {
            key["kid"]: key
            for key in keys
            if isinstance(key, dict) and isinstance(key.get("kid"), str) and key.get("kty") == "RSA"
            and key.get("use", "sig") == "sig"
        }
        self._keys.clear()
