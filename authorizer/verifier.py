"""``TokenVerifier.verify_token``: a raw token → its verified claims, or an ``AuthorizationError``.

Order: size cap and strict parsing → trusted issuer by its ``iss`` (unknown: denied with no network call)
→ header rules → the ONE key for ``kid`` and ``alg`` from that issuer's JWKS cache → python-jose signature
check with that key → the provider's token-kind rules (refresh tokens, Cognito ``token_use``) → claim checks.

Verified tokens are remembered by their exact text (a bounded LRU of ``remembered_tokens`` entries), so a client that
repeats its token costs a dictionary lookup and no signature check. An entry answers until the token's ``exp``, at
most ``min(max_age, 300)`` seconds, and **only while the key that verified it is still the one the verifier would
use**: past max age + max stale without a successful refresh, or once a refresh dropped (or replaced) that key, the
token is verified again as a new one would be — and denied if its key is gone.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol

from jose.backends.base import Key

from .config import TrustedIssuer, discovery_url
from .errors import BadSignatureError, MissingClaimError, UnknownIssuerError
from .fetch import JsonFetcher
from .jwks import FetchResult, JwksCache
from .token import check_claims, check_header, check_token_use, claims_check, for_resource_only, parse_token

_new = tuple.__new__


class VerifiedToken(NamedTuple):
    # A NamedTuple, not a frozen dataclass: as immutable, and it costs a fraction at import and per token.
    claims: dict[str, Any]
    issuer: TrustedIssuer
    kid: str | None
    alg: str
    claims_clean: bool = False  # see UnverifiedToken.claims_clean
    resource_only: bool = False  # issued for an MCP resource (token.for_resource_only): good on its route only

    @property
    def principal_id(self) -> str:
        return self.claims.get("sub") or self.claims.get("client_id") or "anonymous"


class Remembered(NamedTuple):
    """A verified token's entry: it answers until ``until`` while ``cache`` still holds ``key`` for its kid."""

    verified: VerifiedToken
    until: float
    key: Key
    cache: JwksCache


class Verifier(Protocol):
    """What the ``Authorizer`` needs of a verifier: ``TokenVerifier``, or the deny-all stand-in while no
    configuration has been read (``remote_config.NoConfigVerifier``)."""

    def prefetch(self) -> None: ...

    def verify_token(self, token: str) -> VerifiedToken: ...


class TokenVerifier:
    """Verifies tokens of the trusted issuers. Build once per cold start; it owns the JWKS caches."""

    def __init__(self, issuers: Iterable[TrustedIssuer], *, fetcher: JsonFetcher | None = None,
                 leeway: float = 60, max_age: float = 3600, cooldown: float = 30, max_stale: float = 86400,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 log: Callable[..., None] | None = None, on_fetch: Callable[[FetchResult], None] | None = None,
                 remembered_tokens: int = 1024) -> None:
        self.issuers = {issuer.issuer: issuer for issuer in issuers}
        self.leeway = leeway
        self.clock = clock
        fetcher = fetcher or JsonFetcher()
        self.caches: dict[tuple[str, str | None, str | None], JwksCache] = {}
        for issuer in self.issuers.values():
            if issuer.key_source not in self.caches:  # a preset's issuer forms share one cache
                self.caches[issuer.key_source] = JwksCache(
                    issuer.jwks_uri or discovery_url(issuer.issuer), fetcher=fetcher,
                    discovery=issuer.jwks_uri is None, ca_bundle=issuer.ca_bundle, max_age=max_age,
                    cooldown=cooldown, max_stale=max_stale, clock=monotonic, log=log, on_fetch=on_fetch,
                    expected_issuer=issuer.issuer if issuer.jwks_uri is None else None)
        self._index_trusted()
        self._remembered: OrderedDict[str, Remembered] = OrderedDict()
        self._remember_at_most = remembered_tokens
        self._remember_for = min(max_age, 300.0)  # a revoked key stops working within this, at worst

    def keep_caches(self, previous: TokenVerifier) -> None:
        """Take over the JWKS caches of key sources ``previous`` also had: no refetch, no cold keys."""
        for source in self.caches:
            if source in previous.caches:
                self.caches[source] = previous.caches[source]
        self._index_trusted()

    def _index_trusted(self) -> None:
        # iss → (issuer, its cache): one lookup per request (key_source is derived on every access).
        # Each with its claims check, built once (token.claims_check).
        self._trusted = {iss: (issuer, self.caches[issuer.key_source], claims_check(issuer, self.leeway))
                         for iss, issuer in self.issuers.items() if issuer.issuer_match == "exact"}
        # Issuers that end in a variable segment (Descope's agentic servers): tried only when no exact one matches.
        self._by_prefix = [(issuer, self.caches[issuer.key_source], claims_check(issuer, self.leeway))
                           for issuer in self.issuers.values() if issuer.issuer_match != "exact"]

    def prefetch(self) -> None:
        """Every key source at once: a cold start waits for the slowest source, not for the sum of them."""
        caches = list(self.caches.values())
        if len(caches) == 1:
            caches[0].prefetch()
            return
        threads = [threading.Thread(target=cache.prefetch, name="jwks-prefetch", daemon=True) for cache in caches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()  # each fetch has its own deadline (fetch.py): this ends within two of them

    def verify_token(self, token: str) -> VerifiedToken:
        now = self.clock()
        remembered = self._remembered.get(token)
        if remembered is not None:
            verified, until, key, cache = remembered
            if now < until and cache.still_holds(verified.kid, verified.alg, key):
                return verified
            del self._remembered[token]  # expired, or its key is gone or replaced: verified again below
        parsed = parse_token(token)
        iss = parsed.claims.get("iss")
        if iss is None:
            raise MissingClaimError("iss is required", claim="iss", expected="a trusted issuer")
        trusted = self._trusted.get(iss) if isinstance(iss, str) else None
        if trusted is None:
            trusted = next((t for t in self._by_prefix if t[0].accepts_iss(iss)), None)
            if trusted is None:
                raise UnknownIssuerError("iss is not a trusted issuer", claim="iss", expected=tuple(self.issuers),
                                         actual=iss)
        issuer, cache, claims_ok = trusted
        alg, kid = check_header(parsed.header, issuer)
        key = cache.get_key(kid, alg)
        try:
            valid = key.verify(parsed.signing_input, parsed.signature)
        except Exception:  # a malformed signature can raise inside the primitive: that is a bad signature
            valid = False
        if not valid:
            raise BadSignatureError("signature does not verify with the issuer's key")
        if issuer.token_use:  # first: a token of the wrong kind is denied as that, whatever else it lacks
            check_token_use(parsed.header, parsed.claims, issuer)
        claims = parsed.claims
        if not claims_ok(claims, now):
            check_claims(claims, issuer, now, self.leeway)  # raises the first problem, as data
        # tuple.__new__: a NamedTuple's own __new__ is a Python function, and this is every verification.
        resource_only = bool(issuer.resource_audiences) and for_resource_only(claims, issuer)
        verified = _new(VerifiedToken, (claims, issuer, kid, alg, parsed.claims_clean, resource_only))
        self._remember(token, _new(Remembered, (verified, min(claims["exp"], now + self._remember_for), key, cache)))
        return verified

    def _remember(self, token: str, entry: Remembered) -> None:
        self._remembered[token] = entry
        if len(self._remembered) > self._remember_at_most:
            self._remembered.popitem(last=False)  # oldest first: cheap and bounded
