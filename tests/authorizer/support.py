"""Real things for the authorizer tests: signing keys, signed tokens, and a JWKS server on 127.0.0.1.

The server serves whatever documents a test puts on it (status, body, delay) and counts every GET, so tests
can bound how often the authorizer fetches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jws

ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/GET/hello"
CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


@dataclass
class SigningKey:
    kid: str
    alg: str
    private_pem: bytes
    public_jwk: dict[str, Any]

    @classmethod
    def generate(cls, kid: str, alg: str, rsa_bits: int = 2048, with_alg: bool = True) -> SigningKey:
        if alg.startswith("RS"):
            private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        else:
            private = ec.generate_private_key(CURVES[alg]())
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        public = jwk.construct(public_pem, alg).to_dict()
        public.pop("alg", None)
        public.update(kid=kid, use="sig")
        if with_alg:
            public["alg"] = alg
        return cls(kid, alg, pem, public)

    def public_pem(self) -> bytes:
        return serialization.load_pem_private_key(self.private_pem, None).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims: dict[str, Any], alg: str | None = None, **header: Any) -> str:
        alg = alg or self.alg
        headers = {"kid": self.kid, **header}
        headers = {k: v for k, v in headers.items() if v is not None}
        return jws.sign(claims, self._jose_key(alg), headers=headers, algorithm=alg)

    def _jose_key(self, alg: str) -> Any:
        # Loading a PEM validates the RSA key (tens of ms): load our own key once per algorithm.
        cache = self.__dict__.setdefault("_signers", {})
        if alg not in cache:
            private = serialization.load_pem_private_key(self.private_pem, None, unsafe_skip_rsa_key_validation=True)
            cache[alg] = jwk.construct(private, alg)
        return cache[alg]


def b64(data: bytes | str | dict[str, Any]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(header)}.{b64(claims)}.{b64(signature)}"


def hs256_with(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """The classic algorithm-confusion forgery: HMAC keyed with the RSA public key."""
    signing_input = f"{b64(header)}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@dataclass
class Document:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay: float = 0.0


class JwksServer:
    """A real HTTP server on 127.0.0.1 with an ephemeral port. ``put`` a document, ``count`` the GETs."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.hits[self.path] = server.hits.get(self.path, 0) + 1
                    document = server.documents.get(self.path, Document(404, b"not found", "text/plain"))
                if document.delay:
                    server._release.wait(document.delay)
                try:
                    self.send_response(document.status)
                    self.send_header("Content-Type", document.content_type)
                    self.send_header("Content-Length", str(len(document.body)))
                    self.end_headers()
                    self.wfile.write(document.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def put(self, path: str, document: Document | dict[str, Any]) -> str:
        if isinstance(document, dict):
            document = Document(body=json.dumps(document).encode())
        with self._lock:
            self.documents[path] = document
        return self.root + path

    def put_jwks(self, path: str, keys: list[SigningKey | dict[str, Any]]) -> str:
        return self.put(path, {"keys": [k.public_jwk if isinstance(k, SigningKey) else k for k in keys]})

    def count(self, path: str) -> int:
        with self._lock:
            return self.hits.get(path, 0)

    def close(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class Clock:
    """A clock a test moves (``clock.now += 60``): time is never waited out."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claims_for(issuer: str, audience: Any = "api", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "sub": "user-1", "iat": now, "exp": now + 600}
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def http_v2_event(token: str | None = None, route_key: str = "GET /hello", arn: str = ARN,
                  headers: dict[str, str] | None = None, cookies: list[str] | None = None,
                  per_route: bool = False) -> dict[str, Any]:
    """A payload 2.0 event. ``per_route``: the identity sources hold ``$context.routeKey`` as well as the header, as
    the construct wires them whenever route rules exist; without it the answer may be reused on any route."""
    headers = dict(headers or {})
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    method, _, path = route_key.partition(" ")
    event: dict[str, Any] = {
        "version": "2.0", "type": "REQUEST", "routeArn": arn, "routeKey": route_key,
        "identitySource": [headers.get("authorization", "")], "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {"accountId": "123456789012", "apiId": "a1b2c3d4e5", "stage": "$default",
                           "routeKey": route_key, "http": {"method": method, "path": path}},
    }
    if cookies is not None:
        event["cookies"] = cookies
    if per_route:
        event["identitySource"].append(route_key)
    return event


def http_v1_event(token: str | None, arn: str = ARN, route_key: str = "GET /hello") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return {"version": "1.0", "type": "REQUEST", "methodArn": arn, "identitySource": headers.get("Authorization"),
            "authorizationToken": headers.get("Authorization"), "headers": headers,
            "requestContext": {"routeKey": route_key}}


def rest_token_event(token: str | None, arn: str = ARN) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "TOKEN", "methodArn": arn}
    if token is not None:
        event["authorizationToken"] = f"Bearer {token}"
    return event


def rest_request_event(token: str | None, arn: str = ARN) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return {"type": "REQUEST", "methodArn": arn, "resource": "/hello", "path": "/hello", "httpMethod": "GET",
            "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()}}
