"""The steps of the authorization code flow with PKCE, as a plain HTTP client takes them against the development
authorization server, and the check of a token against the served JWKS. Shared by the authorization server tests."""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.parse

from .issuer_support import verify_with_served_key

RESOURCE = "http://127.0.0.1:8080/mcp"
REDIRECT_URI = "http://127.0.0.1/callback"


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636 section 4."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def metadata(http, issuer, path: str = "/.well-known/oauth-authorization-server/oidc") -> dict:
    response = http.get(issuer.root + path, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def register(http, document: dict, **fields) -> dict:
    body = {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none", "client_name": "test", **fields}
    body = {name: value for name, value in body.items() if value is not None}  # None: leave the field out
    response = http.post(document["registration_endpoint"], json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def authorize(http, document: dict, client_id: str, challenge: str | None, **parameters):
    """GET the authorization endpoint (a None parameter is left out); the answer, redirects not followed."""
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": "http://127.0.0.1:53682/callback",
             "state": "state-" + secrets.token_hex(4), "code_challenge": challenge, "code_challenge_method": "S256",
             "resource": RESOURCE, "scope": "orders:read orders:write", **parameters}
    query = {name: value for name, value in query.items() if value is not None}
    return http.get(document["authorization_endpoint"], params=query, allow_redirects=False, timeout=5)


def redirect_parameters(response) -> dict[str, str]:
    """The query parameters of an authorization response's redirect (it must be one)."""
    assert response.status_code == 302, response.text
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["Location"]).query))


def token_request(http, document: dict, **form):
    """POST the token endpoint (a None field is left out)."""
    data = {name: value for name, value in form.items() if value is not None}
    return http.post(document["token_endpoint"], data=data, timeout=5)


def code_flow(http, document: dict, client_id: str, **parameters) -> tuple[dict, str]:
    """Authorize and exchange the code: (token response, the redirect URI used)."""
    verifier, challenge = pkce_pair()
    response = authorize(http, document, client_id, challenge, **parameters)
    code = redirect_parameters(response)["code"]
    redirect_uri = parameters.get("redirect_uri", "http://127.0.0.1:53682/callback")
    tokens = token_request(http, document, grant_type="authorization_code", code=code, redirect_uri=redirect_uri,
                           client_id=client_id, code_verifier=verifier,
                           resource=parameters.get("resource", RESOURCE))
    assert tokens.status_code == 200, tokens.text
    return tokens.json(), redirect_uri


def verified_claims(http, jwks_uri: str, token: str) -> dict:
    """The claims of a token whose signature the served key named by its kid verifies."""
    return verify_with_served_key(http, jwks_uri, token)[1]
