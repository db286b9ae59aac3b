"""The local API Gateway's request pipeline: stage → route → authorizer → integration, as API Gateway runs it.

``LocalHttpApi`` serves one HTTP API of a synthesized stack (read by ``template.py``) on 127.0.0.1: it selects a
route per request (``routing.py``), runs the route's authorizer (``authorizers/``: a Lambda REQUEST authorizer,
payload 1.0 or 2.0, IAM or simple responses, with the result cache; or the native JWT authorizer), then the Lambda
proxy integration (``integration.py``), each function in warm worker processes (``local/awslambda/``). The HTTP
server is ``server.py``, the command line ``cli.py``. Status codes and bodies are API Gateway's, carried by the
error classes of ``errors.py``::

    404 {"message":"Not Found"}               no route (and no $default route)
    401 {"message":"Unauthorized"}            an identity source is missing; JWT invalid (+ www-authenticate)
    403 {"message":"Forbidden"}               Deny policy, isAuthorized false, JWT scopes not met, AWS_IAM route
    500 {"message":"Internal Server Error"}   authorizer or integration function error, malformed response, a
                                              function throttled at its concurrency limit (Lambda's 429)
    503 {"message":"Service Unavailable"}     the integration timeout (TimeoutInMillis, 30 s) passed first

Use it from Python::

    api = LocalHttpApi.from_assembly("cdk.out", "AuthStack", env_overrides={"AUTH_ISSUERS": "[...]"})
    api.start()
    api.url          # "http://127.0.0.1:PORT"
    api.stop()

or ``.venv/bin/python -m local gateway --assembly cdk.out --stack AuthStack [--port 8080]``, which serves until Ctrl-C.

Raw Authorization header values and tokens are never logged; authorizer results are cached under a hash of the
identity-source values.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from local.apigateway.authorizers.jwt_authorizer import bearer_token, claim_as_string, token_scopes, verify_jwt
from local.apigateway.authorizers.jwt_keys import IssuerKeys, fetch_json
from local.apigateway.authorizers.lambda_authorizer import (
    AUTHORIZER_TIMEOUT_SECONDS,
    AuthorizerResultCache,
    authorizer_event_v1,
    authorizer_event_v2,
    parse_authorizer_response,
)
from local.apigateway.cors import add_cors_headers, cors_preflight
from local.apigateway.errors import (
    Forbidden,
    GatewayError,
    InsufficientScope,
    InternalServerError,
    JwtRejected,
    LambdaThrottled,
    MalformedAuthorizerResponse,
    MalformedIntegrationResponse,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)
from local.apigateway.integration import Authorization, integration_event_v1, integration_event_v2, integration_response
from local.apigateway.messages import GatewayRequest, GatewayResponse
from local.apigateway.model import Authorizer, HttpApi, LambdaFunction
from local.apigateway.route_call import RouteCall
from local.apigateway.routing import select_route, stage_for
from local.apigateway.server import GatewayHTTPServer
from local.apigateway.template import load_http_api
from local.awslambda.errors import CallerTimedOut, FunctionError, FunctionThrottled
from local.awslambda.pool import FunctionPool
from local.awslambda.worker import FunctionSpec, LogSink

EnvOverrides = Mapping[str, "str | None | Mapping[str, str | None]"]


def _throttled(error: FunctionThrottled, pool: FunctionPool) -> str:
    """The log line of a throttled call: what Lambda answered and why (never the event)."""
    return (f"Lambda answered {error.status} {error.error_type} ({error.reason}): {pool.limit} invocations of "
            f"{pool.spec.name} already in flight")


def function_environment(function: LambdaFunction, overrides: EnvOverrides | None) -> dict[str, str]:
    """The function's variables with ``overrides`` applied.

    ``{"VAR": "value"}`` sets VAR in every function; ``{"<function>": {"VAR": "value"}}`` in that one, named by
    its construct id (``Echo``), logical id, or function name; ``None`` as a value removes the variable.
    """
    environment = dict(function.environment)
    overrides = overrides or {}
    changes: dict[str, str | None] = {k: v for k, v in overrides.items() if not isinstance(v, Mapping)}
    for key, value in overrides.items():  # function-specific entries win over global ones
        if isinstance(value, Mapping) and key in function.aliases:
            changes.update(value)
    for key, value in changes.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = str(value)
    return environment


class LocalHttpApi:
    """Serves one HTTP API of a synthesized stack on 127.0.0.1.

    - ``env_overrides``: function environment changes (see :func:`function_environment`), e.g. pointing
      ``AUTH_ISSUERS`` at the development issuer;
    - ``jwt_issuer_override``: the issuer JWT authorizers use locally instead of the template's (one URL for all,
      or ``{template issuer: local issuer}``); tokens must then carry the local issuer as ``iss``;
    - ``port``: 0 (default) picks a free port; ``log_sink``: where function logs and the gateway's diagnostics
      go (a path, a text stream, a :class:`LogSink`; default standard error); ``concurrency``: worker processes
      per function at most (default: ``LOCAL_LAMBDA_CONCURRENCY``, else sized for the machine; each function's
      ``ReservedConcurrentExecutions`` caps it and throttles calls beyond it, see ``local/awslambda/pool.py``);
      ``access_log``: one line per request (method, path, status; never headers or query);
    - ``clock`` (monotonic: authorizer cache TTLs, JWKS cooldown) and ``wall_clock`` (token times) are seams
      for tests, as is ``jwks_fetch``.
    """

    def __init__(
        self,
        api: HttpApi,
        *,
        env_overrides: EnvOverrides | None = None,
        jwt_issuer_override: str | Mapping[str, str] | None = None,
        port: int = 0,
        log_sink: LogSink | str | os.PathLike[str] | Any = None,
        concurrency: int | None = None,
        access_log: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        jwks_fetch: Callable[[str], Any] = fetch_json,
    ) -> None:
        self.api = api
        self._port = port
        self._sink = log_sink if isinstance(log_sink, LogSink) else LogSink(log_sink)
        self._access_log = access_log
        self._wall_clock = wall_clock
        self.authorizer_cache = AuthorizerResultCache(clock)
        self.warnings = list(api.warnings)

        self.functions: dict[str, FunctionPool] = {}
        for logical_id, function in api.functions.items():
            environment = function_environment(function, env_overrides)
            for variable, reason in function.unresolved_environment.items():
                if variable not in environment:
                    self.warnings.append(f"function {logical_id}: environment variable {variable} left unset: {reason}")
            if function.code_dir is None or function.code_problem:
                continue  # its routes answer 500, and the reason is in self.warnings
            spec = FunctionSpec(
                name=function.name,
                handler=function.handler,
                code_dir=function.code_dir,
                environment=environment,
                timeout_s=function.timeout_s,
                memory_mb=function.memory_mb,
                runtime=function.runtime,
            )
            self.functions[logical_id] = FunctionPool(spec, self._sink, workers=concurrency,
                                                      limit=function.reserved_concurrency)

        self._issuers: dict[str, str] = {}  # authorizer logical id -> issuer used locally
        self.issuer_keys: dict[str, IssuerKeys] = {}
        for authorizer in api.authorizers.values():
            if authorizer.authorizer_type != "JWT" or not authorizer.jwt_issuer:
                continue
            issuer = authorizer.jwt_issuer
            if isinstance(jwt_issuer_override, str):
                issuer = jwt_issuer_override
            elif jwt_issuer_override and issuer in jwt_issuer_override:
                issuer = jwt_issuer_override[issuer]
            self._issuers[authorizer.logical_id] = issuer
            if issuer not in self.issuer_keys:
                self.issuer_keys[issuer] = IssuerKeys(issuer, fetch=jwks_fetch, clock=clock)

        self._server: GatewayHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_assembly(
        cls,
        assembly_dir: str | os.PathLike[str],
        stack_name: str,
        *,
        api: str | None = None,
        parameters: Mapping[str, str] | None = None,
        **options: Any,
    ) -> LocalHttpApi:
        """Read ``<Stack>.template.json`` and its assets from ``assembly_dir``; ``options`` go to the constructor.
        With a ``port`` given, the template's ``ApiEndpoint`` is this API's URL (an MCP endpoint's resource)."""
        port = options.get("port") or 0
        endpoint = f"http://127.0.0.1:{port}" if port else None
        return cls(load_http_api(assembly_dir, stack_name, api=api, parameters=parameters, api_endpoint=endpoint),
                   **options)

    # -- lifecycle

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the local API is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalHttpApi:
        if self._server is not None:
            return self
        server = GatewayHTTPServer(("127.0.0.1", self._port), self)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="local-http-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for pool in self.functions.values():
            pool.stop()

    def close(self) -> None:
        """Stop serving and close the log sink (if this object opened it)."""
        self.stop()
        self._sink.close()

    def __enter__(self) -> LocalHttpApi:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- one request

    def handle(self, request: GatewayRequest, *, domain_name: str | None = None) -> GatewayResponse:
        """Everything API Gateway does for one request; usable without a socket."""
        try:
            response = self._handle(request, domain_name or request.header("host") or "127.0.0.1")
        except GatewayError as error:  # the one place an error becomes its status and body
            if error.log:
                self.log(f"{request.request_id} {error.log}")
            response = error.response()
        except Exception:  # a bug here must look like API Gateway's 500, and say why in the log
            self.log(f"{request.request_id} unexpected error:\n{traceback.format_exc()}")
            response = InternalServerError().response()
        if self.api.cors:
            add_cors_headers(self.api.cors, request, response)
        response.headers.append(("apigw-requestid", request.request_id))
        return response

    def _handle(self, request: GatewayRequest, domain_name: str) -> GatewayResponse:
        if self.api.cors:
            preflight = cors_preflight(self.api.cors, request)
            if preflight is not None:
                return preflight
        staged = stage_for(self.api.stages, request.raw_path)
        if staged is None:
            raise NotFound()
        stage, path = staged
        match = select_route(self.api.routes, request.method, path)
        if match is None:
            raise NotFound()
        call = RouteCall(self.api, request, stage, path, match, domain_name)
        route = match.route

        authorization: Authorization | None = None
        if route.authorization_type in ("CUSTOM", "JWT"):
            authorizer = self.api.authorizers[route.authorizer or ""]
            if authorizer.authorizer_type == "JWT":
                authorization = self._authorize_jwt(call, authorizer)
            else:
                authorization = self._authorize_lambda(call, authorizer)
        elif route.authorization_type == "AWS_IAM":
            raise Forbidden()
        return self._integrate(call, authorization)

    # -- authorizers

    def _authorize_lambda(self, call: RouteCall, authorizer: Authorizer) -> Authorization:
        identity = call.identity_values(authorizer.identity_sources)
        if identity is None:
            raise Unauthorized()
        cache_key = AuthorizerResultCache.key(authorizer, identity)
        result = self.authorizer_cache.get(cache_key) if authorizer.result_ttl_s > 0 else None
        latency_ms = 0
        if result is None:
            pool = self.functions.get(authorizer.function or "")
            if pool is None:
                raise InternalServerError(f"authorizer {authorizer.name}: its function cannot run locally")
            if authorizer.payload_format_version == "1.0":
                event = authorizer_event_v1(call, identity or None)
            else:
                event = authorizer_event_v2(call, identity or None)
            started = time.monotonic()
            try:
                invocation = pool.invoke(event, caller_timeout_s=AUTHORIZER_TIMEOUT_SECONDS)
                result = parse_authorizer_response(invocation.payload, authorizer)
            except FunctionThrottled as error:
                raise LambdaThrottled(f"authorizer {authorizer.name}: {_throttled(error, pool)}") from error
            except FunctionError as error:
                raise InternalServerError(f"authorizer {authorizer.name} failed: {error.error_type}") from error
            except MalformedAuthorizerResponse as error:
                error.log = f"authorizer {authorizer.name}: malformed response: {error}"
                raise
            latency_ms = int((time.monotonic() - started) * 1000)
            self.authorizer_cache.put(cache_key, result, authorizer.result_ttl_s)
        if not result.allows(call.route_arn):
            raise Forbidden()
        return Authorization(
            kind="lambda", context=result.context, principal_id=result.principal_id, latency_ms=latency_ms
        )

    def _authorize_jwt(self, call: RouteCall, authorizer: Authorizer) -> Authorization:
        identity = call.identity_values(authorizer.identity_sources or ("$request.header.Authorization",))
        if identity is None:
            raise Unauthorized()
        issuer = self._issuers.get(authorizer.logical_id)
        if issuer is None:
            raise InternalServerError(f"JWT authorizer {authorizer.name} has no issuer")
        token = bearer_token(identity[0])
        try:
            claims = verify_jwt(
                token,
                issuer=issuer,
                audiences=authorizer.jwt_audiences,
                keys=self.issuer_keys[issuer],
                now=self._wall_clock(),
            )
        except JwtRejected as rejection:
            rejection.log = f"JWT authorizer {authorizer.name}: {rejection.reason}"
            raise
        scopes = token_scopes(claims)
        if call.route.scopes and not set(call.route.scopes) & set(scopes):
            raise InsufficientScope(call.route.scopes)
        return Authorization(
            kind="jwt",
            claims={name: claim_as_string(value) for name, value in claims.items() if value is not None},
            scopes=scopes if call.route.scopes else None,
        )

    # -- integration

    def _integrate(self, call: RouteCall, authorization: Authorization | None) -> GatewayResponse:
        route_key = call.route.route_key
        integration = self.api.integrations.get(call.route.integration or "")
        if integration is None or integration.problem:
            reason = integration.problem if integration else "the route has no integration"
            raise InternalServerError(f"route {route_key}: {reason}")
        pool = self.functions.get(integration.function or "")
        if pool is None:
            raise InternalServerError(f"route {route_key}: its function cannot run locally")
        if integration.payload_format_version == "1.0":
            event = integration_event_v1(call, authorization)
        else:
            event = integration_event_v2(call, authorization)
        try:
            invocation = pool.invoke(event, caller_timeout_s=integration.timeout_ms / 1000)
        except CallerTimedOut as error:
            timeout = f"integration timed out after {integration.timeout_ms} ms"
            raise ServiceUnavailable(f"route {route_key}: {timeout}") from error
        except FunctionThrottled as error:
            raise LambdaThrottled(f"route {route_key}: {_throttled(error, pool)}") from error
        except FunctionError as error:
            raise InternalServerError(f"route {route_key}: function error {error.error_type}") from error
        try:
            return integration_response(integration.payload_format_version, invocation)
        except MalformedIntegrationResponse as error:
            error.log = f"route {route_key}: malformed Lambda proxy response: {error}"
            raise

    def function_stats(self) -> dict[str, dict[str, int]]:
        """Per function (by name): invocations, cold starts, throttled calls, worker processes that answered."""
        return {pool.spec.name: pool.stats() for pool in self.functions.values()}

    # -- logs

    def log(self, line: str) -> None:
        """A line in the gateway's log (the sink function logs go to too)."""
        self._sink.write_line("gateway", line)

    def log_access(self, request: GatewayRequest, response: GatewayResponse) -> None:
        if self._access_log:
            # The path only: query strings and headers may carry tokens.
            self.log(f'{request.request_id} {request.source_ip} "{request.method} {request.raw_path}" {response.status}')

    def route_table(self) -> list[str]:
        lines = []
        for route in sorted(self.api.routes, key=lambda r: (r.is_default, r.path, r.method)):
            authorizer = self.api.authorizers.get(route.authorizer or "")
            how = route.authorization_type
            if authorizer is not None:
                how += f" {authorizer.name}"
            lines.append(f"  {route.route_key:<40} {how}")
        return lines


