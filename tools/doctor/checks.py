"""The doctor's checks: the authorizer's own (``parse_token``, ``check_header``, ``claim_problems``, the JWKS cache,
``rule_problem``, and on tenant routes ``tenants_of``/``tenant_problem``) run on one token for each authorizer of a
``Setup``, plus API Gateway's native rules (RSA only, ``kid`` required, no clock skew). Every failed check becomes a
``Finding`` through ``explain``; nothing is re-run on patched copies: each denial carries what failed.

    reports = diagnose(token, setup_from_cdk_json("cdk.json"), KeySource(fetch=False))
    reports = diagnose(token, setup, path_parameters={"GET /tenants/{tenantId}/orders": {"tenantId": "A"}})
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from authorizer.config import AuthorizerConfig, RouteRule, TrustedIssuer, discovery_url
from authorizer.errors import (
    AuthorizationError,
    FetchError,
    JwksUnavailableError,
    KeyAlgorithmMismatchError,
    KidNotFoundError,
    TokenUseMismatchError,
)
from authorizer.fetch import JsonFetcher
from authorizer.jwks import FetchResult, JwksCache
from authorizer.rules import granted_scopes, rule_problem
from authorizer.tenancy import path_parameter, tenant_problem, tenants_of
from authorizer.token import UnverifiedToken, check_header, check_token_use, claim_problems, parse_token

from .explain import (
    audience_ok,
    expiry_ok,
    explain_claim,
    explain_header,
    explain_issuer,
    explain_rule,
    explain_tenant,
    tenant_allowed,
)
from .mcp import McpCall, mcp_findings, resource_finding
from .model import (
    LAMBDA,
    NATIVE,
    NATIVE_ALGORITHMS,
    Finding,
    KeySource,
    LambdaSetup,
    NativeSetup,
    Report,
    Route,
    RouteVerdict,
    Setup,
)

_FETCH_KEYS = KeySource()  # the default: fetch each issuer's keys as the authorizer does
#: Route key → the ``pathParameters`` API Gateway would pass for the request checked (``paths.py``).
PathParameters = Mapping[str, Mapping[str, str]]
_MAX_TENANTS_EXPLAINED = 5


def diagnose(token: str, setup: Setup, keys: KeySource = _FETCH_KEYS, now: float | None = None,
             path_parameters: PathParameters | None = None, mcp_call: McpCall | None = None) -> list[Report]:
    """One report per authorizer, those in use first. ``path_parameters``: the request's, per route, so that a
    tenant route is judged for the tenant its ``{param}`` names (without one: for which of the token's tenants).
    ``mcp_call``: the MCP method and name a call to an MCP endpoint names (without one: what the token may call)."""
    now = time.time() if now is None else now
    reports = []
    order = sorted(setup.authorizers, key=lambda name: name not in setup.in_use)
    for name in order:
        authorizer = setup.authorizers[name]
        routes = [r for r in setup.routes if r.authorizer == name]
        if isinstance(authorizer, NativeSetup):
            report = diagnose_native(token, authorizer, routes, keys, now)
        else:
            report = diagnose_lambda(token, authorizer, routes, keys, now, path_parameters, mcp_call)
        report.in_use = name in setup.in_use
        reports.append(report)
    return reports


def diagnose_lambda(token: str, setup: LambdaSetup, routes: Sequence[Route], keys: KeySource,
                    now: float, path_parameters: PathParameters | None = None,
                    mcp_call: McpCall | None = None) -> Report:
    config = setup.config
    findings: list[Finding] = []
    parameters = path_parameters or {}
    parsed = _parse(token, findings)
    if parsed is None:
        return Report(setup.name, LAMBDA, False, findings,
                      _route_verdicts(routes, LAMBDA, None, findings, config, parameters))
    claims = parsed.claims
    iss = claims.get("iss")
    issuer = next((i for i in config.issuers if i.accepts_iss(iss)), None) if isinstance(iss, str) else None
    if issuer is None:
        findings.append(explain_issuer(iss, [i.issuer for i in config.issuers], native=False,
                                       providers={i.issuer: i.provider for i in config.issuers}))
        # the remaining checks against every trusted issuer's audiences, so one run shows every problem
        stand_in = TrustedIssuer(issuer=str(iss), audiences=tuple(a for i in config.issuers for a in i.audiences))
        findings += claim_findings(claims, stand_in, now, config.leeway_seconds)
        return Report(setup.name, LAMBDA, False, findings,
                      _route_verdicts(routes, LAMBDA, claims, findings, config, parameters, mcp_call))
    findings.append(Finding("ok", "issuer", f"iss {iss!r} is a trusted issuer ({issuer.provider})"))
    alg: str | None = None
    kid: str | None = None
    try:
        alg, kid = check_header(parsed.header, issuer)
        findings.append(Finding("ok", "alg", f"alg {alg} is accepted for this issuer"))
    except AuthorizationError as problem:
        findings.append(explain_header(problem, issuer))
    if alg is not None:
        findings += key_findings(parsed, issuer.jwks_uri or discovery_url(issuer.issuer), issuer.jwks_uri is None,
                                 issuer.ca_bundle, kid, alg, keys, native=False)
    findings += token_use_findings(parsed, issuer)
    findings += claim_findings(claims, issuer, now, config.leeway_seconds)
    return Report(setup.name, LAMBDA, False, findings,
                  _route_verdicts(routes, LAMBDA, claims, findings, config, parameters, mcp_call))


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
                    config: AuthorizerConfig | None = None,
                    path_parameters: PathParameters | None = None,
                    mcp_call: McpCall | None = None) -> list[RouteVerdict]:
    """Each route's verdict. Ours: the route's rule, by ``rule_problem``, then its tenant rule (``tenant_findings``);
    native: its authorization scopes, any-of on ``scope``/``scp`` like ours, so the same function judges them."""
    token_ok = claims is not None and all(f.status != "fail" for f in findings)
    verdicts = []
    scopes = granted_scopes(claims) if claims is not None else frozenset()
    for route in routes:
        rule = RouteRule(route.route_key, scopes=route.scopes) if kind == NATIVE else (
            (config.routes if config else {}).get(route.route_key) or RouteRule(route.route_key))
        tenant = None
        if rule.tenant is not None:
            # what the authorizer reads: the event's pathParameters (as API Gateway decoded them)
            tenant = path_parameter({"pathParameters": (path_parameters or {}).get(route.route_key)},
                                    rule.tenant.param)
        if claims is None or not token_ok:
            # native: 401 invalid_token; lambda: a Deny policy (HTTP APIs answer 403). On an MCP endpoint, an
            # audience that is not the resource is said as such (the authorizer's resource_mismatch).
            resource = resource_finding(rule, claims) if rule.mcp is not None and claims is not None else None
            refused = [resource] if resource is not None and resource.status == "fail" else []
            verdicts.append(RouteVerdict(route.route_key, False, 401 if kind == NATIVE else 403, refused[:1],
                                         tenant=tenant))
            continue
        denial = rule_problem(rule, claims, scopes)
        route_findings = [] if denial is None else [explain_rule(route.route_key, denial)]
        if rule.tenant is not None:
            route_findings += tenant_findings(rule, claims, tenant)
        if rule.mcp is not None and config is not None:
            issuer = next((i for i in config.issuers if i.accepts_iss(claims.get("iss"))), None)
            route_findings += mcp_findings(rule, config.routes, claims, issuer, mcp_call)
        allowed = all(f.status != "fail" for f in route_findings)
        verdicts.append(RouteVerdict(route.route_key, allowed, 200 if allowed else 403, route_findings, tenant))
    return verdicts


def tenant_findings(rule: RouteRule, claims: Mapping[str, Any], tenant: str | None) -> list[Finding]:
    """The tenant rule of ``rule``, judged as the authorizer judges it (``tenants_of``, ``tenant_problem``).

    ``tenant``: the request's (``pathParameters``); None: each of the token's tenants is judged, and the route is
    allowed for those that pass (any other tenant is refused)."""
    assert rule.tenant is not None
    tenants = tenants_of(claims, rule.tenant.claim)
    if tenant is not None or not tenants.grants:  # one decision: the request's tenant, or no tenant to try
        problem = tenant_problem(rule, tenants, tenant)
        if problem is not None:
            return [explain_tenant(rule, problem, tenant, tenants, claims)]
        return [tenant_allowed(rule, tenant, [])]
    problems = {held: tenant_problem(rule, tenants, held) for held in sorted(tenants.grants)}
    allowed = [held for held, problem in problems.items() if problem is None]
    if allowed:
        return [tenant_allowed(rule, None, allowed)]
    failed = [explain_tenant(rule, problem, held, tenants, claims)
              for held, problem in problems.items() if problem is not None]
    if len(failed) > _MAX_TENANTS_EXPLAINED:
        more = len(failed) - _MAX_TENANTS_EXPLAINED
        failed = failed[:_MAX_TENANTS_EXPLAINED] + [Finding("fail", "tenant", f"... and {more} more tenants alike")]
    return failed


class _RecordingFetcher(JsonFetcher):
    """Fetches as the authorizer does (or serves a local JWKS file), keeping what it got for the explanations."""

    def __init__(self, keys: KeySource) -> None:
        super().__init__(timeout=keys.timeout)
        self.keys = keys
        self.documents: list[tuple[str, dict[str, Any]]] = []

    def get_json(self, url: str, ca_bundle: str | None = None) -> dict[str, Any]:
        if self.keys.jwks_document is not None:
            document = self.keys.jwks_document
        else:
            try:
                document = super().get_json(url, ca_bundle)
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
    fetches: list[FetchResult] = []
    cache = JwksCache(source_url, fetcher=fetcher, discovery=discovery and keys.jwks_document is None,
                      ca_bundle=ca_bundle, cooldown=0, on_fetch=fetches.append)
    try:
        key = cache.get_key(kid, alg)
    except JwksUnavailableError:
        how = ("API Gateway finds them by OIDC discovery under the issuer URL" if native else
               "set jwks_uri, or make <issuer>/.well-known/openid-configuration reachable")
        why = "; ".join(result.problem for result in fetches if result.problem)
        return [Finding("fail", "keys", f"no keys could be fetched from {source_url}: {why}",
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


def claim_findings(claims: Mapping[str, Any], issuer: TrustedIssuer, now: float, leeway: float) -> list[Finding]:
    """Every claim problem ``claim_problems`` lists (the first is what the authorizer denies for), one finding per
    topic; ``iss`` is explained on its own. Expiry and audience are reported as passing when they do."""
    failed: dict[str, Finding] = {}
    for problem in claim_problems(claims, issuer, now, leeway):
        if problem.claim != "iss":
            finding = explain_claim(problem, claims, issuer, now, leeway)
            failed.setdefault(finding.topic, finding)
    findings = list(failed.values())
    if "expiry" not in failed:
        findings.append(Finding("ok", "expiry", expiry_ok(claims["exp"], now, leeway)))
    if "audience" not in failed:
        findings.append(Finding("ok", "audience", audience_ok(claims, issuer)))
    return findings
