"""The development issuer's token endpoint over real HTTP on 127.0.0.1: each provider profile's token shape, and the
requests it refuses (client authentication, grants, scopes, audiences, malformed bodies)."""

from __future__ import annotations

import json
import socket
import threading

import pytest
import requests

from local.idp.clients import (
    DEV_DESCOPE_PROJECT,
    DEV_ORDERS_AUDIENCE,
    DEV_PASSAGE_APP,
    DEV_PASSAGE_AUTH_ORIGIN,
    default_clients,
)
from local.idp.issuer import DevIssuer

from .issuer_support import EXTRA_CLIENTS, SECRETS, request_token, served_kids, verify_with_served_key


@pytest.fixture(scope="module")
def issuer():
    with DevIssuer(clients=default_clients() + EXTRA_CLIENTS, admin=True) as running:
        yield running


# --- Token endpoint: the profile shapes -------------------------------------------------------------------------


def test_descope_token_by_basic_auth_has_descope_claims(issuer, http):
    response = request_token(http, issuer.token_url("descope"), "orders-descope")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["scope"] == "orders:read orders:write"

    header, claims = verify_with_served_key(http, issuer.jwks_url("descope"), answer["access_token"])
    assert header["alg"] == "RS256"
    assert claims["iss"] == issuer.issuer_url("descope")
    assert claims["sub"] == "orders-descope"
    assert "aud" not in claims and "client_id" not in claims  # Descope's default session token
    assert claims["drn"] == "DS"
    assert claims["roles"] == ["orders-admin"]
    assert claims["tenants"]["T2devtenant"]["permissions"] == ["orders:read", "orders:write"]
    assert claims["scope"] == "orders:read orders:write"
    assert claims["exp"] - claims["iat"] == answer["expires_in"]
    # Descope's second JWKS location serves the same keys.
    well_known = f"{issuer.root}/descope/{DEV_DESCOPE_PROJECT}/.well-known/jwks.json"
    assert served_kids(http, well_known) == served_kids(http, issuer.jwks_url("descope"))


def test_descope_client_with_bare_issuer_form_gets_the_project_id_as_iss(issuer, http):
    response = request_token(http, issuer.token_url("descope"), "orders-descope-bare")
    _, claims = verify_with_served_key(http, issuer.jwks_url("descope"), response.json()["access_token"])
    assert claims["iss"] == DEV_DESCOPE_PROJECT


def test_wso2_token_by_form_auth_is_an_at_jwt_about_the_client(issuer, http):
    response = request_token(http, issuer.token_url("wso2"), "orders-wso2", form_auth=True)
    assert response.status_code == 200, response.text
    header, claims = verify_with_served_key(http, issuer.jwks_url("wso2"), response.json()["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["kid"].endswith("_RS256")
    assert claims["iss"] == issuer.issuer_url("wso2")
    assert claims["sub"] == claims["aud"] == claims["azp"] == claims["client_id"] == "orders-wso2"
    assert claims["aut"] == "APPLICATION"
    assert claims["scope"] == "orders:read orders:write"
    assert claims["nbf"] == claims["iat"]
    assert claims["jti"]


def test_wso2_tenant_token_comes_from_the_tenant_issuer(issuer, http):
    response = request_token(http, issuer.token_url("wso2", tenant="acme"), "acme-wso2")
    _, claims = verify_with_served_key(http, issuer.jwks_url("wso2", tenant="acme"), response.json()["access_token"])
    assert claims["iss"] == f"{issuer.root}/wso2/t/acme/oauth2/token"
    tenant_kids = served_kids(http, issuer.jwks_url("wso2", tenant="acme"))
    assert tenant_kids.isdisjoint(served_kids(http, issuer.jwks_url("wso2")))


def test_passage_token_audience_is_the_auth_origin_and_the_app_id(issuer, http):
    response = request_token(http, issuer.token_url("passage"), "orders-passage-reader")
    _, claims = verify_with_served_key(http, issuer.jwks_url("passage"), response.json()["access_token"])
    assert claims["aud"] == [DEV_PASSAGE_AUTH_ORIGIN, DEV_PASSAGE_APP]
    assert claims["iss"] == issuer.issuer_url("passage")
    assert claims["scope"] == "orders:read"


def test_oidc_token_carries_client_id_and_a_single_audience_as_a_string(issuer, http):
    response = request_token(http, issuer.token_url("oidc"), "orders-oidc")
    _, claims = verify_with_served_key(http, issuer.jwks_url("oidc"), response.json()["access_token"])
    assert claims["client_id"] == claims["sub"] == "orders-oidc"
    assert claims["aud"] == DEV_ORDERS_AUDIENCE
    assert claims["jti"]


def test_es256_client_gets_a_token_that_verifies_with_the_ec_key(issuer, http):
    response = request_token(http, issuer.token_url("oidc"), "orders-oidc-es256")
    header, claims = verify_with_served_key(http, issuer.jwks_url("oidc"), response.json()["access_token"])
    assert header["alg"] == "ES256"
    assert claims["sub"] == "orders-oidc-es256"


# --- Token endpoint: requests it refuses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "form"),
    [
        (("orders-oidc", "wrong-secret"), {}),
        (("no-such-client", "dev-secret-oidc"), {}),
        (None, {}),
        (None, {"client_id": "orders-oidc"}),  # form id without a secret
        (None, {"client_id": "orders-oidc", "client_secret": "wrong-secret"}),
    ],
)
def test_wrong_or_missing_client_credentials_are_invalid_client(issuer, http, auth, form):
    response = http.post(issuer.token_url("oidc"), auth=auth, data={"grant_type": "client_credentials", **form},
                         timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_malformed_basic_header_is_invalid_client(issuer, http):
    response = http.post(issuer.token_url("oidc"), headers={"Authorization": "Basic not-base64!"},
                         data={"grant_type": "client_credentials"}, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "form",
    [{"client_id": "orders-oidc-reader"}, {"client_id": "orders-oidc", "client_secret": "dev-secret-oidc-reader"}],
)
def test_basic_and_form_credentials_that_disagree_are_refused(issuer, http, form):
    response = http.post(issuer.token_url("oidc"), auth=("orders-oidc", SECRETS["orders-oidc"]),
                         data={"grant_type": "client_credentials", **form}, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_basic_and_form_credentials_that_agree_are_accepted(issuer, http):
    response = http.post(issuer.token_url("oidc"), auth=("orders-oidc", SECRETS["orders-oidc"]),
                         data={"grant_type": "client_credentials", "client_id": "orders-oidc",
                               "client_secret": SECRETS["orders-oidc"]}, timeout=5)
    assert response.status_code == 200


def test_client_of_another_issuer_is_refused_at_this_token_endpoint(issuer, http):
    response = request_token(http, issuer.token_url("wso2"), "orders-descope")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_other_grant_types_are_unsupported(issuer, http):
    response = request_token(http, issuer.token_url("oidc"), "orders-oidc", grant_type="password")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_missing_grant_type_is_invalid_request(issuer, http):
    response = http.post(issuer.token_url("oidc"), auth=("orders-oidc", SECRETS["orders-oidc"]),
                         data={"scope": "orders:read"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_scope_the_client_is_not_allowed_is_invalid_scope(issuer, http):
    response = request_token(http, issuer.token_url("descope"), "orders-descope-reader",
                             scope="orders:read orders:write")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_scope",
                               "error_description": "not allowed for this client: orders:write"}


def test_requested_scopes_narrow_the_grant(issuer, http):
    response = request_token(http, issuer.token_url("oidc"), "orders-oidc", scope="orders:read")
    assert response.json()["scope"] == "orders:read"
    _, claims = verify_with_served_key(http, issuer.jwks_url("oidc"), response.json()["access_token"])
    assert claims["scope"] == "orders:read"


def test_audience_parameter_must_be_one_the_client_may_use(issuer, http):
    allowed = request_token(http, issuer.token_url("passage"), "orders-passage", audience=DEV_PASSAGE_APP)
    assert allowed.status_code == 200
    refused = request_token(http, issuer.token_url("passage"), "orders-passage", audience="other-app")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"


def test_malformed_requests_get_json_4xx_answers(issuer, http):
    token_url = issuer.token_url("oidc")
    credentials = ("orders-oidc", SECRETS["orders-oidc"])
    cases = [
        (http.get(token_url, timeout=5), 405),
        (http.post(issuer.jwks_url("oidc"), timeout=5), 405),
        (http.post(token_url, auth=credentials, json={"grant_type": "client_credentials"}, timeout=5), 400),
        (http.post(token_url, auth=credentials, data="grant_type=client_credentials&grant_type=password",
                   headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5), 400),
        (http.post(token_url, auth=credentials, data={"grant_type": "x" * 70_000}, timeout=5), 413),
        (http.get(f"{issuer.root}/nowhere", timeout=5), 404),
        (http.get(f"{issuer.root}/descope/v2/keys/P2unknownproject", timeout=5), 404),
        (http.post(f"{issuer.root}/passage/v1/apps/unknownapp/token", auth=credentials,
                   data={"grant_type": "client_credentials"}, timeout=5), 404),
        (http.delete(token_url, timeout=5), 501),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.method, response.url)
        assert response.headers["Content-Type"] == "application/json"
        assert "error" in response.json()


def test_garbage_on_the_wire_gets_a_json_400_not_a_traceback(issuer):
    port = int(issuer.root.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"NOT A REQUEST\r\nHost: x\r\n\r\n")
        answer = b"".join(iter(lambda: connection.recv(65536), b"")).decode("latin-1")  # until the server hangs up
    assert answer.startswith("HTTP/1.1 400")
    assert json.loads(answer.split("\r\n\r\n", 1)[1])["error"] == "bad_request"
    assert "Traceback" not in answer


def test_concurrent_first_fetches_see_one_key_set(issuer, http):
    url = issuer.jwks_url("wso2", tenant="race")
    results = []

    def fetch():
        with requests.Session() as session:
            session.trust_env = False
            results.append(frozenset(served_kids(session, url)))

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 6
    assert len(set(results)) == 1
