"""The reference composition: the authorizer's stages in their plain forms, chained as DESIGN.md draws them, with
nothing remembered and nothing compiled. The differential test (``test_compiled_equals_reference.py``) holds the
production ``Authorizer`` — whose stages are built at cold start for their configuration and remember what they may
(decoded headers, verified tokens, the rules a scope misses, policy statements, metrics templates) — to the same
answer, logs and metrics as this, for any event, token and configuration.

Plain forms used here: ``read_any_event`` (not ``read_event``'s fast path), a parse that decodes header and payload
with ``json.loads`` every time, ``check_claims`` (not ``claims_check``), ``unmet_rules`` (not ``RuleBook``),
policies built statement by statement, ``encode_context``'s general loop and the metrics' general ``_write``. The
decisions that have no second form (``RouteGuard``, ``TenantGuard``, the JWKS cache, the header and token-use rules)
are the same objects: the test is of what compiling and remembering do, not of those.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from authorizer import token as token_module
from authorizer.authorize import Authorizer, Unauthorized
from authorizer.errors import (
    AuthorizationError,
    BadSignatureError,
    MalformedEventError,
    MalformedTokenError,
    MissingClaimError,
    MissingTokenError,
    TokenTooLargeError,
    UnknownIssuerError,
)
from authorizer.events import HTTP_V2, REST_REQUEST, REST_TOKEN, read_any_event
from authorizer.policy import (
    MethodArn,
    deny_policy,
    encode_context,
    request_resource,
    route_resource,
    simple_response,
    statement,
)
from authorizer.reuse import SHARED
from authorizer.rules import NOTHING_UNMET, Unmet, unmet_rules
from authorizer.text import clean_text, log_fields
from authorizer.token import (
    MAX_TOKEN_LENGTH,
    UnverifiedToken,
    check_claims,
    check_header,
    check_token_use,
    for_resource_only,
)
from authorizer.verifier import TokenVerifier, VerifiedToken


def plain_parse(token: str) -> UnverifiedToken:
    """``parse_token`` without its remembered headers and its scanner shortcut: the same checks and messages (its own
    base64url helper), each segment decoded and parsed with ``json.loads`` every time."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenTooLargeError(f"token of {len(token)} characters exceeds {MAX_TOKEN_LENGTH}")
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedTokenError("the token is not ASCII") from None
    segments = raw.translate(token_module._TO_STANDARD_ALPHABET).split(b".")
    if len(segments) != 3:
        raise MalformedTokenError(f"expected 3 segments, got {len(segments)}"
                                  + (" (encrypted JWE tokens are not accepted)" if len(segments) == 5 else ""))
    header = _plain_object(token_module._b64decode(segments[0], "header"), "header")
    payload = token_module._b64decode(segments[1], "payload")
    claims = _plain_object(payload, "payload")
    signature = token_module._b64decode(segments[2], "signature")
    if not signature:
        raise MalformedTokenError("the token is not signed")
    clean = b"\\ud" not in payload and b"\\uD" not in payload
    return UnverifiedToken(header, claims, raw[:len(segments[0]) + 1 + len(segments[1])], signature, clean)


def _plain_object(data: bytes, part: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        raise MalformedTokenError(f"{part} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedTokenError(f"{part} is not a JSON object")
    return value


def plain_verify(verifier: TokenVerifier, token: str) -> VerifiedToken:
    """``TokenVerifier.verify_token`` with nothing remembered: its JWKS caches, every other step in plain form."""
    now = verifier.clock()
    parsed = plain_parse(token)
    iss = parsed.claims.get("iss")
    if iss is None:
        raise MissingClaimError("iss is required", claim="iss", expected="a trusted issuer")
    trusted = verifier._trusted.get(iss) if isinstance(iss, str) else None
    if trusted is None:
        trusted = next((t for t in verifier._by_prefix if t[0].accepts_iss(iss)), None)
        if trusted is None:
            raise UnknownIssuerError("iss is not a trusted issuer", claim="iss", expected=tuple(verifier.issuers),
                                     actual=iss)
    issuer, cache, _ = trusted
    alg, kid = check_header(parsed.header, issuer)
    key = cache.get_key(kid, alg)
    try:
        valid = key.verify(parsed.signing_input, parsed.signature)
    except Exception:
        valid = False
    if not valid:
        raise BadSignatureError("signature does not verify with the issuer's key")
    if issuer.token_use:
        check_token_use(parsed.header, parsed.claims, issuer)
    check_claims(parsed.claims, issuer, now, verifier.leeway)
    return VerifiedToken(parsed.claims, issuer, kid, alg, parsed.claims_clean,
                         for_resource_only(parsed.claims, issuer))


def plain_allow_policy(arn: MethodArn, principal_id: str, denied: Any, context: dict[str, Any],
                       deny_request: str | None) -> dict[str, Any]:
    statements = [statement("Allow", arn.stage_prefix + "/*")]
    statements += [statement("Deny", route_resource(arn.stage_prefix, rule.route_key)) for rule in denied]
    if deny_request is not None:
        statements.append(statement("Deny", request_resource(arn.stage_prefix, deny_request)))
    return {"principalId": clean_text(principal_id),
            "policyDocument": {"Version": "2012-10-17", "Statement": statements}, "context": dict(context)}


def reference_authorize(authorizer: Authorizer, verifier: TokenVerifier, event: Any,
                        request_id: str | None = None) -> dict[str, Any]:
    """``authorizer``'s decision for ``event``, through the plain stages (its route and tenant guards, its logger and
    observer are shared; ``verifier`` holds the same JWKS caches and clock, and remembers nothing)."""
    config = authorizer.config
    request = read_any_event(event, config.token_cookie)
    arn = MethodArn.parse(request.arn)
    simple = config.response == "simple" and request.shape == HTTP_V2
    try:
        if request.token is None:
            raise request.problem or MissingTokenError("the event carries no token")
        verified = plain_verify(verifier, request.token)
        if arn is None and not simple:
            raise MalformedEventError("the event has no usable method or route ARN")
    except AuthorizationError as denial:
        if authorizer._mcp is not None:
            denial = authorizer._mcp.relabel(denial, request.route_key)
        authorizer._log_denial(denial, request, request_id)
        authorizer.observe("deny", denial.reason, request.shape)
        if request.shape in (REST_TOKEN, REST_REQUEST):
            raise Unauthorized() from None
        return simple_response(False) if simple else deny_policy(arn)
    rules = tuple(unmet_rules(config.routes.values(), verified.claims))
    unmet = Unmet(rules) if rules else NOTHING_UNMET
    verdict = authorizer._routes.decide(request, event, arn, unmet, verified.claims, simple)
    problem = verdict.problem
    if authorizer._mcp is not None and problem is None:
        problem = authorizer._mcp.decide(event, request.route_key, verified, verdict.scope)
    dropped: list[str] = []
    context = encode_context(verified.claims, dropped, known_clean=False)
    tenants = authorizer._tenants
    decision = None
    scope = verdict.scope or SHARED
    if tenants is not None:
        decision = tenants.no_decision
        if problem is None:
            decision = tenants.decide(event, request.route_key, None if simple else arn, request.arn,
                                      verified.claims, scope)
            problem = decision.problem
            if decision.context:
                context.update(decision.context)
    if dropped and authorizer.logger is not None:
        authorizer.logger.warning("claims left out of the context: they hold text that is not valid UTF-8",
                                  **log_fields({"claims": dropped, "request_id": request_id}))
    if problem is not None:
        authorizer._log_denial(problem, request, request_id, verified)
        authorizer.observe("deny", problem.reason, request.shape)
        if simple:
            return simple_response(False)
    else:
        authorizer.observe("allow", None, request.shape)
        if authorizer.logger is not None and authorizer.logger.isEnabledFor(logging.DEBUG):
            authorizer.logger.debug("allowed", **log_fields({
                "iss": verified.issuer.issuer, "kid": verified.kid, "sub": verified.claims.get("sub"),
                "route": request.route_key}))
    if simple or arn is None:
        return simple_response(True, context)
    deny_request = request.arn if problem is not None and request.route_key is not None else None
    if tenants is not None:
        assert decision is not None
        answer, _ = tenants.policy(request.route_key, arn, verified.principal_id, verified.claims, unmet, context,
                                   decision, deny_request, scope, verdict.spared)
        return answer
    denied = [rule for rule in unmet if rule.route_key not in verdict.spared]
    return plain_allow_policy(arn, verified.principal_id, denied, context, deny_request)
