"""The development authorization server over real HTTP on 127.0.0.1, from a plain HTTP client: metadata,
registration, the code flow with PKCE, refresh tokens, and the OAuth errors of every way a request can be wrong.
Tokens are checked against the served JWKS; time moves by a ManualClock, never by waiting."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from local.idp.authorization_settings import DevUser
from local.idp.clients import DEV_DESCOPE_PROJECT
from local.idp.redirect_uris import redirect_uri_matches
from local.idp.shapes import DEV_USER_ID
from tests.local.idp.authorization_flow import (
    REDIRECT_URI,
    RESOURCE,
    authorize,
    code_flow,
    metadata,
    pkce_pair,
    redirect_parameters,
    register,
    token_request,
    verified_claims,
)

AGENTIC_SERVER = "orders-mcp"
AGENTIC_PATH = f"/descope/v1/apps/agentic/{DEV_DESCOPE_PROJECT}/{AGENTIC_SERVER}"


@pytest.fixture(scope="module")
def issuer(authorization_issuer):
    return authorization_issuer


@pytest.fixture
def settings(issuer):
    """Settings a test may change (``issuer.authorization.configure``), put back afterwards."""
    before = issuer.authorization.settings
    yield issuer.authorization
    issuer.authorization.configure(**{name: getattr(before, name) for name in ("user", "access_token_lifetime")})


@pytest.fixture
def oidc(http, issuer):
    return metadata(http, issuer)


@pytest.fixture
def client_id(http, oidc):
    return register(http, oidc)["client_id"]


# --- Metadata ----------------------------------------------------------------------------------------------------


def test_metadata_names_the_issuer_of_its_tokens_at_both_well_known_locations(http, issuer, oidc):
    assert oidc["issuer"] == issuer.issuer_url("oidc")  # what a protected resource lists, no trailing slash
    assert metadata(http, issuer, "/oidc/.well-known/oauth-authorization-server") == oidc
    AuthorizationServerMetadata(oidc).validate()  # authlib's RFC 8414 checks
    assert oidc["authorization_endpoint"] == issuer.issuer_url("oidc") + "/authorize"
    assert oidc["token_endpoint"] == issuer.token_url("oidc")
    assert oidc["jwks_uri"] == issuer.jwks_url("oidc")
    assert oidc["code_challenge_methods_supported"] == ["S256"]
    assert oidc["response_types_supported"] == ["code"]
    assert "none" in oidc["token_endpoint_auth_methods_supported"]
    assert oidc["client_id_metadata_document_supported"] is True
    assert set(oidc["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}


def test_oidc_discovery_agrees_with_the_authorization_server_metadata(http, issuer, oidc):
    discovery = http.get(issuer.discovery_url("oidc"), timeout=5).json()
    assert {name: discovery[name] for name in oidc} == oidc


def test_agentic_issuer_is_its_own_authorization_server(http, issuer):
    document = metadata(http, issuer, "/.well-known/oauth-authorization-server" + AGENTIC_PATH)
    iss = issuer.issuer_url("descope", issuer_form="agentic", server_id=AGENTIC_SERVER)
    assert document["issuer"] == iss == issuer.root + AGENTIC_PATH
    assert document["token_endpoint"] == iss + "/token"
    assert document["registration_endpoint"] == iss + "/register"
    assert "client_credentials" not in document["grant_types_supported"]


def test_agentic_authorization_server_of_an_unknown_project_is_not_found(http, issuer):
    response = http.get(issuer.root + "/.well-known/oauth-authorization-server/descope/v1/apps/agentic/Pnone/x",
                        timeout=5)
    assert response.status_code == 404


# --- The code flow -----------------------------------------------------------------------------------------------


def test_code_flow_gives_a_signed_token_for_the_resource_about_the_dev_user(http, issuer, oidc, client_id):
    verifier, challenge = pkce_pair()
    response = authorize(http, oidc, client_id, challenge, state="s-1")
    answer = redirect_parameters(response)
    assert response.headers["Location"].startswith("http://127.0.0.1:53682/callback?")  # any loopback port
    assert answer["state"] == "s-1"
    assert answer["iss"] == oidc["issuer"]  # RFC 9207
    tokens = token_request(http, oidc, grant_type="authorization_code", code=answer["code"],
                           redirect_uri="http://127.0.0.1:53682/callback", client_id=client_id,
                           code_verifier=verifier, resource=RESOURCE)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["refresh_token"]
    claims = verified_claims(http, oidc["jwks_uri"], body["access_token"])
    assert claims["aud"] == RESOURCE  # one resource: a string
    assert claims["iss"] == oidc["issuer"]
    assert claims["sub"] == DEV_USER_ID
    assert claims["azp"] == claims["client_id"] == client_id
    assert claims["scope"] == body["scope"] == "orders:read orders:write"


def test_refresh_gives_a_new_token_for_the_same_resource_and_rotates_the_refresh_token(http, oidc, client_id):
    tokens, _ = code_flow(http, oidc, client_id)
    refreshed = token_request(http, oidc, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                              client_id=client_id)
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert verified_claims(http, oidc["jwks_uri"], body["access_token"])["aud"] == RESOURCE
    narrower = token_request(http, oidc, grant_type="refresh_token", refresh_token=body["refresh_token"],
                             client_id=client_id, scope="orders:read", resource=RESOURCE)
    assert narrower.json()["scope"] == "orders:read"


def test_wrong_code_verifier_is_invalid_grant(http, oidc, client_id):
    _, challenge = pkce_pair()
    code = redirect_parameters(authorize(http, oidc, client_id, challenge))["code"]
    other_verifier, _ = pkce_pair()
    response = token_request(http, oidc, grant_type="authorization_code", code=code, client_id=client_id,
                             redirect_uri="http://127.0.0.1:53682/callback", code_verifier=other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_other_than_s256_is_refused_on_the_redirect(http, oidc, client_id, method):
    verifier, _ = pkce_pair()
    response = authorize(http, oidc, client_id, verifier, code_challenge_method=method, state="s-2")
    answer = redirect_parameters(response)
    assert answer["error"] == "invalid_request"
    assert answer["state"] == "s-2" and "code" not in answer


def test_authorization_without_a_code_challenge_is_refused(http, oidc, client_id):
    answer = redirect_parameters(authorize(http, oidc, client_id, None, code_challenge_method=None))
    assert answer["error"] == "invalid_request"


def test_reused_code_is_refused_and_revokes_the_refresh_token_it_gave(http, oidc, client_id):
    verifier, challenge = pkce_pair()
    code = redirect_parameters(authorize(http, oidc, client_id, challenge))["code"]
    exchange = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
                "redirect_uri": "http://127.0.0.1:53682/callback", "code_verifier": verifier}
    first = token_request(http, oidc, **exchange)
    assert first.status_code == 200
    second = token_request(http, oidc, **exchange)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    refresh = token_request(http, oidc, grant_type="refresh_token", refresh_token=first.json()["refresh_token"],
                            client_id=client_id)
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_is_refused_without_redirecting(http, oidc, client_id):
    _, challenge = pkce_pair()
    for uri in ("https://attacker.example/callback", "http://localhost:53682/callback",
                "http://127.0.0.1:53682/other"):
        response = authorize(http, oidc, client_id, challenge, redirect_uri=uri)
        assert response.status_code == 400, uri
        assert "Location" not in response.headers
        assert response.json()["error"] == "invalid_request"


def test_token_request_with_another_redirect_uri_is_invalid_grant(http, oidc, client_id):
    verifier, challenge = pkce_pair()
    code = redirect_parameters(authorize(http, oidc, client_id, challenge))["code"]
    response = token_request(http, oidc, grant_type="authorization_code", code=code, client_id=client_id,
                             redirect_uri="http://127.0.0.1:9/callback", code_verifier=verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_resource_differing_between_authorization_and_token_request_is_invalid_target(http, oidc, client_id):
    verifier, challenge = pkce_pair()
    code = redirect_parameters(authorize(http, oidc, client_id, challenge))["code"]
    response = token_request(http, oidc, grant_type="authorization_code", code=code, client_id=client_id,
                             redirect_uri="http://127.0.0.1:53682/callback", code_verifier=verifier,
                             resource="http://127.0.0.1:8080/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


@pytest.mark.parametrize("resource", [None, "/mcp", "mcp.example.com/mcp", "http://127.0.0.1:8080/mcp#x", "http:///x"])
def test_missing_or_malformed_resource_is_invalid_target_on_the_redirect(http, oidc, client_id, resource):
    _, challenge = pkce_pair()
    answer = redirect_parameters(authorize(http, oidc, client_id, challenge, resource=resource))
    assert answer["error"] == "invalid_target" and "code" not in answer


def test_refresh_for_another_resource_is_invalid_target(http, oidc, client_id):
    tokens, _ = code_flow(http, oidc, client_id)
    response = token_request(http, oidc, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                             client_id=client_id, resource="http://127.0.0.1:8080/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_reused_refresh_token_is_refused_and_revokes_the_one_that_replaced_it(http, oidc, client_id):
    tokens, _ = code_flow(http, oidc, client_id)
    rotated = token_request(http, oidc, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                            client_id=client_id).json()
    replay = token_request(http, oidc, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                           client_id=client_id)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    after = token_request(http, oidc, grant_type="refresh_token", refresh_token=rotated["refresh_token"],
                          client_id=client_id)
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


def test_refresh_token_is_bound_to_its_client(http, oidc, client_id):
    tokens, _ = code_flow(http, oidc, client_id)
    other = register(http, oidc)["client_id"]
    response = token_request(http, oidc, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                             client_id=other)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_code_and_refresh_token_expire_when_the_clock_passes_their_lifetimes(http, oidc, client_id, clock):
    tokens, _ = code_flow(http, oidc, client_id)
    verifier, challenge = pkce_pair()
    code = redirect_parameters(authorize(http, oidc, client_id, challenge))["code"]
    clock.advance(61)  # code_lifetime 60
    late = token_request(http, oidc, grant_type="authorization_code", code=code, client_id=client_id,
                         redirect_uri="http://127.0.0.1:53682/callback", code_verifier=verifier)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    clock.advance(86400)  # refresh_token_lifetime
    stale = token_request(http, oidc, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                          client_id=client_id)
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


def test_code_and_refresh_token_are_good_until_the_last_second_of_their_lifetimes(http, oidc, client_id, clock):
    """The other side of the bound above: a code exchanged at 59 s and a refresh token used at 86,399 s still work;
    their twins, issued at the same moment, fail one second later."""
    first, _ = code_flow(http, oidc, client_id)
    second, _ = code_flow(http, oidc, client_id)
    codes = []
    for _ in range(2):
        verifier, challenge = pkce_pair()
        codes.append((redirect_parameters(authorize(http, oidc, client_id, challenge))["code"], verifier))

    def exchange(code: str, verifier: str):
        return token_request(http, oidc, grant_type="authorization_code", code=code, client_id=client_id,
                             redirect_uri="http://127.0.0.1:53682/callback", code_verifier=verifier)

    clock.advance(59)
    assert exchange(*codes[0]).status_code == 200
    clock.advance(1)  # code_lifetime 60: from now on the code is expired
    assert exchange(*codes[1]).json()["error"] == "invalid_grant"

    clock.advance(86399 - 60)
    used = token_request(http, oidc, grant_type="refresh_token", refresh_token=first["refresh_token"],
                         client_id=client_id)
    assert used.status_code == 200 and used.json()["access_token"]
    clock.advance(1)  # refresh_token_lifetime 86400
    late = token_request(http, oidc, grant_type="refresh_token", refresh_token=second["refresh_token"],
                         client_id=client_id)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_access_token_lifetime_is_configurable_and_read_from_the_clock(http, oidc, client_id, clock, settings):
    settings.configure(access_token_lifetime=2)
    tokens, _ = code_flow(http, oidc, client_id)
    claims = verified_claims(http, oidc["jwks_uri"], tokens["access_token"])
    assert tokens["expires_in"] == 2
    assert claims["iat"] == int(clock()) and claims["exp"] == int(clock()) + 2


def test_dev_user_without_orders_write_gets_a_token_without_it(http, oidc, client_id, settings):
    settings.configure(user=DevUser(sub="reader-1", scopes=("orders:read",), claims={"email": "r@example.com",
                                                                                     "aud": "ignored"}))
    tokens, _ = code_flow(http, oidc, client_id, scope="orders:read orders:write")
    claims = verified_claims(http, oidc["jwks_uri"], tokens["access_token"])
    assert tokens["scope"] == claims["scope"] == "orders:read"
    assert claims["sub"] == "reader-1" and claims["email"] == "r@example.com"
    assert claims["aud"] == RESOURCE  # a user's claims never override what the grant decides


def test_scope_the_server_does_not_know_is_invalid_scope(http, oidc, client_id):
    _, challenge = pkce_pair()
    answer = redirect_parameters(authorize(http, oidc, client_id, challenge, scope="orders:read admin"))
    assert answer["error"] == "invalid_scope"


def test_loopback_redirect_uris_match_on_any_port_of_the_same_host_only():
    registered = ["http://127.0.0.1/callback", "https://app.example/cb"]
    assert redirect_uri_matches("http://127.0.0.1:41234/callback", registered)
    assert not redirect_uri_matches("http://localhost:41234/callback", registered)
    assert not redirect_uri_matches("http://127.0.0.1:41234/callback?x=1", registered)
    assert not redirect_uri_matches("https://app.example:444/cb", registered)  # only loopback http moves ports


# --- Descope's agentic shape ---------------------------------------------------------------------------------------


def test_agentic_issuer_mints_descope_shaped_tokens_for_the_resource(http, issuer):
    document = metadata(http, issuer, "/.well-known/oauth-authorization-server" + AGENTIC_PATH)
    client = register(http, document)["client_id"]
    tokens, _ = code_flow(http, document, client, scope="orders:read")
    claims = verified_claims(http, issuer.jwks_url("descope"), tokens["access_token"])  # the project's keys
    assert claims["iss"] == document["issuer"]
    assert claims["aud"] == RESOURCE and claims["azp"] == client and claims["sub"] == DEV_USER_ID
    assert claims["scope"] == "orders:read" and claims["drn"] == "DS"
    oidc_document = metadata(http, issuer)
    foreign = token_request(http, oidc_document, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                            client_id=client)
    assert foreign.status_code in (400, 401)  # another authorization server knows neither client nor token


# --- Registration ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"client_name": "no uris"}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://127.evil.example/cb"]}, "invalid_redirect_uri"),  # a name, not a loopback address
        ({"redirect_uris": ["https://app.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": "http://127.0.0.1/cb"}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "scope": 7}, "invalid_client_metadata"),
        ([REDIRECT_URI], "invalid_client_metadata"),
    ],
)
def test_registration_refuses_metadata_it_cannot_honour(http, oidc, body, error):
    response = http.post(oidc["registration_endpoint"], json=body, timeout=5)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


def test_registration_judges_a_clients_scope_against_the_scopes_configured_now(http, oidc, settings):
    with pytest.raises(AssertionError, match="invalid_client_metadata"):
        register(http, oidc, scope="orders:read orders:audit")
    settings.configure(scopes=(*settings.settings.scopes, "orders:audit"))
    try:
        assert register(http, oidc, scope="orders:read orders:audit")["scope"] == "orders:read orders:audit"
    finally:
        settings.configure(scopes=tuple(s for s in settings.settings.scopes if s != "orders:audit"))


def test_registration_without_an_auth_method_is_confidential_and_must_send_its_secret(http, oidc):
    client = register(http, oidc, token_endpoint_auth_method=None)
    assert client["token_endpoint_auth_method"] == "client_secret_basic" and client["client_secret"]
    verifier, challenge = pkce_pair()
    code = redirect_parameters(authorize(http, oidc, client["client_id"], challenge))["code"]
    exchange = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                "redirect_uri": "http://127.0.0.1:53682/callback"}
    unauthenticated = token_request(http, oidc, client_id=client["client_id"], **exchange)
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"] == "invalid_client"
    authenticated = http.post(oidc["token_endpoint"], data=exchange, auth=(client["client_id"], client["client_secret"]),
                              timeout=5)
    assert authenticated.status_code == 200, authenticated.text


# --- Client ID metadata documents ----------------------------------------------------------------------------------


class _Documents(BaseHTTPRequestHandler):
    documents: dict[str, dict] = {}

    def do_GET(self):
        document = self.documents.get(self.path)
        body = json.dumps(document).encode() if document is not None else b"{}"
        self.send_response(200 if document is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def document_host():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Documents)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_client_named_by_its_metadata_document_url_completes_the_flow(http, oidc, document_host):
    url = document_host + "/clients/good.json"
    _Documents.documents["/clients/good.json"] = {"client_id": url, "client_name": "CIMD client",
                                                  "redirect_uris": [REDIRECT_URI],
                                                  "token_endpoint_auth_method": "none"}
    tokens, _ = code_flow(http, oidc, url)
    assert verified_claims(http, oidc["jwks_uri"], tokens["access_token"])["azp"] == url


@pytest.mark.parametrize(
    ("path", "document"),
    [
        ("/clients/other-id.json", {"client_id": "http://127.0.0.1:1/else.json", "redirect_uris": [REDIRECT_URI]}),
        ("/clients/secret.json", {"redirect_uris": [REDIRECT_URI], "client_secret": "x"}),
        ("/clients/no-uris.json", {}),
        ("/clients/missing.json", None),
    ],
)
def test_unusable_metadata_document_is_invalid_client_without_redirecting(http, oidc, document_host, path, document):
    url = document_host + path
    if document is not None:
        _Documents.documents[path] = {"client_id": url, **document}
    _, challenge = pkce_pair()
    response = authorize(http, oidc, url, challenge)
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.json()["error"] == "invalid_client"


def test_metadata_documents_are_fetched_from_loopback_and_configured_hosts_only(http, oidc):
    _, challenge = pkce_pair()
    response = authorize(http, oidc, "https://client.example/metadata.json", challenge)
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"


# --- Bad requests get OAuth errors, never a 500 ----------------------------------------------------------------------


def test_malformed_authorization_requests_get_oauth_errors(http, oidc, client_id):
    endpoint = oidc["authorization_endpoint"]
    cases = [
        (f"{endpoint}?client_id={client_id}&client_id=x&response_type=code", "invalid_request"),
        (f"{endpoint}?client_id=%FF&response_type=code", "invalid_request"),
        (f"{endpoint}?client_id={client_id}&response_type=code&redirect_uri=http://127.0.0.1/%22x", "invalid_request"),
        (f"{endpoint}?client_id=nobody&response_type=code", "invalid_client"),
        (f"{endpoint}?response_type=code", "invalid_client"),
    ]
    for url, error in cases:
        response = http.get(url, allow_redirects=False, timeout=5)
        assert response.status_code == 400, url
        assert response.json()["error"] == error, url
    unsupported = redirect_parameters(http.get(
        f"{endpoint}?client_id={client_id}&response_type=token&redirect_uri={urllib.parse.quote(REDIRECT_URI)}",
        allow_redirects=False, timeout=5))
    assert unsupported["error"] == "unsupported_response_type"


def test_malformed_token_requests_get_oauth_errors(http, issuer, oidc, client_id):
    agentic = metadata(http, issuer, "/.well-known/oauth-authorization-server" + AGENTIC_PATH)
    cases = [
        (oidc["token_endpoint"], {"data": {"grant_type": "authorization_code", "client_id": client_id}},
         400, "invalid_request"),
        (oidc["token_endpoint"], {"data": {"grant_type": "authorization_code", "code": "nope",
                                           "client_id": client_id}}, 400, "invalid_grant"),
        (oidc["token_endpoint"], {"data": {"grant_type": "refresh_token", "refresh_token": "nope",
                                           "client_id": client_id}}, 400, "invalid_grant"),
        (oidc["token_endpoint"], {"data": {"grant_type": "authorization_code", "code": "x"},
                                  "headers": {"Authorization": "Basic %%%"}}, 401, "invalid_client"),
        (oidc["token_endpoint"], {"json": {"grant_type": "authorization_code"}}, 400, "invalid_request"),
        (agentic["token_endpoint"], {"data": {"grant_type": "password", "client_id": client_id}},
         400, "unsupported_grant_type"),
        (agentic["token_endpoint"], {"data": {"grant_type": "client_credentials", "client_id": "x"}},
         400, "unsupported_grant_type"),
    ]
    for url, kwargs, status, error in cases:
        response = http.post(url, timeout=5, **kwargs)
        assert (response.status_code, response.json()["error"]) == (status, error), (kwargs, response.text)
