"""``Authorizer.authorize``: one API Gateway authorizer event → the response its shape needs.

| event                   | valid, route allowed       | valid, route rule not met   | no or invalid token        |
|-------------------------|----------------------------|-----------------------------|----------------------------|
| HTTP API 2.0, ``iam``   | Allow stage (+ route Denys) | same + Deny this request's ARN | Deny stage              |
| HTTP API 2.0, ``simple``| ``isAuthorized: true``     | ``isAuthorized: false``     | ``isAuthorized: false``    |
| HTTP API 1.0            | Allow stage (+ route Denys) | same + Deny this request's ARN | Deny stage             |
| REST TOKEN / REQUEST    | Allow stage (+ route Denys) | same policy (403)          | ``Exception("Unauthorized")`` (401) |

With tenant rules configured (``authorizer.tenancy``), an IAM answer decided on a tenant route, or on an event that
names no route, is an allow-list of what the token may call (its tenants substituted into the tenant routes); one
decided on another route also denies every tenant route. A tenant route's tenant is ``pathParameters``' value.

Decisions are pure given the verifier; logging goes through the injected logger and never holds the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .config import AuthorizerConfig, RouteRule, load_config
from .errors import AuthorizationError, MalformedEventError, MissingTokenError
from .events import HTTP_V2, REST_REQUEST, REST_TOKEN, AuthRequest, read_event
from .fetch import JsonFetcher
from .policy import MethodArn, allow_policy, deny_policy, encode_context, simple_response
from .reuse import SHARED
from .route_guard import RouteGuard
from .rules import NOTHING_UNMET, RuleBook
from .text import log_fields, log_text
from .token import parse_token
from .verifier import TokenVerifier, VerifiedToken, Verifier

if TYPE_CHECKING:
    from .mcp_guard import McpGuard
    from .tenant_guard import TenantGuard

_REST_SHAPES = (REST_TOKEN, REST_REQUEST)


class Unauthorized(Exception):
    """What a REST authorizer raises for a 401. API Gateway matches the message exactly."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


#: Called once per decision: (outcome "allow" | "deny", reason code or None, the request shape).
DecisionObserver = Callable[[str, "str | None", str], None]


class Authorizer:
    def __init__(self, config: AuthorizerConfig, *, verifier: Verifier | None = None, logger: Any = None,
                 observe: DecisionObserver | None = None) -> None:
        self.config = config
        self.logger = logger
        self.observe = observe or (lambda outcome, reason, shape: None)
        self.routes: Mapping[str, RouteRule] = config.routes
        self._cookie = config.token_cookie
        self._simple = config.response == "simple"
        with_tenants = any(r.tenant for r in config.routes.values())
        self._rules = RuleBook(config.routes.values())
        self._mcp: McpGuard | None = None
        if any(r.mcp for r in config.routes.values()):  # imported only for a configuration with an MCP route
            from .mcp_guard import McpGuard

            self._mcp = McpGuard(config.routes)
        self._routes = RouteGuard(config.routes, tenants=with_tenants,
                                  scoped=self._mcp.scoped_routes if self._mcp is not None else frozenset())
        self._tenants: TenantGuard | None = None
        if with_tenants:  # imported only for a configuration with tenant rules: the others' cold start skips it
            from .tenant_guard import TenantGuard

            self._tenants = TenantGuard(config.routes, self._routes.overlaps)
        # Decided once: even a skipped logger.debug call costs about a microsecond on every allowed request.
        self._log_allows = logger is not None and logger.isEnabledFor(logging.DEBUG)
        self.verifier = verifier or TokenVerifier(
            config.issuers, fetcher=JsonFetcher(timeout=config.jwks_timeout_seconds),
            leeway=config.leeway_seconds, max_age=config.jwks_max_age_seconds,
            cooldown=config.jwks_cooldown_seconds, max_stale=config.jwks_max_stale_seconds,
            log=self._log_warning)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], **kwargs: Any) -> Authorizer:
        return cls(load_config(environ), **kwargs)

    def prefetch(self) -> None:
        self.verifier.prefetch()

    def authorize(self, event: Any, request_id: str | None = None) -> dict[str, Any]:
        request = read_event(event, self._cookie)
        arn = MethodArn.parse(request.arn)
        simple = self._simple and request.shape == HTTP_V2
        try:
            if request.token is None:  # read_event gives a token, or the problem that kept it from one
                raise request.problem or MissingTokenError("the event carries no token")
            verified = self.verifier.verify_token(request.token)
            if arn is None and not simple:
                raise MalformedEventError("the event has no usable method or route ARN")
        except AuthorizationError as denial:
            if self._mcp is not None:
                denial = self._mcp.relabel(denial, request.route_key)
            self._log_denial(denial, request, request_id)
            self.observe("deny", denial.reason, request.shape)
            if request.shape in _REST_SHAPES:
                raise Unauthorized() from None
            return simple_response(False) if simple else deny_policy(arn)

        unmet = self._rules.unmet(verified.claims) if self.routes else NOTHING_UNMET
        verdict = self._routes.decide(request, event, arn, unmet, verified.claims, simple)
        route_problem = verdict.problem
        if self._mcp is not None and route_problem is None:
            route_problem = self._mcp.decide(event, request.route_key, verified, verdict.scope)
        dropped: list[str] = []
        context = encode_context(verified.claims, dropped, known_clean=verified.claims_clean)
        tenants = self._tenants
        if tenants is not None:
            scope = verdict.scope or SHARED
            decision = tenants.no_decision
            if route_problem is None:
                decision = tenants.decide(event, request.route_key, None if simple else arn, request.arn,
                                          verified.claims, scope)
                route_problem = decision.problem
                if decision.context:
                    context.update(decision.context)
        if dropped and self.logger is not None:
            self.logger.warning("claims left out of the context: they hold text that is not valid UTF-8",
                                **log_fields({"claims": dropped, "request_id": request_id}))
        if route_problem is not None:
            self._log_denial(route_problem, request, request_id, verified)
            self.observe("deny", route_problem.reason, request.shape)
            if simple:
                return simple_response(False)
        else:
            self.observe("allow", None, request.shape)
            if self._log_allows:
                self.logger.debug("allowed", **log_fields({
                    "iss": verified.issuer.issuer, "kid": verified.kid, "sub": verified.claims.get("sub"),
                    "route": request.route_key}))
        if simple or arn is None:  # without an ARN only a simple response gets here (checked above)
            return simple_response(True, context)
        # The same cache-safe policy whether or not this route is allowed: its Denys cover the routes as API
        # Gateway names them (but those spared: see route_guard); a request refused on the route API Gateway matched
        # also gets a Deny on its exact ARN.
        deny_request = request.arn if route_problem is not None and request.route_key is not None else None
        if tenants is not None:
            answer, left_out = tenants.policy(request.route_key, arn, verified.principal_id, verified.claims,
                                              unmet, context, decision, deny_request, scope, verdict.spared)
            if left_out and self._log_allows:  # harmless when tenant routes are decided per request (the construct)
                self.logger.debug("the token has more tenants than a policy carries: those left out are denied if "
                                  "this answer is cached and reused", **log_fields(
                                      {"left_out": left_out, "request_id": request_id,
                                       "sub": verified.claims.get("sub")}))
            return answer
        if verdict.spared:
            return allow_policy(arn, verified.principal_id, [r for r in unmet if r.route_key not in verdict.spared],
                                context, deny_request=deny_request)
        return allow_policy(arn, verified.principal_id, unmet, context, deny_request=deny_request)

    def _log_denial(self, denial: AuthorizationError, request: AuthRequest, request_id: str | None,
                    verified: VerifiedToken | None = None) -> None:
        if self.logger is None:
            return
        fields: dict[str, Any] = {"reason": denial.reason, "detail": denial.detail, "shape": request.shape,
                                  "route": request.route_key, "request_id": request_id}
        if denial.claim is not None:  # the name only: values come from the token, and only iss/kid/sub are logged
            fields["claim"] = denial.claim
        if verified is not None:
            fields.update(iss=verified.issuer.issuer, kid=verified.kid, sub=verified.claims.get("sub"))
        elif request.token is not None:
            fields.update(_peek(request.token))
        # Token- and event-derived text is made encodable here, so no token can make this line fail.
        self.logger.info("denied", **log_fields(fields))

    def _log_warning(self, message: str, **fields: Any) -> None:
        if self.logger is not None:
            self.logger.warning(message, **log_fields(fields))


def _peek(token: str) -> dict[str, Any]:
    """``iss``, ``kid`` and ``sub`` of a token that failed verification, for the log. Never the token itself."""
    try:
        parsed = parse_token(token)
    except AuthorizationError:
        return {}
    return {name: log_text(source.get(name)) for name, source in
            (("iss", parsed.claims), ("kid", parsed.header), ("sub", parsed.claims))}
