"""Explain whether and why a token would be accepted, by API Gateway's native JWT authorizer and by ours.

The configuration comes from the local cdk.json (--cdk-json, the default) or from a deployed HTTP API
(--api-id, --region: its routes and authorizers, and the Lambda authorizer's AUTH_* environment). With cdk.json
both modes are explained, the configured one first, so the report also says whether switching would help.

Every finding says what to change: the issuer (exact match; Descope's bare project ID; trailing slashes), the
audience or client_id, expiry (by how long), the kid against the issuer's JWKS, the signature, RSA-only and
kid-required in native mode, and the scopes or claims each route asks for. The checks are the authorizer's own
(parse_token, check_header, check_claims, the JWKS cache, the route rules); this module adds the explanations
and API Gateway's native rules. The token is read from the argument, --token-env, or standard input ("-"),
and is never printed.

    python -m tools doctor "$TOKEN"                          # against ./cdk.json, fetching the issuer's keys
    python -m tools doctor - --api-id a1b2c3 --region eu-west-1 < token.txt
    python -m tools doctor "$TOKEN" --route "GET /orders" --no-fetch
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from authorizer.config import (AuthorizerConfig, RouteRule, TrustedIssuer, discovery_url, load_config,
                               parse_issuers, parse_routes)
from authorizer.errors import (AudienceMismatchError, AuthorizationError, ConfigError, CriticalHeaderError,
                               ExpiredTokenError, FetchError, InsufficientScopeError, InvalidClaimError,
                               IssuedInFutureError, JwksUnavailableError, KeyAlgorithmMismatchError, KidNotFoundError,
                               MissingClaimError, NotYetValidError, TokenTypeError, TokenUseMismatchError,
                               UnsupportedAlgorithmError)
from authorizer.events import token_from_authorization
from authorizer.fetch import JsonFetcher
from authorizer.jwks import JwksCache
from authorizer.rules import granted_scopes, rule_problem
from authorizer.token import UnverifiedToken, check_claims, check_header, check_token_use, parse_token

NATIVE_ALGORITHMS = ("RS256", "RS384", "RS512")  # API Gateway's JWT authorizer verifies RSA only
NATIVE, LAMBDA = "jwt", "lambda"


class DoctorError(Exception):
    """The doctor cannot run: no token, an unreadable configuration, an AWS call that failed."""


# --- what is being checked against ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NativeSetup:
    """A native JWT authorizer: the one issuer URL and its audiences."""

    issuer: str
    audiences: tuple[str, ...]
    name: str = "native JWT authorizer"


@dataclass(frozen=True)
class LambdaSetup:
    name: str
    config: AuthorizerConfig


@dataclass(frozen=True)
class Route:
    route_key: str
    authorizer: str | None  # a key of Setup.authorizers; None: public (no authorizer)
    scopes: tuple[str, ...] = ()  # native authorizationScopes


@dataclass
class Setup:
    source: str
    authorizers: dict[str, NativeSetup | LambdaSetup]
    routes: list[Route]
    in_use: set[str]  # authorizers that routes actually use; with cdk.json, the configured mode
    notes: list[str] = field(default_factory=list)


# --- what the doctor says ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    status: str  # "ok" | "fail" | "warn" | "skip"
    topic: str  # format, issuer, alg, kid, keys, signature, expiry, not-before, issued-at, audience, claims, scope
    message: str
    fix: str = ""


@dataclass
class RouteVerdict:
    route_key: str
    allowed: bool | None  # None: public
    status: int | None  # what the client would see from API Gateway
    findings: list[Finding] = field(default_factory=list)


@dataclass
class Report:
    authorizer: str
    kind: str  # jwt | lambda
    in_use: bool
    findings: list[Finding]
    routes: list[RouteVerdict]

    @property
    def accepted(self) -> bool:
        return all(f.status != "fail" for f in self.findings)


@dataclass(frozen=True)
class KeySource:
    """Where keys come from: fetched (``None`` document) or a local JWKS file; or not checked at all."""

    fetch: bool = True
    jwks_document: dict[str, Any] | None = None
    timeout: float = 5.0


# --- configuration sources -------------------------------------------------------------------------------------
def setup_from_cdk_json(path: str | Path) -> Setup:
    """``cdk.json`` context: ``authorizer``, ``issuers``, ``routes`` [{method, path, scopes?, claims?, public?}]."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as problem:
        raise DoctorError(f"cannot read {path}: {problem}") from None
    context = document.get("context", {}) if isinstance(document, dict) else {}
    mode = context.get("authorizer", LAMBDA)
    if mode not in (LAMBDA, NATIVE):
        raise DoctorError(f"{path}: authorizer must be 'lambda' or 'jwt', got {mode!r}")
    issuers = _context_json(context.get("issuers"), "issuers", path)
    routes = _context_json(context.get("routes", []), "routes", path)
    if not isinstance(routes, list):
        raise DoctorError(f"{path}: routes must be a list of {{method, path, scopes?, claims?, public?}}")
    rules: dict[str, Any] = {}
    public: list[str] = []
    protected: list[tuple[str, tuple[str, ...]]] = []
    for index, item in enumerate(routes):
        if not (isinstance(item, dict) and isinstance(item.get("method"), str) and isinstance(item.get("path"), str)):
            raise DoctorError(f"{path}: routes[{index}] needs a method and a path")
        route_key = f"{item['method'].upper()} {item['path']}"
        if item.get("public") is True:
            public.append(route_key)
            continue
        protected.append((route_key, tuple(item.get("scopes") or ())))
        if item.get("scopes") or item.get("claims"):
            rules[route_key] = {"scopes": item.get("scopes", []), "claims": item.get("claims", {})}
    try:
        config = AuthorizerConfig(issuers=parse_issuers(issuers, "issuers"), routes=parse_routes(rules, "routes"))
    except ConfigError as problem:
        raise DoctorError(f"{path}: {problem}") from None
    authorizers: dict[str, NativeSetup | LambdaSetup] = {
        LAMBDA: LambdaSetup("Lambda authorizer" + (" (configured)" if mode == LAMBDA else " (if authorizer=lambda)"),
                            config)}
    notes: list[str] = []
    native, why_not, native_notes = native_issuer_of(issuers)
    label = "native JWT authorizer" + (" (configured)" if mode == NATIVE else " (if authorizer=jwt)")
    if native is not None:
        authorizers[NATIVE] = replace(native, name=label)
        notes += [f"{label}: {note}" for note in native_notes]
    else:
        notes.append(f"{label}: {why_not}")
    # every protected route is explained for both modes; the configured one is "in use"
    explained = [Route(key, None) for key in public]
    for kind in authorizers:
        explained += [Route(key, kind, scopes) for key, scopes in protected]
    return Setup(f"{path} (authorizer={mode})", authorizers, explained, {mode} & set(authorizers), notes)


def native_issuer_of(issuers: Any) -> tuple[NativeSetup | None, str, tuple[str, ...]]:
    """What ``authorizer=jwt`` would give API Gateway, chosen as ``cdk synth`` chooses it: the issuer, or why there
    is none, and the synthesis notes (what the native authorizer cannot check of this provider's tokens)."""
    from infra.config import select_native_issuer  # the stack's own rule: the doctor never disagrees with synth

    if not isinstance(issuers, list):
        return None, "jwt mode takes exactly one issuer; this configuration has none", ()
    try:
        chosen, notes = select_native_issuer(issuers)
    except ConfigError as problem:
        return None, problem.problem, ()
    return NativeSetup(chosen.issuer, chosen.audiences), "", notes


def setup_from_api(api_id: str, region: str, session: Any = None) -> Setup:
    """A deployed HTTP API: ``get_routes``, ``get_authorizer`` per route, and a Lambda authorizer's environment."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = session or boto3.session.Session()
    apigw = session.client("apigatewayv2", region_name=region)
    try:
        items, token = [], None
        while True:
            page = apigw.get_routes(ApiId=api_id, **({"NextToken": token} if token else {}))
            items += page.get("Items", [])
            token = page.get("NextToken")
            if not token:
                break
        authorizers: dict[str, NativeSetup | LambdaSetup] = {}
        routes: list[Route] = []
        notes: list[str] = []
        for item in sorted(items, key=lambda i: i.get("RouteKey", "")):
            kind, authorizer_id = item.get("AuthorizationType", "NONE"), item.get("AuthorizerId")
            if kind in ("JWT", "CUSTOM") and authorizer_id:
                if authorizer_id not in authorizers:
                    described = apigw.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)
                    authorizers[authorizer_id] = _deployed_authorizer(described, session, region, notes)
                routes.append(Route(item["RouteKey"], authorizer_id, tuple(item.get("AuthorizationScopes") or ())))
            elif kind == "NONE":
                routes.append(Route(item["RouteKey"], None))
            else:
                notes.append(f"{item['RouteKey']}: authorization type {kind} is not a JWT or Lambda authorizer")
    except (BotoCoreError, ClientError) as problem:
        raise DoctorError(f"reading API {api_id} in {region} failed: {problem}") from None
    return Setup(f"API {api_id} ({region})", authorizers, routes, {r.authorizer for r in routes if r.authorizer},
                 notes)


def _deployed_authorizer(described: Mapping[str, Any], session: Any, region: str,
                         notes: list[str]) -> NativeSetup | LambdaSetup:
    name = described.get("Name") or described.get("AuthorizerId", "?")
    if described.get("AuthorizerType") == "JWT":
        jwt = described.get("JwtConfiguration", {})
        return NativeSetup(jwt.get("Issuer", ""), tuple(jwt.get("Audience", [])), f"native JWT authorizer {name!r}")
    uri = described.get("AuthorizerUri", "")
    match = re.search(r"functions/(arn:[^/]+:function:[^/]+)/invocations", uri)
    if match is None:
        raise DoctorError(f"authorizer {name!r}: its URI {uri!r} names no Lambda function")
    function = match.group(1)
    environment = session.client("lambda", region_name=region).get_function_configuration(
        FunctionName=function).get("Environment", {}).get("Variables", {})
    try:
        config = load_config(environment)
        if config.config_parameter:
            config = _parameter_config(session, region, config)
    except ConfigError as problem:
        raise DoctorError(f"Lambda authorizer {name!r} ({function}): its configuration is invalid: {problem}") from None
    if described.get("AuthorizerResultTtlInSeconds"):
        notes.append(f"Lambda authorizer {name!r} caches results for {described['AuthorizerResultTtlInSeconds']} s:"
                     " a changed configuration reaches cached tokens only after that")
    return LambdaSetup(f"Lambda authorizer {name!r} ({function.rsplit(':', 1)[-1]})", config)


def _parameter_config(session: Any, region: str, base: AuthorizerConfig) -> AuthorizerConfig:
    from authorizer.remote_config import parse_parameter

    text = session.client("ssm", region_name=region).get_parameter(Name=base.config_parameter)["Parameter"]["Value"]
    try:
        value = json.loads(text)
    except ValueError as problem:
        raise ConfigError(str(base.config_parameter), f"is not JSON ({problem})") from None
    return parse_parameter(value, base)


def _context_json(value: Any, key: str, path: Any) -> Any:
    if isinstance(value, str):  # -c style: a JSON string
        try:
            return json.loads(value)
        except ValueError as problem:
            raise DoctorError(f"{path}: {key} is not valid JSON ({problem})") from None
    if value is None:
        raise DoctorError(f"{path}: context key {key!r} is missing")
    return value


# --- the token --------------------------------------------------------------------------------------------------
def clean_token(text: str) -> str:
    """Accept what people paste: the token, ``Bearer <t>``, or a whole ``Authorization: Bearer <t>`` line."""
    text = text.strip()
    if text.lower().startswith("authorization:"):
        text = text.split(":", 1)[1].strip()
    try:
        return token_from_authorization(text)
    except AuthorizationError as problem:
        raise DoctorError(f"cannot read a token from the input: {problem.detail}") from None


# --- diagnosis --------------------------------------------------------------------------------------------------
def diagnose(token: str, setup: Setup, keys: KeySource = KeySource(), now: float | None = None) -> list[Report]:
    """One report per authorizer, those in use first."""
    now = time.time() if now is None else now
    reports = []
    order = sorted(setup.authorizers, key=lambda name: name not in setup.in_use)
    for name in order:
        authorizer = setup.authorizers[name]
        routes = [r for r in setup.routes if r.authorizer == name]
        if isinstance(authorizer, NativeSetup):
            report = diagnose_native(token, authorizer, routes, keys, now)
        else:
            report = diagnose_lambda(token, authorizer, routes, keys, now)
        report.in_use = name in setup.in_use
        reports.append(report)
    return reports


def diagnose_lambda(token: str, setup: LambdaSetup, routes: Sequence[Route], keys: KeySource,
                    now: float) -> Report:
    config = setup.config
    findings: list[Finding] = []
    parsed = _parse(token, findings)
    if parsed is None:
        return Report(setup.name, LAMBDA, False, findings, _route_verdicts(routes, LAMBDA, None, findings, config))
    claims = parsed.claims
    iss = claims.get("iss")
    issuer = next((i for i in config.issuers if i.accepts_iss(iss)), None) if isinstance(iss, str) else None
    if issuer is None:
        findings.append(explain_issuer(iss, [i.issuer for i in config.issuers], native=False,
                                       providers={i.issuer: i.provider for i in config.issuers}))
        # the remaining checks against every trusted issuer's audiences, so one run shows every problem
        stand_in = TrustedIssuer(issuer=str(iss), audiences=tuple(a for i in config.issuers for a in i.audiences))
        findings += claim_findings(claims, stand_in, now, config.leeway_seconds)
        return Report(setup.name, LAMBDA, False, findings, _route_verdicts(routes, LAMBDA, claims, findings, config))
    findings.append(Finding("ok", "issuer", f"iss {iss!r} is a trusted issuer ({issuer.provider})"))
    try:
        alg, kid = check_header(parsed.header, issuer)
        findings.append(Finding("ok", "alg", f"alg {alg} is accepted for this issuer"))
    except AuthorizationError as problem:
        findings.append(_header_finding(problem, parsed.header, issuer))
        alg = kid = None
    if alg is not None:
        findings += key_findings(parsed, issuer.jwks_uri or discovery_url(issuer.issuer), issuer.jwks_uri is None,
                                 issuer.ca_bundle, kid, alg, keys, native=False)
    findings += token_use_findings(parsed, issuer)
    findings += claim_findings(claims, issuer, now, config.leeway_seconds)
    return Report(setup.name, LAMBDA, False, findings, _route_verdicts(routes, LAMBDA, claims, findings, config))


def token_use_findings(parsed: UnverifiedToken, issuer: TrustedIssuer) -> list[Finding]:
    """The provider's token-kind rules: refresh tokens (Descope drn DSR, WSO2 rt+jwt) and Cognito's token_use."""
    if not issuer.token_use:
        return []
    try:
        check_token_use(parsed.header, parsed.claims, issuer)
    except TokenUseMismatchError as problem:
        return [Finding("fail", "token-use", problem.detail,
                        "send the access token (Descope: the session token, not the refresh token; WSO2: the "
                        "access_token, not the refresh_token; Cognito: the token_use the issuer is configured for)")]
    return [Finding("ok", "token-use", f"the token is an access token of the kind {issuer.provider} issuers need")]


def diagnose_native(token: str, setup: NativeSetup, routes: Sequence[Route], keys: KeySource,
                    now: float) -> Report:
    findings: list[Finding] = []
    parsed = _parse(token, findings)
    if parsed is None:
        return Report(setup.name, NATIVE, False, findings, _route_verdicts(routes, NATIVE, None, findings))
    header, claims = parsed.header, parsed.claims
    parts = urlsplit(setup.issuer)
    if parts.scheme != "https":
        findings.append(Finding("warn", "issuer", f"the configured issuer {setup.issuer!r} is not https: API Gateway "
                                "cannot fetch its keys (fine for the local stack only)"))
    iss = claims.get("iss")
    if iss == setup.issuer:
        findings.append(Finding("ok", "issuer", f"iss {iss!r} is the configured issuer"))
    else:
        findings.append(explain_issuer(iss, [setup.issuer], native=True))
    alg = header.get("alg")
    if alg in NATIVE_ALGORITHMS:
        findings.append(Finding("ok", "alg", f"alg {alg} is RSA"))
    else:
        findings.append(Finding(
            "fail", "alg", f"alg {str(alg)[:20]!r}: the native JWT authorizer verifies RSA signatures only "
            f"({', '.join(NATIVE_ALGORITHMS)})",
            "sign the tokens with an RSA key (RS256) at the identity provider, or use the lambda authorizer, which "
            "also verifies EC (ES256/384/512)"))
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        findings.append(Finding("fail", "kid", "the token header has no kid; the native JWT authorizer needs one to "
                                "pick the key", "configure the identity provider to put kid in the header, or use the "
                                "lambda authorizer (it accepts a kid-less token when exactly one key fits)"))
    elif alg in NATIVE_ALGORITHMS:
        findings += key_findings(parsed, discovery_url(setup.issuer), True, None, kid, alg, keys, native=True)
    stand_in = TrustedIssuer(issuer=str(iss), audiences=setup.audiences)
    # API Gateway documents no clock-skew leeway: none is assumed here
    findings += claim_findings(claims, stand_in, now, 0)
    return Report(setup.name, NATIVE, False, findings, _route_verdicts(routes, NATIVE, claims, findings))


def _parse(token: str, findings: list[Finding]) -> UnverifiedToken | None:
    try:
        return parse_token(token)
    except AuthorizationError as problem:
        findings.append(Finding("fail", "format", f"not a signed JWT: {problem.detail}",
                                "send the access token itself (three base64url parts separated by dots); an opaque "
                                "token (WSO2's default) must be switched to JWT at the identity provider"))
        return None


def _route_verdicts(routes: Sequence[Route], kind: str, claims: Mapping[str, Any] | None, findings: list[Finding],
                    config: AuthorizerConfig | None = None) -> list[RouteVerdict]:
    token_ok = claims is not None and all(f.status != "fail" for f in findings)
    verdicts = []
    scopes = granted_scopes(claims) if claims is not None else frozenset()
    for route in routes:
        if not token_ok:
            # native: 401 invalid_token; lambda: a Deny policy (HTTP APIs answer 403)
            verdicts.append(RouteVerdict(route.route_key, False, 401 if kind == NATIVE else 403))
            continue
        if kind == NATIVE:
            problem = None
            if route.scopes and scopes.isdisjoint(route.scopes):
                problem = Finding("fail", "scope", f"{route.route_key} needs one of the scopes {list(route.scopes)}; "
                                  f"the token has {sorted(scopes) or 'none'} (scope/scp)", _scope_fix(route.scopes))
        else:
            rule = (config.routes if config else {}).get(route.route_key) or RouteRule(route.route_key)
            denial = rule_problem(rule, claims, scopes)
            problem = _rule_finding(denial, rule, claims, scopes) if denial else None
        if problem is None:
            verdicts.append(RouteVerdict(route.route_key, True, 200))
        else:
            verdicts.append(RouteVerdict(route.route_key, False, 403, [problem]))
    return verdicts


def _rule_finding(denial: AuthorizationError, rule: RouteRule, claims: Mapping[str, Any],
                  scopes: frozenset[str]) -> Finding:
    if isinstance(denial, InsufficientScopeError):
        return Finding("fail", "scope", f"{rule.route_key} needs one of the scopes {list(rule.scopes)}; the token "
                       f"has {sorted(scopes) or 'none'} (scope/scp)", _scope_fix(rule.scopes))
    for name, accepted in rule.claims:
        if rule_problem(RouteRule(rule.route_key, claims=((name, accepted),)), claims, scopes) is None:
            continue
        value = claims.get(name)
        return Finding("fail", "claims", f"{rule.route_key} needs claim {name!r} to be one of {list(accepted)}; the "
                       f"token has {json.dumps(value)[:120] if name in claims else 'no such claim'}",
                       "assign it at the identity provider (a role, permission or custom claim), or change the "
                       "route's claims rule")
    return Finding("fail", denial.reason, denial.detail)


def _scope_fix(needed: Iterable[str]) -> str:
    first = next(iter(needed))
    return (f"ask for it when getting the token (python -m tools token ... --scope {first}) and make sure the "
            "identity provider grants it to this client; or change the route's scopes")


# --- issuer explanations ----------------------------------------------------------------------------------------
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


def _header_finding(problem: AuthorizationError, header: Mapping[str, Any], issuer: TrustedIssuer) -> Finding:
    if isinstance(problem, UnsupportedAlgorithmError):
        alg = str(header.get("alg"))[:20]
        fix = (f"accepted for this issuer: {', '.join(issuer.algorithms)}; add the token's alg to the issuer's "
               "algorithms if the identity provider really signs with it")
        if alg.lower() == "none" or alg.upper().startswith("HS"):
            fix = "none and HS* are never accepted: an unsigned or shared-secret token cannot be verified safely"
        return Finding("fail", "alg", f"alg {alg!r} is not accepted for this issuer", fix)
    if isinstance(problem, CriticalHeaderError):
        return Finding("fail", "alg", f"the header names critical parameters {header.get('crit')!r}",
                       "tokens with a crit header are rejected (RFC 8725): issue them without it")
    if isinstance(problem, TokenTypeError):
        return Finding("fail", "typ", problem.detail, f"the issuer accepts typ {list(issuer.token_types or ())}: "
                       "send an access token, or change the issuer's token_types")
    return Finding("fail", problem.reason, problem.detail)


# --- keys and signature (the authorizer's JWKS cache) ----------------------------------------------------------
class _RecordingFetcher:
    """Fetches as the authorizer does (or serves a local JWKS file), keeping what it got for the explanations."""

    def __init__(self, keys: KeySource) -> None:
        self.keys = keys
        self.fetcher = JsonFetcher(timeout=keys.timeout)
        self.documents: list[tuple[str, dict[str, Any]]] = []

    def get_json(self, url: str, ca_bundle: str | None = None) -> dict[str, Any]:
        if self.keys.jwks_document is not None:
            document = self.keys.jwks_document
        else:
            try:
                document = self.fetcher.get_json(url, ca_bundle)
            except FetchError:
                raise
            except Exception as problem:  # e.g. a ca_bundle path that exists only inside the function
                raise FetchError(url, f"{type(problem).__name__}: {problem}") from None
        self.documents.append((url, document))
        return document

    def where(self, source_url: str) -> str:
        if self.keys.jwks_document is not None:
            return "the --jwks-file"
        return self.documents[-1][0] if self.documents else source_url

    def kids(self) -> list[str]:
        for _, document in reversed(self.documents):
            if isinstance(document.get("keys"), list):
                return [str(k.get("kid")) for k in document["keys"] if isinstance(k, dict) and k.get("kid")]
        return []


def key_findings(parsed: UnverifiedToken, source_url: str, discovery: bool, ca_bundle: str | None,
                 kid: str | None, alg: str, keys: KeySource, *, native: bool) -> list[Finding]:
    if not keys.fetch and keys.jwks_document is None:
        return [Finding("skip", "signature", "keys not fetched (--no-fetch): kid and signature not checked")]
    fetcher = _RecordingFetcher(keys)
    problems: list[str] = []
    cache = JwksCache(source_url, fetcher=fetcher, discovery=discovery and keys.jwks_document is None,
                      ca_bundle=ca_bundle, cooldown=0, log=lambda message, **fields: problems.append(
                          str(fields.get("problem", message))))
    try:
        key = cache.get_key(kid, alg)
    except JwksUnavailableError:
        how = ("API Gateway finds them by OIDC discovery under the issuer URL" if native else
               "set jwks_uri, or make <issuer>/.well-known/openid-configuration reachable")
        return [Finding("fail", "keys", f"no keys could be fetched from {source_url}: {'; '.join(problems)}",
                        f"check the URL and that it is reachable from the authorizer; {how}")]
    except KeyAlgorithmMismatchError as problem:
        return [Finding("fail", "kid", f"kid {kid!r} names a key that does not fit alg {alg}: {problem.detail}",
                        "the token's alg must match the key's type (RSA/EC), curve and alg")]
    except KidNotFoundError as problem:
        if kid is None:
            return [Finding("fail", "kid", f"the token has no kid, and not exactly one held key fits {alg} "
                            f"({problem.detail})", "configure the identity provider to put kid in the header")]
        return [Finding("fail", "kid", f"kid {kid!r} is not in the JWKS at {fetcher.where(source_url)} (it holds: "
                        f"{', '.join(fetcher.kids()) or 'no usable keys'})",
                        "the token was signed by another issuer, project or environment, or with a key not yet "
                        "published; check that the token comes from the configured issuer")]
    try:
        valid = key.verify(parsed.signing_input, parsed.signature)
    except Exception:  # a malformed signature can raise inside the primitive: it does not verify
        valid = False
    findings = [Finding("ok", "kid", f"kid {kid!r} is in the JWKS at {fetcher.where(source_url)}")] if kid else []
    if not valid:
        findings.append(Finding("fail", "signature", "the signature does not verify with the issuer's key for this "
                                "kid", "the token was altered, or signed by a different key that reuses the kid"))
    else:
        findings.append(Finding("ok", "signature", f"signature verifies ({alg})"))
    return findings


# --- claims (the authorizer's check_claims, run until every problem is seen) ----------------------------------
def claim_findings(claims: Mapping[str, Any], issuer: TrustedIssuer, now: float, leeway: float) -> list[Finding]:
    """``check_claims`` stops at the first problem; each one found is neutralized and the check run again."""
    probe = dict(claims)
    if not issuer.accepts_iss(probe.get("iss")):
        probe["iss"] = issuer.issuer  # the issuer is explained on its own
    failed: dict[str, Finding] = {}
    for _ in range(8):
        try:
            check_claims(probe, issuer, now, leeway)
            break
        except ExpiredTokenError:
            failed["expiry"] = _expired(claims["exp"], now, leeway)
            probe["exp"] = now + 3600
        except NotYetValidError:
            failed["not-before"] = Finding("fail", "not-before", f"nbf is {_duration(claims['nbf'] - now)} in the "
                                           f"future (allowed clock skew {leeway:g} s)",
                                           "check the clocks of the identity provider and of this machine")
            probe.pop("nbf")
        except IssuedInFutureError:
            failed["issued-at"] = Finding("fail", "issued-at", f"iat is {_duration(claims['iat'] - now)} in the "
                                          f"future (allowed clock skew {leeway:g} s)",
                                          "check the clocks of the identity provider and of this machine")
            probe.pop("iat")
        except AudienceMismatchError:
            failed["audience"] = _audience(claims, issuer)
            if not issuer.audiences:
                break
            probe["aud"] = issuer.audiences[0]
        except MissingClaimError as problem:
            if probe.get("exp") is None:
                failed["expiry"] = Finding("fail", "expiry", "the token has no exp claim",
                                           "tokens without an expiry are never accepted")
                probe["exp"] = now + 3600
            elif "aud" not in probe and "client_id" not in probe and issuer.audiences:
                failed["audience"] = _audience(claims, issuer)
                probe["aud"] = issuer.audiences[0]
            else:
                failed["claims"] = Finding("fail", "claims", problem.detail)
                break
        except InvalidClaimError as problem:
            failed["claims"] = Finding("fail", "claims", problem.detail, "the identity provider issues a claim of "
                                       "the wrong type; such tokens are rejected")
            break
    findings = list(failed.values())
    if "expiry" not in failed:
        findings.append(Finding("ok", "expiry", f"expires in {_duration(claims['exp'] - now)}"
                                if claims["exp"] > now else
                                f"expired {_duration(now - claims['exp'])} ago, within the {leeway:g} s clock skew"))
    if "audience" not in failed:
        findings.append(Finding("ok", "audience", _audience_text(claims, issuer)))
    return findings


def _expired(exp: float, now: float, leeway: float) -> Finding:
    when = dt.datetime.fromtimestamp(exp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Finding("fail", "expiry", f"expired {_duration(now - exp)} ago (exp {when}; allowed clock skew "
                   f"{leeway:g} s)", "get a fresh token (python -m tools token ...); clients should renew before "
                   "exp")


def _audience(claims: Mapping[str, Any], issuer: TrustedIssuer) -> Finding:
    configured = list(issuer.audiences)
    if "aud" in claims:
        aud = claims["aud"]
        return Finding("fail", "audience", f"aud {json.dumps(aud)} holds none of the configured audiences "
                       f"{configured}", f"add the API's audience to the issuer's audience (e.g. {_first(aud)!r}), "
                       "or ask the identity provider for a token for this API (--audience; Descope: the project ID; "
                       "WSO2: the client ID)")
    if "client_id" in claims:
        return Finding("fail", "audience", f"the token has no aud, and its client_id {claims['client_id']!r} is not "
                       f"one of the configured audiences {configured} (client_id counts only without aud)",
                       f"add {claims['client_id']!r} to the issuer's audience (Cognito access tokens work this way)")
    return Finding("fail", "audience", f"the token has neither aud nor client_id; configured audiences: {configured}",
                   "ask the identity provider for a token with an audience (Descope session tokens carry none: "
                   "create a Descope JWT template that sets aud to the project ID and apply it to session tokens; "
                   "Auth0: pass audience), or use the lambda authorizer, whose descope preset checks aud only when "
                   "it is present")


def _audience_text(claims: Mapping[str, Any], issuer: TrustedIssuer) -> str:
    if "aud" in claims:
        return f"aud {json.dumps(claims['aud'])} holds a configured audience"
    if issuer.client_ids is not None:
        return f"client_id {claims.get('client_id')!r} is one of the configured app clients"
    if "client_id" not in claims and not issuer.require_audience:
        return "no aud and no client_id, as in Descope session tokens: the exact issuer binds the token"
    return f"no aud; client_id {claims.get('client_id')!r} is a configured audience"


def _first(aud: Any) -> str:
    return aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else "")


def _duration(seconds: float) -> str:
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


# --- output -----------------------------------------------------------------------------------------------------
MARKS = {"ok": "ok  ", "fail": "FAIL", "warn": "warn", "skip": "skip"}


def token_summary(token: str, now: float) -> list[str]:
    try:
        parsed = parse_token(token)
    except AuthorizationError as problem:
        return [f"  not a JWT: {problem.detail}"]
    header, claims = parsed.header, parsed.claims
    lines = ["  header  " + " ".join(f"{k}={header[k]}" for k in ("alg", "kid", "typ") if k in header)]
    for name in ("iss", "aud", "client_id", "azp", "sub"):
        if name in claims:
            lines.append(f"  {name:<7} {json.dumps(claims[name])[:200]}")
    scopes = granted_scopes(claims)
    lines.append(f"  scopes  {' '.join(sorted(scopes)) or '(none)'}")
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        when = dt.datetime.fromtimestamp(exp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        relative = f"in {_duration(exp - now)}" if exp > now else f"{_duration(now - exp)} ago"
        lines.append(f"  exp     {when} ({relative})")
    return lines


def render(reports: Sequence[Report], setup: Setup, token: str, now: float) -> str:
    lines = [f"Configuration: {setup.source}", "Token:"] + token_summary(token, now)
    for note in setup.notes:
        lines.append(f"Note: {note}")
    for report in reports:
        verdict = "ACCEPTS the token" if report.accepted else "REJECTS the token"
        lines += ["", f"{report.authorizer}: {verdict}" + ("" if report.in_use else " (not in use)")]
        for finding in report.findings:
            lines.append(f"  [{MARKS[finding.status]}] {finding.topic}: {finding.message}")
            if finding.fix and finding.status != "ok":
                lines.append(f"         fix: {finding.fix}")
        if report.routes:
            lines.append("  routes:")
        for route in report.routes:
            outcome = "allowed" if route.allowed else "denied"
            lines.append(f"    {route.route_key:<28} {outcome} ({route.status})")
            for finding in route.findings:
                lines.append(f"      {finding.message}")
                if finding.fix:
                    lines.append(f"      fix: {finding.fix}")
    public = [r.route_key for r in setup.routes if r.authorizer is None]
    if public:
        lines += ["", f"Public routes (no authorizer): {', '.join(dict.fromkeys(public))}"]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("token", nargs="?", default="-",
                        help='the token, "Bearer <token>", or - to read it from standard input (the default)')
    parser.add_argument("--token-env", metavar="NAME", help="read the token from this environment variable")
    source = parser.add_argument_group("configuration (cdk.json by default)")
    source.add_argument("--cdk-json", default="cdk.json", help="the CDK app's cdk.json (default ./cdk.json)")
    source.add_argument("--api-id", help="a deployed HTTP API: explain against its routes and authorizers")
    source.add_argument("--region", help="the API's region (with --api-id; default: the AWS configuration's)")
    keys = parser.add_argument_group("keys")
    keys.add_argument("--jwks-file", help="check kid and signature against this JWKS JSON file instead of fetching")
    keys.add_argument("--no-fetch", action="store_true", help="do not fetch keys: skip the kid and signature checks")
    keys.add_argument("--timeout", type=float, default=5.0, help="seconds per key fetch (default 5)")
    parser.add_argument("--route", help='exit status for this route only, e.g. "GET /orders"')
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def run(args: argparse.Namespace) -> int:
    try:
        token = clean_token(_read_token(args))
        if args.api_id:
            region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            if not region:
                raise DoctorError("--api-id needs --region (or AWS_REGION)")
            setup = setup_from_api(args.api_id, region)
        else:
            setup = setup_from_cdk_json(args.cdk_json)
        keys = KeySource(fetch=not args.no_fetch, jwks_document=_jwks_file(args.jwks_file), timeout=args.timeout)
    except DoctorError as problem:
        print(f"doctor: {problem}", file=sys.stderr)
        return 2
    now = time.time()
    reports = diagnose(token, setup, keys, now)
    if args.json:
        print(json.dumps({"source": setup.source, "notes": setup.notes,
                          "reports": [dict(asdict(r), accepted=r.accepted) for r in reports]}, indent=2))
    else:
        print(render(reports, setup, token, now))
    return 0 if accepted(reports, args.route) else 1


def accepted(reports: Sequence[Report], route: str | None = None) -> bool:
    """Does every authorizer in use accept the token (and allow ``route``, when given)?"""
    in_use = [r for r in reports if r.in_use] or list(reports)
    if not all(r.accepted for r in in_use):
        return False
    if route is None:
        return True
    verdicts = [v for r in in_use for v in r.routes if v.route_key == route]
    return bool(verdicts) and all(v.allowed for v in verdicts)


def _read_token(args: argparse.Namespace, stdin: Any = None) -> str:
    if args.token_env:
        value = os.environ.get(args.token_env)
        if not value:
            raise DoctorError(f"${args.token_env} is empty")
        return value
    if args.token and args.token != "-":
        return args.token
    stdin = stdin or sys.stdin
    if stdin.isatty():
        raise DoctorError("give the token as an argument, with --token-env NAME, or on standard input")
    return stdin.read()


def _jwks_file(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as problem:
        raise DoctorError(f"cannot read the JWKS file {path}: {problem}") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise DoctorError(f"{path} is not a JWKS (an object with a keys list)")
    return document
