"""The JWKS cache: one per key source, keys indexed by ``kid`` and built into python-jose keys once.

Reads top to bottom like PyJWT's ``PyJWKClient``: fetch → hold → match ``kid`` → refetch once — plus what that
lacks: a refetch cooldown for unknown ``kid``s (so a flood of forged ``kid``s costs one fetch), bounded
stale-if-error (an IdP outage keeps the held keys serving for ``max_stale`` past their ``max_age``, then every
token is denied until a fetch succeeds), a size cap, keys constructed at fetch time, never per request, and a
discovery document used only when it names the issuer it was fetched for (OIDC Discovery 1.0 §4.3).

    cache = JwksCache("https://idp.example.com/.well-known/jwks.json", fetcher=JsonFetcher())
    key = cache.get_key(kid="abc", alg="RS256")     # a jose Key; key.verify(signing_input, signature)

A fetch that succeeds **is** the issuer's key set: its usable keys replace the held ones even when there are none
(an empty ``keys`` list, only Ed25519 or PS256 keys), so a key the issuer removed stops verifying at the next
refresh. Only a failed fetch — transport, timeout, error status, non-JSON, oversize, no ``keys`` list — keeps the
held keys serving.

Every fetch attempt is reported to ``on_fetch`` as a ``FetchResult`` (what the metrics count), and held keys
dropped past ``max_stale`` as one with ``stale_expired``; logs go to ``log``. Neither reads the other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from jose import jwk
from jose.backends.base import Key

from .config import check_fetch_url
from .errors import (
    ABSENT,
    ConfigError,
    FetchError,
    JwksUnavailableError,
    KeyAlgorithmMismatchError,
    KidCooldownError,
    KidNotFoundError,
)
from .fetch import JsonFetcher

_CURVE_OF_ALG = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}  # RFC 7518 §3.4: the curve is fixed
_ALGS_OF_KTY = {"RSA": ("RS256", "RS384", "RS512"), "EC": tuple(_CURVE_OF_ALG)}
_PUBLIC_MEMBERS = {"RSA": ("kty", "n", "e"), "EC": ("kty", "crv", "x", "y")}
MIN_RSA_BITS = 2048  # RFC 7518 §3.3
NO_KEYS_RETRY_SECONDS = 1.0  # while no keys are held (a failed prefetch), at most one fetch per second


class FetchResult(NamedTuple):
    """One JWKS refresh attempt (or the held keys expiring), as ``JwksCache`` reports it to ``on_fetch``.

    ``ok``: the issuer's key set was fetched and is held now. ``empty``: it was, and holds no usable key (every
    token of this source is denied until it publishes one). ``stale_served``: it failed, and the keys held before
    keep serving. ``stale_expired``: no fetch was made; the held keys were dropped after ``max_stale`` past their
    max age.
    """

    source: str
    why: str  # prefetch | initial | stale | unknown_kid | expired
    ok: bool
    stale_served: bool = False
    stale_expired: bool = False
    problem: str | None = None
    empty: bool = False

    @property
    def attempted(self) -> bool:
        """A fetch was made (the expiry of held keys is reported without one)."""
        return not self.stale_expired


def build_keys(document: Any, log: Callable[..., None] | None = None) -> dict[Any, dict[str, Key]]:
    """A JWKS document → ``{kid: {alg: Key}}``, empty when it holds no usable key. Keys not for signatures, not
    RSA/EC, or of an algorithm we do not verify (``PS256``) are ignored. Raises ``ValueError`` only when the
    document has no ``keys`` list: that is not a key set at all.

    A key without ``kid`` is held under ``(None, position)``, which no token's ``kid`` (a string) can name: only a
    token without ``kid`` can select it, and only when it is the one key that fits. A key without ``alg`` is built
    for every algorithm of its type (and curve); with ``alg``, for that one only.
    """
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the document has no 'keys' list")
    held: dict[Any, dict[str, Key]] = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        kty, kid = entry.get("kty"), entry.get("kid") or (None, position)
        if entry.get("use", "sig") != "sig" or kty not in _ALGS_OF_KTY or not isinstance(kid, (str, tuple)):
            continue
        key_ops = entry.get("key_ops")
        if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
            continue
        algs = _ALGS_OF_KTY[kty]
        if "alg" in entry:
            algs = tuple(a for a in algs if a == entry["alg"])
        if kty == "EC":
            algs = tuple(a for a in algs if _CURVE_OF_ALG[a] == entry.get("crv"))
        public = {name: entry.get(name) for name in _PUBLIC_MEMBERS[kty]}  # never a private member
        for alg in algs:
            try:
                key = jwk.construct(public, alg)
                if kty == "RSA" and key.prepared_key.key_size < MIN_RSA_BITS:
                    raise ValueError(f"RSA key of {key.prepared_key.key_size} bits")
            except Exception as problem:  # any unusable key material: skip this key, keep the others
                if log:
                    log("ignoring a JWKS key", kid=kid, alg=alg, problem=f"{type(problem).__name__}: {problem}")
                break
            held.setdefault(kid, {}).setdefault(alg, key)  # a repeated kid keeps its first key
    return held


class JwksCache:
    """Keys of one source. ``source_url`` is a JWKS URL, or a discovery URL when ``discovery`` is true."""

    def __init__(self, source_url: str, *, fetcher: JsonFetcher, discovery: bool = False,
                 ca_bundle: str | None = None, max_age: float = 3600.0, cooldown: float = 30.0,
                 max_stale: float = 86400.0, clock: Callable[[], float] = time.monotonic,
                 log: Callable[..., None] | None = None, expected_issuer: str | None = None,
                 on_fetch: Callable[[FetchResult], None] | None = None) -> None:
        self.source_url = source_url
        self.expected_issuer = expected_issuer  # discovery: the document's issuer must be exactly this
        self.max_stale = max_stale
        self.fetcher = fetcher
        self.discovery = discovery
        self.ca_bundle = ca_bundle
        self.max_age = max_age
        self.cooldown = cooldown
        self.clock = clock
        self.log = log or (lambda message, **fields: None)
        self.on_fetch = on_fetch or (lambda result: None)
        self._jwks_uri: str | None = None if discovery else source_url
        self._keys: dict[Any, dict[str, Key]] | None = None
        self._fetched_at = float("-inf")  # when the held keys were fetched
        self._attempted_at = float("-inf")  # the last fetch attempt of any kind
        self._missed_at = float("-inf")  # the last refetch for an unknown kid
        self._lock = threading.Lock()
        self.fetches = 0  # completed or failed fetch attempts, for tests

    def prefetch(self) -> bool:
        """Load keys ahead of the first request (cold start). A failure is logged, never raised."""
        with self._lock:
            return self._refresh("prefetch")

    def get_key(self, kid: str | None, alg: str) -> Key:
        """The one key for this ``kid`` and ``alg``. Raises a ``KidNotFoundError`` family error otherwise."""
        now = self.clock()
        age = now - self._fetched_at
        if age >= self.max_age:
            self._refresh_stale(now, age)
        if self._keys is None:
            raise JwksUnavailableError(f"no keys could be fetched from {self.source_url}")
        if kid is None:
            return self._only_key_for(alg)
        if kid not in self._keys:
            if now - self._missed_at < self.cooldown:
                raise KidCooldownError("kid not in the JWKS; refetch is cooling down", claim="kid",
                                       expected=self.source_url, actual=kid)
            with self._lock:
                if kid not in self._keys and self.clock() - self._missed_at >= self.cooldown:
                    self._missed_at = self.clock()
                    self._refresh("unknown_kid")
            if kid not in self._keys:
                raise KidNotFoundError("kid not in the JWKS", claim="kid", expected=self.source_url, actual=kid)
        key = self._keys[kid].get(alg)
        if key is None:
            raise KeyAlgorithmMismatchError(f"the key for this kid does not fit {alg}", claim="alg",
                                            expected=tuple(self._keys[kid]), actual=alg)
        return key

    def still_holds(self, kid: str | None, alg: str, key: Key) -> bool:
        """Whether ``key`` is still the one ``get_key(kid, alg)`` would give, refreshing first when due — what a
        remembered token asks before it may answer (``TokenVerifier``). Never fetches for an unknown ``kid``."""
        now = self.clock()
        age = now - self._fetched_at
        if age >= self.max_age:
            self._refresh_stale(now, age)
        held = self._keys
        if held is None:
            return False
        if kid is None:
            fitting = self._fitting(alg)
            return len(fitting) == 1 and fitting[0] is key
        by_alg = held.get(kid)
        return by_alg is not None and by_alg.get(alg) is key

    def _refresh_stale(self, now: float, age: float) -> None:
        """First use, or keys past max age: refresh. On failure the held keys keep serving until max_stale is spent.

        With keys held, a failed refresh waits out the cooldown; with none usable, every request would be denied,
        so one may try again each second.
        """
        if self._keys is not None and age >= self.max_age + self.max_stale:
            self._keys = None  # every refresh failed for max_stale past max age: fail closed until one succeeds
            self.log("JWKS keys held past max age + max stale; denying until a fetch succeeds",
                     source=self.source_url, max_stale_seconds=self.max_stale, stale_expired=True)
            self.on_fetch(FetchResult(self.source_url, "expired", ok=False, stale_expired=True))
        retry_after = self.cooldown if self._keys is not None else min(self.cooldown, NO_KEYS_RETRY_SECONDS)
        if now - self._attempted_at >= retry_after:
            with self._lock:
                if self.clock() - self._fetched_at >= self.max_age:
                    self._refresh("stale" if self._keys is not None else "initial")

    def _fitting(self, alg: str) -> list[Key]:
        return [by_alg[alg] for by_alg in (self._keys or {}).values() if alg in by_alg]

    def _only_key_for(self, alg: str) -> Key:
        fitting = self._fitting(alg)
        if len(fitting) != 1:
            raise KidNotFoundError(f"token has no kid and {len(fitting)} held keys fit {alg}", claim="kid",
                                   expected=f"exactly one held key for {alg}", actual=ABSENT)
        return fitting[0]

    def _refresh(self, why: str) -> bool:
        """Fetch and replace the held keys. Called with the lock held. Returns whether it succeeded."""
        self._attempted_at = self.clock()
        self.fetches += 1
        try:
            if self._jwks_uri is None:
                self._jwks_uri = self._discover()
            keys = build_keys(self.fetcher.get_json(self._jwks_uri, self.ca_bundle), self.log)
        except (FetchError, ValueError) as problem:
            stale_served = self._keys is not None
            self.log("JWKS fetch failed; held keys keep serving" if stale_served else "JWKS fetch failed",
                     source=self.source_url, why=why, problem=str(problem), stale_served=stale_served)
            self.on_fetch(FetchResult(self.source_url, why, ok=False, stale_served=stale_served, problem=str(problem)))
            return False
        self._keys = keys  # the issuer's key set now: a key it no longer publishes is gone, even the last one
        self._fetched_at = self.clock()
        if not keys:
            self.log("JWKS holds no usable signing key; tokens of this source are denied until it publishes one",
                     source=self.source_url, why=why, reason="jwks_empty")
        self.on_fetch(FetchResult(self.source_url, why, ok=True, empty=not keys))
        return True

    def _discover(self) -> str:
        document = self.fetcher.get_json(self.source_url, self.ca_bundle)
        if self.expected_issuer is not None and document.get("issuer") != self.expected_issuer:
            # OIDC Discovery 1.0 §4.3: a document naming another issuer is not this issuer's; its keys are not used.
            raise FetchError(self.source_url, "the discovery document's issuer is not the configured issuer")
        jwks_uri = document.get("jwks_uri")
        try:
            jwks_uri = check_fetch_url(jwks_uri, "jwks_uri")
        except ConfigError as problem:
            raise FetchError(self.source_url, f"discovery gave no usable jwks_uri ({problem.problem})") from None
        if urlsplit(jwks_uri).scheme == "http" and urlsplit(self.source_url).scheme != "http":
            # Plain http is for loopback issuers configured as such (local runs), never something an https
            # discovery document can point at (e.g. a runtime API on 127.0.0.1).
            raise FetchError(self.source_url, "an https discovery document named a plain-http jwks_uri")
        return jwks_uri
