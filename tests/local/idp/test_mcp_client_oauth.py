"""The official MCP Python SDK client (``mcp`` on PyPI, ``mcp.client.auth.OAuthClientProvider``) against the
development authorization server, headless: its redirect handler follows the authorization URL with an HTTP GET
and hands the code to its callback handler. Against a stand-in protected resource on 127.0.0.1
(``protected_resource.py``) it discovers the resource's metadata and the server's, registers (dynamically, or by
its client ID metadata document), authorizes with PKCE and ``resource``, exchanges the code, calls with the token,
and refreshes. No mocks: real sockets, real signed tokens, the SDK's own flow."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import OAuthClientMetadata

from local.idp.authorization_settings import DevUser
from local.idp.clients import DEV_DESCOPE_PROJECT
from local.idp.shapes import DEV_USER_ID
from local.mcp_clients.python_sdk import CALLBACK, HeadlessBrowser, MemoryStorage
from tests.local.idp.client_metadata_server import DocumentServer
from tests.local.idp.protected_resource import ProtectedResource

SCOPES = ["orders:read", "orders:write"]


def call_with_sdk(resource: ProtectedResource, calls: int = 1, *, client_metadata_url: str | None = None,
                  between=lambda: None, **metadata) -> tuple[list[int], MemoryStorage, HeadlessBrowser]:
    """Call the resource ``calls`` times through one SDK OAuth provider, running ``between()`` between calls;
    (statuses, its storage, the browser)."""
    storage, browser = MemoryStorage(), HeadlessBrowser()
    provider = OAuthClientProvider(
        server_url=resource.url,
        client_metadata=OAuthClientMetadata(redirect_uris=[CALLBACK], client_name="mcp-sdk-test", **metadata),
        storage=storage, redirect_handler=browser.redirect_handler, callback_handler=browser.callback_handler,
        client_metadata_url=client_metadata_url,
    )

    async def run() -> list[int]:
        statuses = []
        async with httpx2.AsyncClient(auth=provider, trust_env=False, timeout=10) as client:
            for n in range(calls):
                if n:
                    between()
                response = await client.post(resource.url, json={"jsonrpc": "2.0", "id": n, "method": "tools/list"})
                statuses.append(response.status_code)
        return statuses

    return asyncio.run(run()), storage, browser


@pytest.fixture(scope="module")
def issuer(authorization_issuer):
    return authorization_issuer


@pytest.fixture
def resource(issuer, clock):
    with ProtectedResource(issuer.issuer_url("oidc"), issuer.jwks_url("oidc"), scopes=SCOPES, clock=clock) as served:
        yield served


def test_mcp_python_sdk_client_discovers_registers_authorizes_and_calls_with_the_token(resource):
    statuses, storage, browser = call_with_sdk(resource)
    assert statuses == [200]
    assert resource.refused == 1 and browser.visits == 1  # one 401, one authorization, then the call
    [claims] = resource.accepted
    assert claims["aud"] == resource.url and claims["sub"] == DEV_USER_ID
    assert claims["scope"] == "orders:read orders:write"  # what the resource metadata listed
    assert storage.client_info is not None and claims["azp"] == storage.client_info.client_id
    assert storage.client_info.token_endpoint_auth_method == "client_secret_basic"  # the SDK sent none: RFC default
    assert storage.tokens is not None and storage.tokens.refresh_token


def test_mcp_python_sdk_client_registers_as_a_public_client(resource):
    statuses, storage, _ = call_with_sdk(resource, token_endpoint_auth_method="none")
    assert statuses == [200]
    assert storage.client_info is not None and storage.client_info.client_secret is None
    assert resource.accepted[0]["azp"] == storage.client_info.client_id


def test_mcp_python_sdk_client_refreshes_its_token_once_expires_in_has_run_out(resource, clock, monkeypatch):
    # The SDK decides a token has expired from expires_in and its module's time.time(): that clock is moved with
    # the authorization server's and the resource's, so no test waits an expiry out.
    for module in ("mcp.client.auth.oauth2", "mcp.shared.auth_utils"):
        monkeypatch.setattr(f"{module}.time", SimpleNamespace(time=clock))
    statuses, storage, browser = call_with_sdk(resource, calls=2, between=lambda: clock.advance(3601))
    assert statuses == [200, 200]
    assert browser.visits == 1 and resource.refused == 1  # the second call was refreshed, not authorized again
    first, second = resource.accepted
    assert second["jti"] != first["jti"] and second["iat"] >= first["exp"]
    assert second["aud"] == first["aud"] == resource.url and second["scope"] == first["scope"]


def test_mcp_python_sdk_client_authorizes_again_when_the_resource_answers_401_to_an_expired_token(resource, clock):
    # The SDK still holds its token valid (its expires_in has not run out on the real clock); the resource and the
    # authorization server read the moved clock, where it has expired. On the 401 the SDK runs the whole flow again.
    statuses, _, browser = call_with_sdk(resource, calls=2, between=lambda: clock.advance(3601))
    assert statuses == [200, 200]
    assert resource.refused == 2  # the first call's 401, then the expired token's
    assert browser.visits == 2  # a second authorization, not a refresh
    first, second = resource.accepted
    assert second["iat"] >= first["exp"]


def test_mcp_python_sdk_client_gets_descope_agentic_tokens(issuer, clock):
    agentic = issuer.issuer_url("descope", issuer_form="agentic", server_id="orders-mcp")
    with ProtectedResource(agentic, issuer.jwks_url("descope"), scopes=["orders:read"], clock=clock) as resource:
        statuses, storage, _ = call_with_sdk(resource)
    assert statuses == [200]
    [claims] = resource.accepted
    assert claims["iss"] == agentic == issuer.root + f"/descope/v1/apps/agentic/{DEV_DESCOPE_PROJECT}/orders-mcp"
    assert claims["aud"] == resource.url and claims["scope"] == "orders:read" and claims["drn"] == "DS"
    assert storage.client_info is not None and claims["azp"] == storage.client_info.client_id


def test_mcp_python_sdk_client_without_orders_write_gets_a_token_without_it(issuer, resource):
    issuer.authorization.configure(user=DevUser(sub="reader-7", scopes=("orders:read",)))
    try:
        statuses, storage, _ = call_with_sdk(resource)
    finally:
        issuer.authorization.configure(user=DevUser())
    assert statuses == [200]
    assert resource.accepted[0]["scope"] == "orders:read" and resource.accepted[0]["sub"] == "reader-7"
    assert storage.tokens is not None and storage.tokens.scope == "orders:read"


# --- Client ID metadata documents, served over https on loopback (the SDK accepts only https URLs) ---------------


@pytest.fixture
def document_server(tmp_path):
    with DocumentServer(tmp_path) as server:
        yield server


def test_mcp_python_sdk_client_uses_its_client_id_metadata_document(issuer, resource, document_server):
    url = document_server.publish("/oauth/client.json", {
        "client_name": "mcp-sdk-test", "redirect_uris": [CALLBACK], "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none"})
    issuer.authorization.configure(client_metadata_ca_bundle=document_server.ca)
    try:
        statuses, storage, _ = call_with_sdk(resource, client_metadata_url=url)
    finally:
        issuer.authorization.configure(client_metadata_ca_bundle=None)
    assert statuses == [200]
    assert storage.client_info is not None and storage.client_info.client_id == url  # no registration request
    assert resource.accepted[0]["azp"] == url
    assert document_server.fetched == ["/oauth/client.json"]  # the server fetched the document (once: then from its cache)
