"""JWKS traffic: how many times the authorizer fetches keys under load, under an unknown-``kid`` flood, and across
a key rotation. Fetches are counted by the dev issuer itself (server side), so nothing in the authorizer can hide one.

Each scenario builds a fresh ``Authorizer`` from an ``AUTH_*`` environment, the way the handler does at cold start
(prefetch included), and feeds it API Gateway events:

- ``known_kids``: 10,000 requests spread over four issuers (Descope-, Passage-, WSO2- and OIDC-shaped, the last
  found by discovery), RS256 and ES256, every token distinct and more of them than the verified-token cache holds,
  so each request goes through the JWKS cache. Goal: one fetch per issuer.
- ``unknown_kids``: 1,000 tokens signed by the issuer's key but naming ``kid``s it never published, within one
  cooldown. Goal: at most one refetch after the prefetch.
- ``rotation``: traffic, then the issuer rotates (new ``kid``s; the old keys stay published a while), then tokens
  of both generations. Goal: one refetch, and every token of both generations allowed.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from typing import Any

from authorizer.authorize import Authorizer
from authorizer.config import load_config
from local.idp.issuer import DevIssuer
from local.idp.profiles import PROFILES as ALL_PROFILES
from local.idp.profiles import signing_algs

from .scenario import ALGORITHMS, TOKEN_LIFETIME, http_api_event

# The issuers that sign with every benchmarked algorithm (Cognito and Entra sign RS256 only).
PROFILES = tuple(profile for profile in ALL_PROFILES if set(ALGORITHMS) <= set(signing_algs(profile)))

AUDIENCE = "bench-api"
COOLDOWN_SECONDS = 30  # the default AUTH_JWKS_COOLDOWN_SECONDS


def _claims(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


class _Decisions:
    """The Authorizer's observe seam: counts outcomes and reasons."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()

    def __call__(self, outcome: str, reason: str | None, shape: str) -> None:
        self.outcomes[outcome] += 1
        if reason:
            self.reasons[reason] += 1


def _authorizer(issuers: list[dict[str, Any]]) -> tuple[Authorizer, _Decisions]:
    decisions = _Decisions()
    config = load_config({"AUTH_ISSUERS": json.dumps(issuers), "AUTH_JWKS_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS)})
    authorizer = Authorizer(config, observe=decisions)
    authorizer.prefetch()
    return authorizer, decisions


def _mint(dev: DevIssuer, profile: str, alg: str, **options: Any) -> str:
    return dev.mint(profile, alg=alg, audience=AUDIENCE, expires_in=TOKEN_LIFETIME, **options)


def _issuer_entry(dev: DevIssuer, profile: str, discovery: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"issuer": _claims(_mint(dev, profile, "ES256"))["iss"], "audience": AUDIENCE}
    if not discovery:
        entry["jwks_uri"] = dev.jwks_url(profile)
    return entry


def known_kids(dev: DevIssuer, requests: int = 10_000, tokens_per_issuer_and_alg: int = 300) -> dict[str, Any]:
    issuers = [_issuer_entry(dev, profile, discovery=profile == "oidc") for profile in PROFILES]
    before = {profile: dev.jwks_fetch_count(profile) for profile in PROFILES}
    authorizer, decisions = _authorizer(issuers)
    # More distinct tokens than the verified-token cache keeps (1024), cycled in order: every request is a miss
    # there and asks the JWKS cache for its key.
    events = [http_api_event(_mint(dev, profile, alg)) for _ in range(tokens_per_issuer_and_alg)
              for profile in PROFILES for alg in ALGORITHMS]
    started = time.perf_counter()
    for index in range(requests):
        authorizer.authorize(events[index % len(events)])
    elapsed = time.perf_counter() - started
    fetches = {profile: dev.jwks_fetch_count(profile) - before[profile] for profile in PROFILES}
    return {"requests": requests, "distinct_tokens": len(events), "issuers": len(issuers),
            "fetches_per_issuer": fetches, "max_fetches_per_issuer": max(fetches.values()),
            "allowed": decisions.outcomes["allow"], "denied": dict(decisions.reasons),
            "seconds": round(elapsed, 2)}


def unknown_kids(dev: DevIssuer, tokens: int = 1_000, profile: str = "oidc") -> dict[str, Any]:
    authorizer, decisions = _authorizer([_issuer_entry(dev, profile)])
    after_prefetch = dev.jwks_fetch_count(profile)
    events = [http_api_event(_mint(dev, profile, ALGORITHMS[index % 2], kid=f"unknown-kid-{index}"))
              for index in range(tokens)]
    started = time.perf_counter()
    for event in events:
        authorizer.authorize(event)
    elapsed = time.perf_counter() - started
    return {"tokens": tokens, "cooldown_seconds": COOLDOWN_SECONDS, "seconds": round(elapsed, 3),
            "within_one_cooldown": elapsed < COOLDOWN_SECONDS,
            "refetches": dev.jwks_fetch_count(profile) - after_prefetch,
            "allowed": decisions.outcomes["allow"], "denied": dict(decisions.reasons)}


def rotation(dev: DevIssuer, requests_per_phase: int = 500, profile: str = "oidc") -> dict[str, Any]:
    authorizer, decisions = _authorizer([_issuer_entry(dev, profile)])
    after_prefetch = dev.jwks_fetch_count(profile)
    # Tokens of the old generation, signed before the rotation: half are used before it, half after.
    old = [http_api_event(_mint(dev, profile, ALGORITHMS[index % 2])) for index in range(2 * requests_per_phase)]
    for event in old[:requests_per_phase]:
        authorizer.authorize(event)
    new_kids = dev.rotate_keys(profile)
    new = [http_api_event(_mint(dev, profile, ALGORITHMS[index % 2])) for index in range(requests_per_phase)]
    for new_event, old_event in zip(new, old[requests_per_phase:], strict=False):  # both generations in flight
        authorizer.authorize(new_event)
        authorizer.authorize(old_event)
    return {"requests": len(old) + len(new), "new_kids": len(new_kids),
            "refetches": dev.jwks_fetch_count(profile) - after_prefetch,
            "allowed": decisions.outcomes["allow"], "denied": dict(decisions.reasons)}


def measure_jwks_traffic(*, requests: int = 10_000, unknown: int = 1_000, tokens_per_issuer_and_alg: int = 300,
                         rotation_requests: int = 500) -> dict[str, Any]:
    with DevIssuer() as dev:
        return {"known_kids": known_kids(dev, requests, tokens_per_issuer_and_alg),
                "unknown_kids": unknown_kids(dev, unknown),
                "rotation": rotation(dev, rotation_requests)}
