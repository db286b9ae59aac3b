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
import base64
import hashlib
import ipaddress
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import parse_qsl, urlsplit

import requests
from jose import jwk, jws
from jose.exceptions import JOSEError

from local.lambda_worker import (
    CallerTimedOut,
    FunctionError,
    FunctionPool,
    FunctionSpec,
    Invocation,
    LogSink,
)
from local.template import (
    ACCOUNT_ID,
    DEFAULT_STAGE,
    Authorizer,
    HttpApi,
    LambdaFunction,
    RouteMatch,
    Stage,
    load_http_api,
    select_route,
)

# API Gateway quotas that shape behaviour.
AUTHORIZER_TIMEOUT_SECONDS = 10.0
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024
JWKS_FETCH_TIMEOUT_SECONDS = 1.5
JWKS_MAX_BYTES = 150_000
JWKS_REFETCH_COOLDOWN_SECONDS = 30.0
JWKS_MAX_AGE_SECONDS = 3600.0
JWT_ALGORITHMS = ("RS256", "RS384", "RS512")

TEXT_CONTENT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|ecmascript|x-javascript|graphql|.*\+json|.*\+xml))$"
)


# --- responses ---------------------------------------------------------------------------------------------------


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def message_response(status: int, message: str, *headers: tuple[str, str]) -> GatewayResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return GatewayResponse(status, [("content-type", "application/json"), *headers], body)


def not_found() -> GatewayResponse:
    return message_response(404, "Not Found")


def unauthorized(*headers: tuple[str, str]) -> GatewayResponse:
    return message_response(401, "Unauthorized", *headers)


def forbidden(*headers: tuple[str, str]) -> GatewayResponse:
    return message_response(403, "Forbidden", *headers)


def internal_error() -> GatewayResponse:
    return message_response(500, "Internal Server Error")


def service_unavailable() -> GatewayResponse:
    return message_response(503, "Service Unavailable")


# --- the request -------------------------------------------------------------------------------------------------


def new_request_id() -> str:
    """An id shaped like API Gateway's (``Mc7UVioPPHcEKPA=``)."""
    return base64.b64encode(os.urandom(11)).decode()


class GatewayRequest:
    """One HTTP request as API Gateway sees it."""

    def __init__(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        source_ip: str = "127.0.0.1",
        protocol: str = "HTTP/1.1",
        now: float | None = None,
    ) -> None:
        self.method = method.upper()
        raw_path, _, raw_query = target.partition("?")
        self.raw_path = raw_path or "/"
        self.raw_query = raw_query
        self.header_list = list(headers)
        self.body = body
        self.source_ip = source_ip
        self.protocol = protocol
        self.request_id = new_request_id()
        self.time = time.time() if now is None else now

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @cached_property
    def headers(self) -> dict[str, str]:
        """Lower-case names; a repeated header's values joined with commas (cookies with ``; ``)."""
        merged: dict[str, str] = {}
        for name, value in self.header_list:
            key = name.lower()
            if key in merged:
                merged[key] += ("; " if key == "cookie" else ",") + value
            else:
                merged[key] = value
        return merged

    @cached_property
    def cookies(self) -> list[str]:
        return [part.strip() for part in (self.header("cookie") or "").split(";") if part.strip()]

    @cached_property
    def query(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = {}
        for name, value in parse_qsl(self.raw_query, keep_blank_values=True):
            values.setdefault(name, []).append(value)
        return values

    @property
    def user_agent(self) -> str:
        return self.header("user-agent") or ""


# --- IAM policies ------------------------------------------------------------------------------------------------


class MalformedAuthorizerResponse(Exception):
    """An authorizer response API Gateway would not accept (it answers 500)."""


def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM wildcards: ``*`` any run of characters (``/`` included), ``?`` exactly one."""
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(expression, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def validate_policy_document(document: Any) -> list[Mapping[str, Any]]:
    """The statements of a policy document, or MalformedAuthorizerResponse."""
    if not isinstance(document, dict):
        raise MalformedAuthorizerResponse("policyDocument is not an object")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MalformedAuthorizerResponse("policyDocument.Statement is missing or empty")
    for statement in statements:
        if not isinstance(statement, dict):
            raise MalformedAuthorizerResponse("a policy statement is not an object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise MalformedAuthorizerResponse("a policy statement's Effect is not Allow or Deny")
        for key, alternative in (("Action", "NotAction"), ("Resource", "NotResource")):
            value = statement.get(key, statement.get(alternative))
            if not (isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value))):
                raise MalformedAuthorizerResponse(f"a policy statement's {key} is missing or not a string (list)")
    return statements


def policy_allows(statements: Iterable[Mapping[str, Any]], resource_arn: str, action: str = "execute-api:Invoke") -> bool:
    """IAM evaluation of one request: an explicit Deny wins, then an Allow; nothing matching means deny.

    Statements with a ``Condition`` never apply (conditions are not evaluated here).
    """
    allowed = False
    for statement in statements:
        if "Condition" in statement:
            continue
        if "Action" in statement:
            action_matches = any(_wildcard(a, ignore_case=True).fullmatch(action) for a in _as_list(statement["Action"]))
        else:
            action_matches = not any(_wildcard(a, ignore_case=True).fullmatch(action) for a in _as_list(statement["NotAction"]))
        if not action_matches:
            continue
        if "Resource" in statement:
            resource_matches = any(_wildcard(r).fullmatch(resource_arn) for r in _as_list(statement["Resource"]))
        else:
            resource_matches = not any(_wildcard(r).fullmatch(resource_arn) for r in _as_list(statement["NotResource"]))
        if not resource_matches:
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


# --- Lambda authorizer results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LambdaAuthorizerResult:
    """What a Lambda authorizer answered, kept as is so a cached IAM policy is evaluated per request."""

    simple: bool
    is_authorized: bool = False
    statements: tuple[Mapping[str, Any], ...] = ()
    principal_id: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)

    def allows(self, route_arn: str) -> bool:
        return self.is_authorized if self.simple else policy_allows(self.statements, route_arn)


def parse_authorizer_response(payload: Any, authorizer: Authorizer) -> LambdaAuthorizerResult:
    """Validate a Lambda authorizer's response the way API Gateway does (MalformedAuthorizerResponse → 500).

    With simple responses enabled (payload 2.0), ``{"isAuthorized": bool, "context"?: {...}}``; an IAM policy is
    accepted too. Otherwise ``{"principalId": str, "policyDocument": {...}, "context"?: {...}}``. Payload 1.0
    context values must be strings, numbers or booleans (as in REST APIs); ``claims`` is a reserved key.
    """
    if not isinstance(payload, dict):
        raise MalformedAuthorizerResponse("the response is not a JSON object")
    context = payload.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise MalformedAuthorizerResponse("context is not an object")
    if "claims" in context:
        raise MalformedAuthorizerResponse("context uses the reserved key 'claims'")
    if authorizer.payload_format_version == "1.0":
        for key, value in context.items():
            if isinstance(value, (dict, list)):
                raise MalformedAuthorizerResponse(f"context value {key!r} is an object or array (payload 1.0)")
    if authorizer.enable_simple_responses and "policyDocument" not in payload:
        if not isinstance(payload.get("isAuthorized"), bool):
            raise MalformedAuthorizerResponse("isAuthorized is missing or not a boolean")
        return LambdaAuthorizerResult(simple=True, is_authorized=payload["isAuthorized"], context=context)
    principal_id = payload.get("principalId")
    if not isinstance(principal_id, str):
        raise MalformedAuthorizerResponse("principalId is missing or not a string")
    statements = validate_policy_document(payload.get("policyDocument"))
    return LambdaAuthorizerResult(simple=False, statements=tuple(statements), principal_id=principal_id, context=context)


class AuthorizerResultCache:
    """Authorizer results by (authorizer, identity-source values) for the authorizer's TTL."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, LambdaAuthorizerResult]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(authorizer: Authorizer, identity: Sequence[str]) -> tuple[str, str]:
        # Hashed: the cache never holds a token.
        return authorizer.logical_id, hashlib.sha256("\x00".join(identity).encode()).hexdigest()

    def get(self, key: tuple[str, str]) -> LambdaAuthorizerResult | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() >= entry[0]:
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: tuple[str, str], result: LambdaAuthorizerResult, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl_s, result)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# --- the native JWT authorizer -----------------------------------------------------------------------------------


class JwtRejected(Exception):
    """A token the JWT authorizer refuses (401); ``description`` goes into www-authenticate."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


class KeysUnavailable(Exception):
    """Discovery or the JWKS could not be fetched or was unusable."""


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_json(url: str, *, timeout_s: float = JWKS_FETCH_TIMEOUT_SECONDS, max_bytes: int = JWKS_MAX_BYTES) -> Any:
    """GET a JSON document the way API Gateway fetches discovery and JWKS: https (or http on loopback), capped."""
    parts = urlsplit(url)
    loopback = _is_loopback(parts.hostname)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise KeysUnavailable(f"{url}: only https URLs (or http on a loopback host) are fetched")
    with requests.Session() as session:
        session.trust_env = not loopback  # no proxy between us and a local issuer
        try:
            with session.get(url, timeout=timeout_s, stream=True, allow_redirects=False) as response:
                if response.status_code != 200:
                    raise KeysUnavailable(f"{url}: HTTP {response.status_code}")
                content = response.raw.read(max_bytes + 1, decode_content=True)
        except requests.RequestException as error:
            raise KeysUnavailable(f"{url}: {type(error).__name__}") from error
    if len(content) > max_bytes:
        raise KeysUnavailable(f"{url}: response larger than {max_bytes} bytes")
    try:
        return json.loads(content)
    except ValueError as error:
        raise KeysUnavailable(f"{url}: not JSON") from error


class IssuerKeys:
    """The signing keys of one issuer: discovery, then its jwks_uri; refetched for an unknown kid (with a cooldown)."""

    def __init__(
        self,
        issuer: str,
        *,
        fetch: Callable[[str], Any] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
        cooldown_s: float = JWKS_REFETCH_COOLDOWN_SECONDS,
        max_age_s: float = JWKS_MAX_AGE_SECONDS,
    ) -> None:
        self.issuer = issuer
        self._fetch = fetch
        self._clock = clock
        self._cooldown_s = cooldown_s
        self._max_age_s = max_age_s
        self._jwks: dict[str, Mapping[str, Any]] = {}
        self._keys: dict[tuple[str, str], Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str, algorithm: str) -> Any:
        """The verification key for ``kid`` (one jose key, built once per kid and algorithm)."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age_s
            unknown = kid not in self._jwks
            may_refetch = self._fetched_at is None or now - self._fetched_at >= self._cooldown_s
            if stale or (unknown and may_refetch):
                try:
                    self._refresh(now)
                except KeysUnavailable:
                    if not self._jwks:
                        raise  # nothing held to fall back on
            jwk_data = self._jwks.get(kid)
            if jwk_data is None:
                raise JwtRejected("unknown_kid", "the token's key id (kid) is not in the issuer's JWKS")
            if jwk_data.get("alg") not in (None, algorithm):
                raise JwtRejected("alg_mismatch", "the token's algorithm does not match its key")
            cache_key = (kid, algorithm)
            if cache_key not in self._keys:
                try:
                    self._keys[cache_key] = jwk.construct(dict(jwk_data), algorithm)
                except JOSEError as error:
                    raise JwtRejected("bad_key", "the issuer's key for this token is unusable") from error
            return self._keys[cache_key]

    def _refresh(self, now: float) -> None:
        self._fetched_at = now  # failures count too: no retry storm against a broken issuer
        self.fetches += 1
        discovery = self._fetch(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        jwks_uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
        if not isinstance(jwks_uri, str):
            raise KeysUnavailable(f"{self.issuer}: discovery document without jwks_uri")
        document = self._fetch(jwks_uri)
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise KeysUnavailable(f"{jwks_uri}: no keys list")
        self._jwks = {
            key["kid"]: key
            for key in keys
            if isinstance(key, dict) and isinstance(key.get("kid"), str) and key.get("kty") == "RSA"
            and key.get("use", "sig") == "sig"
        }
        self._keys.clear()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """Scopes from ``scope`` (space-separated) and ``scp`` (string or list)."""
    scopes: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            scopes.extend(value.split())
        elif isinstance(value, list):
            scopes.extend(str(item) for item in value)
    return scopes


def claim_as_string(value: Any) -> str:
    """How the JWT authorizer hands a claim to the integration: strings; arrays as ``[a b]`` (observed)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(claim_as_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{claim_as_string(v)}" for k, v in sorted(value.items())) + "]"
    return ""


def verify_jwt(
    token: str,
    *,
    issuer: str,
    audiences: Sequence[str],
    keys: IssuerKeys,
    now: float,
) -> dict[str, Any]:
    """The claims of a token the native JWT authorizer accepts, or JwtRejected."""
    try:
        header = jws.get_unverified_header(token)
        unverified = json.loads(jws.get_unverified_claims(token))
    except (JOSEError, ValueError, TypeError):
        raise JwtRejected("malformed", "the token is not a valid JWT")
    if not isinstance(unverified, dict):
        raise JwtRejected("malformed", "the token's payload is not a JSON object")
    algorithm = header.get("alg")
    if algorithm not in JWT_ALGORITHMS:
        raise JwtRejected("unsupported_alg", "the token's signing algorithm is not supported (RSA only)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwtRejected("no_kid", "the token has no key id (kid)")
    if unverified.get("iss") != issuer:
        raise JwtRejected("bad_issuer", "the token does not have a valid issuer")
    try:
        key = keys.key(kid, algorithm)
    except KeysUnavailable as error:
        raise JwtRejected("jwks_unavailable", f"unable to fetch the issuer's keys: {error}")
    try:
        payload = jws.verify(token, key, algorithms=[algorithm])
        claims = json.loads(payload)
    except (JOSEError, ValueError):
        raise JwtRejected("bad_signature", "the token's signature is invalid")
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if not _is_number(exp):
        raise JwtRejected("no_exp", "the token has no expiration time (exp)")
    if exp <= now:
        raise JwtRejected("expired", "the token has expired")
    if nbf is not None and (not _is_number(nbf) or nbf > now):
        raise JwtRejected("not_yet_valid", "the token is not valid yet (nbf)")
    if iat is not None and (not _is_number(iat) or iat > now):
        raise JwtRejected("issued_in_future", "the token was issued in the future (iat)")
    aud = claims.get("aud")
    if aud is not None:
        valid_audience = any(isinstance(a, str) and a in audiences for a in _as_list(aud))
    else:
        valid_audience = claims.get("client_id") in audiences
    if not valid_audience:
        raise JwtRejected("bad_audience", "the token does not have a valid audience")
    return claims


def bearer_token(value: str) -> str:
    """The token of ``Bearer <t>`` or a bare ``<t>``."""
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest.strip() else value.strip()


# --- the call in progress ----------------------------------------------------------------------------------------


def _format_time(epoch: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch))


@dataclass
class Authorization:
    """What the route's authorizer established, for the integration event."""

    kind: str  # "lambda" | "jwt"
    context: Mapping[str, Any] = field(default_factory=dict)
    principal_id: str | None = None
    claims: Mapping[str, str] | None = None
    scopes: list[str] | None = None
    latency_ms: int = 0


class _Call:
    """One request on its way through the API: where it goes and the pieces every event shares."""

    def __init__(self, api: HttpApi, request: GatewayRequest, stage: Stage, path_in_stage: str, match: RouteMatch,
                 domain_name: str) -> None:
        self.api = api
        self.request = request
        self.stage = stage.name
        self.stage_variables = dict(stage.variables)
        self.route = match.route
        self.path_parameters = match.path_parameters
        self.domain_name = domain_name
        # The ARN's path leaves the stage out; rawPath keeps it (for a named stage).
        self.route_arn = api.route_arn(stage.name, request.method, path_in_stage)

    @property
    def domain_prefix(self) -> str:
        host = self.domain_name.rsplit(":", 1)[0]
        try:
            ipaddress.ip_address(host)
            return self.api.api_id
        except ValueError:
            return host.split(".")[0]

    @property
    def resource(self) -> str:
        return self.route.path or self.route.route_key

    def context_variable(self, name: str) -> str | None:
        request = self.request
        values = {
            "routeKey": self.route.route_key,
            "httpMethod": request.method,
            "path": request.raw_path,
            "stage": self.stage,
            "apiId": self.api.api_id,
            "accountId": ACCOUNT_ID,
            "requestId": request.request_id,
            "domainName": self.domain_name,
            "domainPrefix": self.domain_prefix,
            "protocol": request.protocol,
            "identity.sourceIp": request.source_ip,
            "identity.userAgent": request.user_agent,
            "requestTime": _format_time(request.time),
            "requestTimeEpoch": str(int(request.time * 1000)),
        }
        return values.get(name)

    def identity_values(self, sources: Sequence[str]) -> list[str] | None:
        """The identity-source values in order, or None when any is missing or empty."""
        values = []
        for source in sources:
            value: str | None = None
            if source.startswith("$request.header."):
                value = self.request.header(source[len("$request.header."):])
            elif source.startswith("$request.querystring."):
                found = self.request.query.get(source[len("$request.querystring."):])
                value = ",".join(found) if found else None
            elif source.startswith("$context."):
                value = self.context_variable(source[len("$context."):])
            elif source.startswith("$stageVariables."):
                value = self.stage_variables.get(source[len("$stageVariables."):])
            if not value:
                return None
            values.append(value)
        return values

    # -- event parts

    def headers_v2(self) -> dict[str, str]:
        """Payload 2.0 headers: lower-case names; the cookie header becomes the ``cookies`` list instead."""
        return {k: v for k, v in self.request.headers.items() if k != "cookie"}

    def query_v2(self) -> dict[str, str]:
        return {name: ",".join(values) for name, values in self.request.query.items()}

    def request_context_v2(self) -> dict[str, Any]:
        request = self.request
        return {
            "accountId": ACCOUNT_ID,
            "apiId": self.api.api_id,
            "domainName": self.domain_name,
            "domainPrefix": self.domain_prefix,
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.user_agent,
            },
            "requestId": request.request_id,
            "routeKey": self.route.route_key,
            "stage": self.stage,
            "time": _format_time(request.time),
            "timeEpoch": int(request.time * 1000),
        }

    def request_context_v1(self) -> dict[str, Any]:
        request = self.request
        return {
            "accountId": ACCOUNT_ID,
            "apiId": self.api.api_id,
            "domainName": self.domain_name,
            "domainPrefix": self.domain_prefix,
            "extendedRequestId": request.request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                "principalOrgId": None, "sourceIp": request.source_ip, "user": None,
                "userAgent": request.user_agent, "userArn": None,
            },
            "path": request.raw_path,
            "protocol": request.protocol,
            "requestId": request.request_id,
            "requestTime": _format_time(request.time),
            "requestTimeEpoch": int(request.time * 1000),
            "resourceId": self.route.route_key,
            "resourcePath": self.resource,
            "stage": self.stage,
        }

    def multi_value_parts_v1(self) -> dict[str, Any]:
        request = self.request
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.header_list:
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query = {name: values[-1] for name, values in request.query.items()}
        return {
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": dict(request.query) or None,
            "pathParameters": self.path_parameters or None,
            "stageVariables": self.stage_variables or None,
        }

    def body_fields(self) -> tuple[str | None, bool]:
        body = self.request.body
        if not body:
            return None, False
        content_type = (self.request.header("content-type") or "").split(";")[0].strip().lower()
        if TEXT_CONTENT_TYPES.match(content_type):
            try:
                return body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(body).decode(), True


def _omit_empty(event: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if not event.get(name):
            event.pop(name, None)
    return event


def authorizer_event_v2(call: _Call, identity: list[str] | None) -> dict[str, Any]:
    request = call.request
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": call.route_arn,
        "identitySource": identity,
        "routeKey": call.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "cookies": request.cookies,
        "headers": call.headers_v2(),
        "queryStringParameters": call.query_v2(),
        "requestContext": call.request_context_v2(),
        "pathParameters": call.path_parameters,
        "stageVariables": call.stage_variables,
    }
    return _omit_empty(event, "cookies", "queryStringParameters", "pathParameters", "stageVariables")


def authorizer_event_v1(call: _Call, identity: list[str] | None) -> dict[str, Any]:
    joined = ",".join(identity) if identity else None
    return {
        "version": "1.0",
        "type": "REQUEST",
        "methodArn": call.route_arn,
        "identitySource": joined,
        "authorizationToken": joined,
        "resource": call.resource,
        "path": call.request.raw_path,
        "httpMethod": call.request.method,
        **call.multi_value_parts_v1(),
        "requestContext": call.request_context_v1(),
    }


def integration_event_v2(call: _Call, authorization: Authorization | None) -> dict[str, Any]:
    request = call.request
    context = call.request_context_v2()
    if authorization is not None:
        if authorization.kind == "jwt":
            context["authorizer"] = {"jwt": {"claims": dict(authorization.claims or {}), "scopes": authorization.scopes}}
        else:
            lambda_context = dict(authorization.context)
            if authorization.principal_id is not None:
                lambda_context["principalId"] = authorization.principal_id
            context["authorizer"] = {"lambda": lambda_context}
    body, is_base64 = call.body_fields()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": call.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "cookies": request.cookies,
        "headers": call.headers_v2(),
        "queryStringParameters": call.query_v2(),
        "requestContext": context,
        "body": body,
        "pathParameters": call.path_parameters,
        "isBase64Encoded": is_base64,
        "stageVariables": call.stage_variables,
    }
    return _omit_empty(event, "cookies", "queryStringParameters", "body", "pathParameters", "stageVariables")


def integration_event_v1(call: _Call, authorization: Authorization | None) -> dict[str, Any]:
    context = call.request_context_v1()
    if authorization is not None:
        if authorization.kind == "jwt":
            context["authorizer"] = {"claims": dict(authorization.claims or {}), "scopes": authorization.scopes}
        else:
            context["authorizer"] = {
                **authorization.context,
                "principalId": authorization.principal_id,
                "integrationLatency": authorization.latency_ms,
            }
    body, is_base64 = call.body_fields()
    return {
        "version": "1.0",
        "resource": call.resource,
        "path": call.request.raw_path,
        "httpMethod": call.request.method,
        **call.multi_value_parts_v1(),
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


# --- integration responses ---------------------------------------------------------------------------------------


class MalformedIntegrationResponse(Exception):
    """A Lambda proxy response API Gateway cannot map (it answers 500)."""


_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive", "upgrade"}


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MalformedIntegrationResponse("a header value is not a string, number or boolean")


def _full_response(payload: Mapping[str, Any], *, cookies_allowed: bool) -> GatewayResponse:
    status = payload.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedIntegrationResponse("statusCode is not an HTTP status")
    headers_in = payload.get("headers") or {}
    multi_in = payload.get("multiValueHeaders") or {}
    if not isinstance(headers_in, dict) or not isinstance(multi_in, dict):
        raise MalformedIntegrationResponse("headers or multiValueHeaders is not an object")
    headers: list[tuple[str, str]] = []
    multi_names = {name.lower() for name in multi_in}
    for name, values in multi_in.items():
        if not isinstance(values, list):
            raise MalformedIntegrationResponse("a multiValueHeaders value is not a list")
        headers.extend((name, _header_value(v)) for v in values)
    headers.extend((name, _header_value(v)) for name, v in headers_in.items() if name.lower() not in multi_names)
    if cookies_allowed:
        cookies = payload.get("cookies") or []
        if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
            raise MalformedIntegrationResponse("cookies is not a list of strings")
        headers.extend(("set-cookie", cookie) for cookie in cookies)
    headers = [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP]
    body = payload.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        if payload.get("isBase64Encoded") is True:
            try:
                data = base64.b64decode(body, validate=True)
            except ValueError:
                raise MalformedIntegrationResponse("isBase64Encoded is true but the body is not base64")
        else:
            data = body.encode()
    else:
        raise MalformedIntegrationResponse("body is not a string")
    return GatewayResponse(status, headers, data)


def integration_response(payload_format_version: str, invocation: Invocation) -> GatewayResponse:
    """Map a Lambda proxy result to the HTTP response, as API Gateway does for the payload version.

    2.0: an object with ``statusCode`` is a full response (``headers``, ``multiValueHeaders``, ``cookies``,
    ``body``, ``isBase64Encoded``); anything else that is JSON is the body of a 200 ``application/json`` response.
    1.0: the object must have ``statusCode``.
    """
    if len(invocation.payload_text.encode()) > MAX_LAMBDA_RESPONSE_BYTES:
        raise MalformedIntegrationResponse("the function's response is larger than Lambda's 6 MB limit")
    payload = invocation.payload
    if payload_format_version == "1.0":
        if not isinstance(payload, dict) or "statusCode" not in payload:
            raise MalformedIntegrationResponse("payload 1.0 responses need a statusCode")
        return _full_response(payload, cookies_allowed=False)
    if isinstance(payload, dict) and "statusCode" in payload:
        return _full_response(payload, cookies_allowed=True)
    return GatewayResponse(200, [("content-type", "application/json")], invocation.payload_text.encode())


# --- CORS --------------------------------------------------------------------------------------------------------


def _cors_origin_allowed(cors: Mapping[str, Any], origin: str) -> str | None:
    origins = cors.get("AllowOrigins") or []
    if "*" in origins:
        return "*" if not cors.get("AllowCredentials") else origin
    return origin if origin in origins else None


def cors_preflight(cors: Mapping[str, Any], request: GatewayRequest) -> GatewayResponse | None:
    """API Gateway answers CORS preflight requests itself when the API has a CORS configuration."""
    origin = request.header("origin")
    requested_method = request.header("access-control-request-method")
    if request.method != "OPTIONS" or not origin or not requested_method:
        return None
    headers: list[tuple[str, str]] = []
    allowed_origin = _cors_origin_allowed(cors, origin)
    methods = [m.upper() for m in cors.get("AllowMethods") or []]
    if allowed_origin and ("*" in methods or requested_method.upper() in methods):
        headers.append(("access-control-allow-origin", allowed_origin))
        headers.append(("access-control-allow-methods", ",".join(methods)))
        if cors.get("AllowHeaders"):
            headers.append(("access-control-allow-headers", ",".join(cors["AllowHeaders"])))
        if cors.get("MaxAge") is not None:
            headers.append(("access-control-max-age", str(cors["MaxAge"])))
        if cors.get("AllowCredentials"):
            headers.append(("access-control-allow-credentials", "true"))
    return GatewayResponse(204, headers)


def add_cors_headers(cors: Mapping[str, Any], request: GatewayRequest, response: GatewayResponse) -> None:
    origin = request.header("origin")
    allowed_origin = _cors_origin_allowed(cors, origin) if origin else None
    if not allowed_origin:
        return
    response.headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
    response.headers.append(("access-control-allow-origin", allowed_origin))
    if cors.get("ExposeHeaders"):
        response.headers.append(("access-control-expose-headers", ",".join(cors["ExposeHeaders"])))
    if cors.get("AllowCredentials"):
        response.headers.append(("access-control-allow-credentials", "true"))


# --- the local HTTP API ------------------------------------------------------------------------------------------

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
        call = _Call(self.api, request, stage, path, match, domain_name)
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

    def _authorize_lambda(self, call: _Call, authorizer: Authorizer) -> Authorization | GatewayResponse:
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

    def _authorize_jwt(self, call: _Call, authorizer: Authorizer) -> Authorization | GatewayResponse:
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

    def _integrate(self, call: _Call, authorization: Authorization | None) -> GatewayResponse:
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
