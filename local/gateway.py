"""A local API Gateway HTTP API: serves a synthesized stack's HTTP API on 127.0.0.1, as API Gateway would.

It reads the cloud assembly (``local/template.py``), selects a route per request, runs the route's authorizer
(a Lambda REQUEST authorizer, payload 1.0 or 2.0, IAM or simple responses, with the result cache; or the native JWT
authorizer), then the Lambda proxy integration (payload 2.0 or 1.0), each function in a warm worker process
(``local/lambda_worker.py``). Status codes and bodies are API Gateway's::

    404 {"message":"Not Found"}               no route (and no $default route)
    401 {"message":"Unauthorized"}            an identity source is missing; JWT invalid (+ www-authenticate)
    403 {"message":"Forbidden"}               Deny policy, isAuthorized false, JWT scopes not met, AWS_IAM route
    500 {"message":"Internal Server Error"}   authorizer or integration function error, malformed response
    503 {"message":"Service Unavailable"}     the integration timeout (TimeoutInMillis, 30 s) passed first

This module is the request pipeline (stage → route → authorizer → integration), ``LocalHttpApi``, the HTTP server
and the command line. The decisions live beside it: ``local/iam.py`` (policy evaluation),
``local/lambda_authorizer.py`` (authorizer events, responses, result cache), ``local/jwt_authorizer.py`` and
``local/jwt_keys.py`` (the native JWT authorizer), ``local/integration.py`` (proxy events and response mapping),
``local/cors.py``, ``local/route_call.py`` (the routed request) and ``local/gateway_messages.py``.

Use it from Python::

    api = LocalHttpApi.from_assembly("cdk.out", "AuthStack", env_overrides={"AUTH_ISSUERS": "[...]"})
    api.start()
    api.url          # "http://127.0.0.1:PORT"
    api.stop()

or ``python -m local.gateway --assembly cdk.out --stack AuthStack [--port 8080]``, which serves until Ctrl-C.

Raw Authorization header values and tokens are never logged; authorizer results are cached under a hash of the
identity-source values.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping, Sequence

from local.cors import add_cors_headers, cors_preflight
from local.gateway_errors import JwtRejected, KeysUnavailable, MalformedAuthorizerResponse, MalformedIntegrationResponse
from local.gateway_messages import (
    GatewayRequest,
    GatewayResponse,
    forbidden,
    internal_error,
    message_response,
    not_found,
    service_unavailable,
    unauthorized,
)
from local.iam import policy_allows
from local.integration import Authorization, integration_event_v1, integration_event_v2, integration_response
from local.jwt_authorizer import bearer_token, claim_as_string, token_scopes, verify_jwt
from local.jwt_keys import IssuerKeys, fetch_json
from local.lambda_authorizer import (
    AUTHORIZER_TIMEOUT_SECONDS,
    AuthorizerResultCache,
    LambdaAuthorizerResult,
    authorizer_event_v1,
    authorizer_event_v2,
    parse_authorizer_response,
)
from local.lambda_worker import CallerTimedOut, FunctionError, FunctionPool, FunctionSpec, LogSink
from local.route_call import RouteCall
from local.template import DEFAULT_STAGE, Authorizer, HttpApi, LambdaFunction, Stage, load_http_api, select_route

# Callers and tests import these from here, as before the gateway was split into modules.
__all__ = [
    "GatewayRequest",
    "GatewayResponse",
    "IssuerKeys",
    "KeysUnavailable",
    "LambdaAuthorizerResult",
    "LocalHttpApi",
    "MalformedAuthorizerResponse",
    "MalformedIntegrationResponse",
    "add_cors_headers",
    "bearer_token",
    "claim_as_string",
    "cors_preflight",
    "fetch_json",
    "function_environment",
    "integration_response",
    "main",
    "parse_authorizer_response",
    "policy_allows",
    "token_scopes",
]

# API Gateway's quota for a request body.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024


EnvOverrides = Mapping[str, "str | None | Mapping[str, str | None]"]


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
      per function; ``access_log``: one line per request (method, path, status; never headers or query);
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
        concurrency: int = 1,
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
            self.functions[logical_id] = FunctionPool(spec, self._sink, size=concurrency)

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

        self._server: ThreadingHTTPServer | None = None
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
    ) -> "LocalHttpApi":
        """Read ``<Stack>.template.json`` and its assets from ``assembly_dir``; ``options`` go to the constructor."""
        return cls(load_http_api(assembly_dir, stack_name, api=api, parameters=parameters), **options)

    # -- lifecycle

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the local API is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LocalHttpApi":
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", self._port), _RequestHandler)
        server.api = self
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

    def __enter__(self) -> "LocalHttpApi":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- one request

    def handle(self, request: GatewayRequest, *, domain_name: str | None = None) -> GatewayResponse:
        """Everything API Gateway does for one request; usable without a socket."""
        try:
            response = self._handle(request, domain_name or request.header("host") or "127.0.0.1")
        except Exception:  # a bug here must look like API Gateway's 500, and say why in the log
            self._log(f"{request.request_id} unexpected error:\n{traceback.format_exc()}")
            response = internal_error()
        if self.api.cors:
            add_cors_headers(self.api.cors, request, response)
        response.headers.append(("apigw-requestid", request.request_id))
        return response

    def _handle(self, request: GatewayRequest, domain_name: str) -> GatewayResponse:
        if self.api.cors:
            preflight = cors_preflight(self.api.cors, request)
            if preflight is not None:
                return preflight
        staged = self._stage_for(request.raw_path)
        if staged is None:
            return not_found()
        stage, path = staged
        match = select_route(self.api.routes, request.method, path)
        if match is None:
            return not_found()
        call = RouteCall(self.api, request, stage, path, match, domain_name)
        route = match.route

        authorization: Authorization | None = None
        if route.authorization_type in ("CUSTOM", "JWT"):
            authorizer = self.api.authorizers[route.authorizer or ""]
            if authorizer.authorizer_type == "JWT":
                outcome = self._authorize_jwt(call, authorizer)
            else:
                outcome = self._authorize_lambda(call, authorizer)
            if isinstance(outcome, GatewayResponse):
                return outcome
            authorization = outcome
        elif route.authorization_type == "AWS_IAM":
            return forbidden()
        return self._integrate(call, authorization)

    def _stage_for(self, raw_path: str) -> tuple[Stage, str] | None:
        """The stage a path addresses (a named stage by its first segment, else $default) and the rest of it."""
        default = None
        for stage in self.api.stages:
            if stage.name == DEFAULT_STAGE:
                default = stage
                continue
            prefix = "/" + stage.name
            if raw_path == prefix or raw_path.startswith(prefix + "/"):
                return stage, raw_path[len(prefix):] or "/"
        return (default, raw_path) if default is not None else None

    # -- authorizers

    def _authorize_lambda(self, call: RouteCall, authorizer: Authorizer) -> Authorization | GatewayResponse:
        identity = call.identity_values(authorizer.identity_sources)
        if identity is None:
            return unauthorized()
        cache_key = AuthorizerResultCache.key(authorizer, identity)
        result = self.authorizer_cache.get(cache_key) if authorizer.result_ttl_s > 0 else None
        latency_ms = 0
        if result is None:
            pool = self.functions.get(authorizer.function or "")
            if pool is None:
                self._log(f"{call.request.request_id} authorizer {authorizer.name}: its function cannot run locally")
                return internal_error()
            if authorizer.payload_format_version == "1.0":
                event = authorizer_event_v1(call, identity or None)
            else:
                event = authorizer_event_v2(call, identity or None)
            started = time.monotonic()
            try:
                invocation = pool.invoke(event, caller_timeout_s=AUTHORIZER_TIMEOUT_SECONDS)
                result = parse_authorizer_response(invocation.payload, authorizer)
            except FunctionError as error:
                self._log(f"{call.request.request_id} authorizer {authorizer.name} failed: {error.error_type}")
                return internal_error()
            except MalformedAuthorizerResponse as error:
                self._log(f"{call.request.request_id} authorizer {authorizer.name}: malformed response: {error}")
                return internal_error()
            latency_ms = int((time.monotonic() - started) * 1000)
            self.authorizer_cache.put(cache_key, result, authorizer.result_ttl_s)
        if not result.allows(call.route_arn):
            return forbidden()
        return Authorization(
            kind="lambda", context=result.context, principal_id=result.principal_id, latency_ms=latency_ms
        )

    def _authorize_jwt(self, call: RouteCall, authorizer: Authorizer) -> Authorization | GatewayResponse:
        identity = call.identity_values(authorizer.identity_sources or ("$request.header.Authorization",))
        if identity is None:
            return unauthorized()
        issuer = self._issuers.get(authorizer.logical_id)
        if issuer is None:
            self._log(f"{call.request.request_id} JWT authorizer {authorizer.name} has no issuer")
            return internal_error()
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
            self._log(f"{call.request.request_id} JWT authorizer {authorizer.name}: {rejection.reason}")
            challenge = f'Bearer scope="" error="invalid_token" error_description="{rejection.description}"'
            return unauthorized(("www-authenticate", challenge))
        scopes = token_scopes(claims)
        if call.route.scopes and not set(call.route.scopes) & set(scopes):
            challenge = (
                f'Bearer scope="{" ".join(call.route.scopes)}" error="insufficient_scope" '
                'error_description="the token does not have the required scopes"'
            )
            return forbidden(("www-authenticate", challenge))
        return Authorization(
            kind="jwt",
            claims={name: claim_as_string(value) for name, value in claims.items() if value is not None},
            scopes=scopes if call.route.scopes else None,
        )

    # -- integration

    def _integrate(self, call: RouteCall, authorization: Authorization | None) -> GatewayResponse:
        request_id = call.request.request_id
        integration = self.api.integrations.get(call.route.integration or "")
        if integration is None or integration.problem:
            reason = integration.problem if integration else "the route has no integration"
            self._log(f"{request_id} route {call.route.route_key}: {reason}")
            return internal_error()
        pool = self.functions.get(integration.function or "")
        if pool is None:
            self._log(f"{request_id} route {call.route.route_key}: its function cannot run locally")
            return internal_error()
        if integration.payload_format_version == "1.0":
            event = integration_event_v1(call, authorization)
        else:
            event = integration_event_v2(call, authorization)
        try:
            invocation = pool.invoke(event, caller_timeout_s=integration.timeout_ms / 1000)
            return integration_response(integration.payload_format_version, invocation)
        except CallerTimedOut:
            self._log(f"{request_id} route {call.route.route_key}: integration timed out after {integration.timeout_ms} ms")
            return service_unavailable()
        except FunctionError as error:
            self._log(f"{request_id} route {call.route.route_key}: function error {error.error_type}")
            return internal_error()
        except MalformedIntegrationResponse as error:
            self._log(f"{request_id} route {call.route.route_key}: malformed Lambda proxy response: {error}")
            return internal_error()

    # -- logs

    def _log(self, line: str) -> None:
        self._sink.write_line("gateway", line)

    def log_access(self, request: GatewayRequest, response: GatewayResponse) -> None:
        if self._access_log:
            # The path only: query strings and headers may carry tokens.
            self._log(f'{request.request_id} {request.source_ip} "{request.method} {request.raw_path}" {response.status}')

    def route_table(self) -> list[str]:
        lines = []
        for route in sorted(self.api.routes, key=lambda r: (r.is_default, r.path, r.method)):
            authorizer = self.api.authorizers.get(route.authorizer or "")
            how = route.authorization_type
            if authorizer is not None:
                how += f" {authorizer.name}"
            lines.append(f"  {route.route_key:<40} {how}")
        return lines


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: LocalHttpApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is not worth a line; anything else goes to the log sink, not stderr."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            self.api._log(f"error serving {client_address[0]}:\n{traceback.format_exc()}")


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK hold every kept-alive response ~40 ms.
    disable_nagle_algorithm = True
    server_version = "LocalHttpApi"
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no line per request on stderr
        pass

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_REQUEST_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_REQUEST_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        api = self.server.api
        body = self._read_body()
        source_ip = self.client_address[0]
        headers = [(name, value) for name, value in self.headers.items() if name.lower() != "transfer-encoding"]
        present = {name.lower() for name, _ in headers}
        now = time.time()
        # What API Gateway adds on the way in; the integration sees these.
        added = [
            ("x-forwarded-for", source_ip),
            ("x-forwarded-port", str(self.server.server_address[1])),
            ("x-forwarded-proto", "http"),
            ("x-amzn-trace-id", f"Root=1-{int(now):08x}-{os.urandom(12).hex()}"),
        ]
        headers.extend((name, value) for name, value in added if name not in present)
        request = GatewayRequest(
            self.command, self.path, headers, body or b"", source_ip=source_ip, protocol=self.request_version, now=now
        )
        if body is None:
            response = message_response(413, "Request Entity Too Large")
            response.headers.append(("apigw-requestid", request.request_id))
            self.close_connection = True
        else:
            response = api.handle(request, domain_name=self.headers.get("host") or f"127.0.0.1:{api.port}")
        api.log_access(request, response)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


# --- command line ------------------------------------------------------------------------------------------------


def _key_values(pairs: Iterable[str], what: str) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise SystemExit(f"{what} must look like NAME=VALUE, got {pair!r}")
        result[key] = value
    return result


def _env_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """``VAR=value`` for every function, ``Function:VAR=value`` for one (construct id, logical id or name)."""
    overrides: dict[str, Any] = {}
    for key, value in _key_values(pairs, "--env").items():
        function, separator, variable = key.partition(":")
        if separator:
            overrides.setdefault(function, {})[variable] = value
        else:
            overrides[key] = value
    return overrides


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.gateway",
        description="Serve a synthesized stack's HTTP API on 127.0.0.1, with its Lambda functions in local workers.",
    )
    parser.add_argument("--assembly", default="cdk.out", help="cloud assembly directory (default: cdk.out)")
    parser.add_argument("--stack", required=True, help="stack name")
    parser.add_argument("--api", help="logical id or name of the HTTP API, when the stack has several")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--env", action="append", default=[], metavar="[FUNCTION:]VAR=VALUE",
                        help="set a function environment variable (all functions, or one by construct id, logical id or name)")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a value for a template parameter")
    parser.add_argument("--jwt-issuer", help="issuer URL the JWT authorizers use instead of the template's")
    parser.add_argument("--log-file", help="append function logs here instead of standard error")
    parser.add_argument("--concurrency", type=int, default=1, help="worker processes per function (default: 1)")
    parser.add_argument("--access-log", action="store_true", help="log one line per request")
    args = parser.parse_args(argv)

    api = LocalHttpApi.from_assembly(
        args.assembly,
        args.stack,
        api=args.api,
        parameters=_key_values(args.parameter, "--parameter"),
        env_overrides=_env_overrides(args.env),
        jwt_issuer_override=args.jwt_issuer,
        port=args.port,
        log_sink=args.log_file,
        concurrency=args.concurrency,
        access_log=args.access_log,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    api.start()
    print(f"{api.api.name} ({args.stack}) at {api.url}", file=sys.stderr)
    print("\n".join(api.route_table()), file=sys.stderr)
    for warning in api.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
