"""A stand-in MCP protected resource on 127.0.0.1, for driving real OAuth clients against the development
authorization server: it publishes RFC 9728 metadata naming that server, answers 401 with a ``WWW-Authenticate``
challenge until it gets a bearer token, and accepts a token only when the issuer's served key verifies it, ``iss``
is the authorization server and ``aud`` is this resource (``exp`` too, read from the given clock, unless told not
to). The real resource, API Gateway with the authorizer, is wired by the local stack; this is only what a client
needs to discover and call something.

    with ProtectedResource(issuer_url, jwks_uri, scopes=["orders:read"]) as resource:
        resource.url                 # http://127.0.0.1:<port>/mcp
        resource.accepted            # the claims of each token it accepted
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from jose import jwk, jws
from jose.exceptions import JOSEError


class ProtectedResource:
    def __init__(self, issuer: str, jwks_uri: str, *, scopes: list[str], clock: Callable[[], float] = time.time,
                 check_exp: bool = True) -> None:
        self.issuer, self.jwks_uri, self.scopes = issuer, jwks_uri, scopes
        self.clock, self.check_exp = clock, check_exp
        self.accepted: list[dict] = []
        self.refused = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.root + "/mcp"

    def metadata(self) -> dict:
        return {"resource": self.url, "authorization_servers": [self.issuer], "scopes_supported": self.scopes,
                "bearer_methods_supported": ["header"]}

    def claims(self, authorization: str | None) -> dict | None:
        """The claims of an acceptable bearer token, or None."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        session = requests.Session()
        session.trust_env = False
        try:
            kid = jws.get_unverified_header(token).get("kid")
            keys = [k for k in session.get(self.jwks_uri, timeout=5).json()["keys"] if k["kid"] == kid]
            if len(keys) != 1:
                return None
            claims = json.loads(jws.verify(token, jwk.construct(keys[0], keys[0]["alg"]), [keys[0]["alg"]]))
        except (JOSEError, ValueError, KeyError):
            return None
        finally:
            session.close()
        if claims.get("iss") != self.issuer or claims.get("aud") != self.url:
            return None
        if self.check_exp and not self.clock() < claims.get("exp", 0):
            return None
        return claims

    def __enter__(self) -> ProtectedResource:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(resource: ProtectedResource) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            pass

        def do_GET(self):
            if self.path == "/.well-known/oauth-protected-resource/mcp":
                self._send(200, resource.metadata())
            else:
                self._call()

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._call()

        def _call(self):
            if self.path != "/mcp":
                self._send(404, {"error": "not_found"})
                return
            claims = resource.claims(self.headers.get("Authorization"))
            if claims is None:
                resource.refused += 1
                challenge = (f'Bearer resource_metadata="{resource.root}/.well-known/oauth-protected-resource/mcp", '
                             f'scope="{" ".join(resource.scopes)}"')
                self._send(401, {"error": "invalid_token"}, {"WWW-Authenticate": challenge})
                return
            resource.accepted.append(claims)
            self._send(200, {"sub": claims["sub"], "scope": claims.get("scope", "")})

        def _send(self, status, body, headers=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
