"""The doctor's words: why a token failed one check and what to change, from the failed check's data.

Each function turns what a check found (an ``AuthorizationError`` with its ``claim``/``expected``/``actual``, or
the token and the configuration) into a ``Finding`` whose ``fix`` says what to do: the support questions API
Gateway users ask most (an issuer off by a trailing slash, Descope's bare project ID, an audience or scope that
is not there, a token that expired and by how long).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from authorizer.config import RouteRule, TrustedIssuer
from authorizer.errors import (
    AudienceMismatchError,
    AuthorizationError,
    ClaimRuleError,
    CriticalHeaderError,
    ExpiredTokenError,
    InsufficientScopeError,
    IssuedInFutureError,
    MissingClaimError,
    NotYetValidError,
    TenantMismatchError,
    TenantMissingError,
    TenantRoleError,
    TokenTypeError,
    UnsupportedAlgorithmError,
)
from authorizer.tenancy import TENANT_ID, Tenants

from .model import Finding


def explain_issuer(iss: Any, configured: Sequence[str], *, native: bool,
                   providers: Mapping[str, str] | None = None) -> Finding:
    """Why ``iss`` is not accepted, and the likeliest fix: the support question API Gateway users ask most."""
    providers = providers or {}
    listed = ", ".join(repr(c) for c in configured) or "none"
    if iss is None:
        return Finding("fail", "issuer", "the token has no iss claim", "use an access token from the identity "
                       "provider; tokens without iss are never accepted")
    if not isinstance(iss, str):
        return Finding("fail", "issuer", f"iss is not a string ({type(iss).__name__})")
    for issuer in configured:
        if issuer.rstrip("/") == iss.rstrip("/"):
            return Finding("fail", "issuer", f"token iss {iss!r} differs from the configured {issuer!r} only by a "
                           "trailing '/'; issuers must match exactly",
                           f"configure the issuer exactly as the token carries it: {iss!r} (Auth0 issuers end "
                           "with '/')")
        if issuer.lower() == iss.lower() or issuer.split("://", 1)[-1] == iss.split("://", 1)[-1]:
            return Finding("fail", "issuer", f"token iss {iss!r} differs from the configured {issuer!r} in case or "
                           "scheme; issuers must match exactly", f"configure the issuer as {iss!r}")
    if "://" not in iss:  # a bare ID: older Descope projects, older Passage tokens
        url_forms = [c for c in configured if c.rstrip("/").endswith("/" + iss)]
        if url_forms or any("descope" in c for c in configured) or any(
                providers.get(c) == "descope" for c in configured):
            if native:
                return Finding("fail", "issuer", f"token iss is the bare project ID {iss!r}; the native JWT "
                               f"authorizer needs the https issuer URL (configured: {listed})",
                               "enable Descope's \"AWS API Gateway\" JWT template (iss=https://api.descope.com/"
                               f"{iss}) for these tokens, or use the lambda authorizer, whose descope preset "
                               "accepts the bare project ID")
            return Finding("fail", "issuer", f"token iss is the bare ID {iss!r}, which is not configured "
                           f"(trusted: {listed})", "add \"bare\" to the preset's issuer_forms (Descope), or enable "
                           "Descope's \"AWS API Gateway\" JWT template so tokens carry the URL form")
    entra = _entra_version_left_out(iss, configured, native)
    if entra is not None:
        return entra
    for issuer in configured:
        if "/v1/apps/" in iss and iss.rsplit("/", 1)[-1] == issuer.rstrip("/").rsplit("/", 1)[-1]:
            return Finding("fail", "issuer", f"token iss {iss!r} is Descope's /v1/apps/ form; configured: {listed}",
                           "add \"apps\" to the descope preset's issuer_forms (lambda), or configure this exact "
                           "issuer (jwt)" if not native else f"configure the native authorizer's issuer as {iss!r}")
        if "/oauth2/token" in iss and "/oauth2/token" in issuer and urlsplit(iss).netloc == urlsplit(issuer).netloc:
            return Finding("fail", "issuer", f"token iss {iss!r} is another WSO2 tenant than the configured "
                           f"{issuer!r}", "set the wso2 preset's tenant to the token's tenant (…/t/<tenant>/"
                           "oauth2/token), or leave it out for the super tenant")
    return Finding("fail", "issuer", f"token iss {iss!r} is not a configured issuer (configured: {listed})",
                   "configure the issuer exactly as the token carries it, or get the token from the configured "
                   "issuer (another project, tenant or environment?)")


_ENTRA_ISS = re.compile(r"(?P<base>https?://[^/]+(?:/[^/]+)*?)/(?P<tenant>[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})"
                        r"/(?P<v2>v2\.0)?")


def _entra_version_left_out(iss: str, configured: Sequence[str], native: bool) -> Finding | None:
    """An Entra token of the configured tenant in the issuer form (token version) the configuration leaves out."""
    token = _ENTRA_ISS.fullmatch(iss)
    if token is None:
        return None
    for issuer in configured:
        trusted = _ENTRA_ISS.fullmatch(issuer)
        if trusted is None or trusted["tenant"] != token["tenant"] or bool(trusted["v2"]) == bool(token["v2"]):
            continue
        version, other = ("2.0", "1.0") if token["v2"] else ("1.0", "2.0")
        manifest = (f"set accessTokenAcceptedVersion to {other[0]} in the API's app manifest so that its tokens "
                    f"carry the v{other} issuer")
        fix = (f"the native JWT authorizer trusts one issuer form: {manifest}, or use the lambda authorizer (it can "
               "trust both)" if native else f'add "{version}" to the entra preset\'s token_versions, or {manifest}')
        return Finding("fail", "issuer", f"token iss {iss!r} is an Entra v{version} token of the configured tenant; "
                       f"only v{other} tokens are trusted ({issuer!r})", fix)
    return None


def explain_header(problem: AuthorizationError, issuer: TrustedIssuer) -> Finding:
    """A ``check_header`` denial → what the identity provider or the issuer's configuration must change."""
    if isinstance(problem, UnsupportedAlgorithmError):
        alg = str(problem.actual if problem.has_actual else None)[:20]
        fix = (f"accepted for this issuer: {', '.join(issuer.algorithms)}; add the token's alg to the issuer's "
               "algorithms if the identity provider really signs with it")
        if alg.lower() == "none" or alg.upper().startswith("HS"):
            fix = "none and HS* are never accepted: an unsigned or shared-secret token cannot be verified safely"
        return Finding("fail", "alg", f"alg {alg!r} is not accepted for this issuer", fix)
    if isinstance(problem, CriticalHeaderError):
        return Finding("fail", "alg", f"the header names critical parameters {problem.actual!r}",
                       "tokens with a crit header are rejected (RFC 8725): issue them without it")
    if isinstance(problem, TokenTypeError):
        return Finding("fail", "typ", problem.detail, f"the issuer accepts typ {list(problem.expected or ())}: "
                       "send an access token, or change the issuer's token_types")
    return Finding("fail", problem.reason, problem.detail)


def _first(aud: Any) -> str:
    return aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else "")


_YEAR_SECONDS = 365.25 * 24 * 3600


def duration(seconds: float) -> str:
    """How long, for people: ``2 h 0 min``. A token's dates may be any finite number (``1e300``): those are capped."""
    if abs(seconds) >= 1000 * _YEAR_SECONDS:
        return "more than 1000 years"
    seconds = int(abs(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 120:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days {hours % 24} h"


# --- claims: one finding per failed check, from the check's own data ----------------------------------------
_CLOCKS = "check the clocks of the identity provider and of this machine"


def explain_claim(problem: AuthorizationError, claims: Mapping[str, Any], issuer: TrustedIssuer, now: float,
                  leeway: float) -> Finding:
    """A ``claim_problems`` item → a finding under the topic the doctor reports it in."""
    if isinstance(problem, ExpiredTokenError):
        return _expired(problem.actual, now, leeway)
    if problem.claim == "exp":
        if isinstance(problem, MissingClaimError):
            return Finding("fail", "expiry", "the token has no exp claim",
                           "tokens without an expiry are never accepted")
        return Finding("fail", "expiry", problem.detail, "exp must be a NumericDate (seconds since the epoch)")
    if isinstance(problem, NotYetValidError):
        return Finding("fail", "not-before", f"nbf is {duration(problem.actual - now)} in the future (allowed clock "
                       f"skew {leeway:g} s)", _CLOCKS)
    if isinstance(problem, IssuedInFutureError):
        return Finding("fail", "issued-at", f"iat is {duration(problem.actual - now)} in the future (allowed clock "
                       f"skew {leeway:g} s)", _CLOCKS)
    if isinstance(problem, AudienceMismatchError):
        return _audience_mismatch(problem, issuer)
    if isinstance(problem, MissingClaimError) and problem.claim in ("aud", "client_id"):
        if "aud" not in claims and "client_id" not in claims and issuer.client_ids is None:
            return _no_audience(list(issuer.audiences))
        return Finding("fail", "audience", problem.detail, "ask the identity provider for a token for this API")
    return Finding("fail", "claims", problem.detail, "the identity provider issues a claim of the wrong type; such "
                   "tokens are rejected")


def utc_date(seconds: float) -> str | None:
    """A NumericDate as a UTC date; None when no calendar holds it (before year 1, after 9999, or not finite)."""
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError, OSError):  # which one depends on the value and the platform
        return None


def _expired(exp: float, now: float, leeway: float) -> Finding:
    when = utc_date(exp) or f"{exp!r}, before year 1"
    return Finding("fail", "expiry", f"expired {duration(now - exp)} ago (exp {when}; allowed clock skew "
                   f"{leeway:g} s)", "get a fresh token (.venv/bin/python -m tools token ...); clients should renew before "
                   "exp")


def _audience_mismatch(problem: AuthorizationError, issuer: TrustedIssuer) -> Finding:
    configured = list(problem.expected or ())
    if problem.claim == "aud":
        aud = problem.actual
        return Finding("fail", "audience", f"aud {json.dumps(aud)} holds none of the configured audiences "
                       f"{configured}", f"add the API's audience to the issuer's audience (e.g. {_first(aud)!r}), "
                       "or ask the identity provider for a token for this API (--audience; Descope: the project ID; "
                       "WSO2: the client ID)")
    if issuer.client_ids is not None:  # Cognito access tokens: client_id is the app client, whatever aud says
        return Finding("fail", "audience", f"client_id {problem.actual!r} is not one of the configured app clients "
                       f"{configured}", f"add {problem.actual!r} to the issuer's client_ids")
    return Finding("fail", "audience", f"the token has no aud, and its client_id {problem.actual!r} is not "
                   f"one of the configured audiences {configured} (client_id counts only without aud)",
                   f"add {problem.actual!r} to the issuer's audience (Cognito access tokens work this way)")


def _no_audience(configured: list[str]) -> Finding:
    return Finding("fail", "audience", f"the token has neither aud nor client_id; configured audiences: {configured}",
                   "ask the identity provider for a token with an audience (Descope session tokens carry none: "
                   "create a Descope JWT template that sets aud to the project ID and apply it to session tokens; "
                   "Auth0: pass audience), or use the lambda authorizer, whose descope preset checks aud only when "
                   "it is present")


def audience_ok(claims: Mapping[str, Any], issuer: TrustedIssuer) -> str:
    if "aud" in claims:
        return f"aud {json.dumps(claims['aud'])} holds a configured audience"
    if issuer.client_ids is not None:
        return f"client_id {claims.get('client_id')!r} is one of the configured app clients"
    if "client_id" not in claims and not issuer.require_audience:
        return "no aud and no client_id, as in Descope session tokens: the exact issuer binds the token"
    return f"no aud; client_id {claims.get('client_id')!r} is a configured audience"


def expiry_ok(exp: float, now: float, leeway: float) -> str:
    if exp > now:
        return f"expires in {duration(exp - now)}"
    return f"expired {duration(now - exp)} ago, within the {leeway:g} s clock skew"


# --- route rules --------------------------------------------------------------------------------------------
def explain_rule(route_key: str, denial: AuthorizationError) -> Finding:
    """A route rule's denial (``rules.rule_problem``, or the native authorizer's scopes) → what the route needs."""
    if isinstance(denial, InsufficientScopeError):
        held = list(denial.actual) or "none"
        return Finding("fail", "scope", f"{route_key} needs one of the scopes {list(denial.expected)}; the token "
                       f"has {held} (scope/scp)", scope_fix(denial.expected))
    if isinstance(denial, ClaimRuleError):
        held = json.dumps(denial.actual)[:120] if denial.has_actual else "no such claim"
        return Finding("fail", "claims", f"{route_key} needs claim {denial.claim!r} to be one of "
                       f"{list(denial.expected)}; the token has {held}",
                       "assign it at the identity provider (a role, permission or custom claim), or change the "
                       "route's claims rule")
    return Finding("fail", denial.reason, denial.detail)


def scope_fix(needed: Iterable[str]) -> str:
    first = next(iter(needed))
    return (f"ask for it when getting the token (.venv/bin/python -m tools token ... --scope {first}) and make sure the "
            "identity provider grants it to this client; or change the route's scopes")


# --- tenant rules -------------------------------------------------------------------------------------------
_TENANT_CLAIMS = "Descope: tenants or dct; Auth0: org_id; Entra: tid; Cognito: a custom tenant attribute"


def explain_tenant(route: RouteRule, denial: AuthorizationError, tenant: str | None, tenants: Tenants,
                   claims: Mapping[str, Any]) -> Finding:
    """A ``tenancy.tenant_problem`` denial → which tenant check failed, with its reason code, and what to change.

    ``tenant``: the tenant the request names (``pathParameters``); ``tenants``: what ``tenants_of`` read."""
    rule = route.tenant
    assert rule is not None
    param = "{" + rule.param + "}"
    held = sorted(tenants.grants)
    if isinstance(denial, TenantMissingError):
        unusable = (f"; {tenants.refused} tenant ID(s) in it are not usable (a tenant ID matches "
                    f"{TENANT_ID.pattern}: no '*', '?', '/', '%', non-ASCII, at most 128 characters)"
                    if tenants.refused else "")
        shape = "" if rule.claim in claims else ", and the token has no such claim"
        return Finding("fail", "tenant", f"{route.route_key}: tenant missing [{denial.reason}]: the token's "
                       f"{rule.claim!r} names no tenant{shape}{unusable}",
                       "sign the user in to a tenant at the identity provider (Descope: add the user to the tenant; "
                       "its session token then lists it in tenants), or set the route's tenant.claim to the claim "
                       f"that holds the caller's tenants ({_TENANT_CLAIMS})")
    if isinstance(denial, TenantMismatchError):
        never = ("; it can never be granted: a tenant ID matches " + TENANT_ID.pattern
                 if tenant is not None and not TENANT_ID.fullmatch(tenant) else "")
        return Finding("fail", "tenant", f"{route.route_key}: tenant mismatch [{denial.reason}]: the path's tenant "
                       f"{_short(tenant)} ({param}) is not one of the token's tenants {held} (claim "
                       f"{rule.claim!r}){never}",
                       f"call it with one of the token's tenants ({', '.join(held)}), or add the user to tenant "
                       f"{_short(tenant)} at the identity provider and get a fresh token"
                       + (" (Descope dct: select that tenant, then refresh the session)" if rule.claim == "dct"
                          else ""))
    if isinstance(denial, TenantRoleError):
        kind = "permissions" if str(denial.claim).endswith(".permissions") else "roles"
        needed = list(denial.expected or ())
        has = list(denial.actual) if denial.has_actual else []
        fix = (f"grant the user one of the {kind} {needed} in tenant {_short(tenant)} at the identity provider "
               f"(Descope: the user's {kind} in that tenant), or change the route's tenant.{kind}")
        if not isinstance(claims.get(rule.claim), dict):
            fix = (f"the claim {rule.claim!r} names tenants without roles or permissions (only an object, such as "
                   f"Descope's tenants, carries them): point tenant.claim at such a claim, or drop tenant.{kind}")
        return Finding("fail", "tenant", f"{route.route_key}: tenant {_short(tenant)} is one of the token's, but "
                       f"without the {kind} the route needs there [{denial.reason}]: it needs one of {needed}; the "
                       f"token has {has} ({denial.claim})", fix)
    return Finding("fail", "tenant", f"{route.route_key}: {denial.detail} [{denial.reason}]")


def tenant_allowed(route: RouteRule, tenant: str | None, allowed_tenants: Sequence[str]) -> Finding:
    """The tenant check passes: for the request's tenant, or (none given) for which of the token's tenants."""
    rule = route.tenant
    assert rule is not None
    needs = " with the " + " and ".join(
        f"{kind} it needs" for kind, wanted in (("roles", rule.roles), ("permissions", rule.permissions)) if wanted)
    if tenant is not None:
        return Finding("ok", "tenant", f"{route.route_key}: tenant {_short(tenant)} is one of the token's "
                       f"({rule.claim!r}){needs if rule.roles or rule.permissions else ''}")
    return Finding("ok", "tenant", f"{route.route_key}: allowed only for the token's tenants {list(allowed_tenants)} "
                   f"in {{{rule.param}}}{needs if rule.roles or rule.permissions else ''}; any other tenant is "
                   "refused (tenant_mismatch). Check one with --tenant or --path")


def _short(tenant: str | None) -> str:
    """A tenant as the doctor prints it: quoted, and cut short (a path can hold 1,000 characters)."""
    if tenant is None:
        return "(none)"
    return repr(tenant) if len(tenant) <= 60 else repr(tenant[:40]) + f"... ({len(tenant)} characters)"
