"""The development OIDC issuer, exercised over real HTTP on 127.0.0.1 with real signed tokens."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from jose import jws

from local.idp.cli import main
from local.idp.clients import (
    DEV_DESCOPE_PROJECT,
    DEV_PASSAGE_APP,
    DEV_PASSAGE_AUTH_ORIGIN,
    Client,
    default_clients,
)
from local.idp.issuer import DevIssuer
from local.idp.profiles import Route, route

from .issuer_support import EXTRA_CLIENTS, request_token, served_kids, verify_with_served_key

REPO_ROOT = Path(__file__).resolve().parents[3]
@pytest.fixture(scope="module")
def issuer():
    with DevIssuer(clients=default_clients() + EXTRA_CLIENTS, admin=True) as running:
        yield running



@pytest.fixture
def jwks_faults(issuer):
    yield issuer
    issuer.set_jwks_fault(None)


# --- Layout and discovery ---------------------------------------------------------------------------------------


def test_urls_follow_each_providers_layout(issuer):
    root = issuer.root
    assert issuer.base_url("descope") == f"{root}/descope"
    assert issuer.issuer_url("oidc") == f"{root}/oidc"
    assert issuer.jwks_url("oidc") == f"{root}/oidc/jwks"
    assert issuer.token_url("oidc") == f"{root}/oidc/token"
    assert issuer.issuer_url("descope") == f"{root}/descope/{DEV_DESCOPE_PROJECT}"
    assert issuer.issuer_url("descope", issuer_form="bare") == DEV_DESCOPE_PROJECT
    assert issuer.jwks_url("descope", project="P2other") == f"{root}/descope/v2/keys/P2other"
    assert issuer.token_url("descope") == f"{root}/descope/oauth2/v1/token"
    assert issuer.issuer_url("passage") == f"{root}/passage/v1/apps/{DEV_PASSAGE_APP}"
    assert issuer.jwks_url("passage") == f"{root}/passage/v1/apps/{DEV_PASSAGE_APP}/.well-known/jwks.json"
    assert issuer.token_url("passage") == f"{root}/passage/v1/apps/{DEV_PASSAGE_APP}/token"
    assert issuer.issuer_url("wso2") == f"{root}/wso2/oauth2/token"
    assert issuer.jwks_url("wso2") == f"{root}/wso2/oauth2/jwks"
    assert issuer.token_url("wso2", tenant="acme") == f"{root}/wso2/t/acme/oauth2/token"
    assert issuer.issuer_url("wso2", tenant="acme") == f"{root}/wso2/t/acme/oauth2/token"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/descope/v2/keys/P2x", Route("jwks", "descope", "P2x")),
        ("/descope/P2x/.well-known/jwks.json", Route("jwks", "descope", "P2x")),
        ("/descope/oauth2/v1/token", Route("token", "descope", None)),
        ("/wso2/t/acme/oauth2/token/.well-known/openid-configuration", Route("discovery", "wso2", "acme")),
        ("/passage/v1/apps/a1/token", Route("token", "passage", "a1")),
        ("/oidc/jwks/", None),
        ("/descope/v2/keys/a/b", None),
    ],
)
def test_route_maps_a_path_back_to_its_issuer_endpoint(path, expected):
    assert route(path) == expected


@pytest.mark.parametrize(
    ("profile", "kw", "client_id"),
    [
        ("oidc", {}, "orders-oidc"),
        ("descope", {}, "orders-descope"),
        ("passage", {}, "orders-passage"),
        ("wso2", {}, "orders-wso2"),
        ("wso2", {"tenant": "acme"}, "acme-wso2"),
    ],
)
def test_discovery_points_at_jwks_and_token_endpoints_that_answer(issuer, http, profile, kw, client_id):
    response = http.get(issuer.discovery_url(profile, **kw), timeout=5)
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == issuer.issuer_url(profile, **kw)
    if profile == "oidc":  # also an authorization server for MCP clients (test_authorization_server.py)
        assert document["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post",
                                                                      "none"]
        assert document["grant_types_supported"] == ["authorization_code", "refresh_token", "client_credentials"]
    else:
        assert document["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
        assert document["grant_types_supported"] == ["client_credentials"]
    assert set(document["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}

    keys = http.get(document["jwks_uri"], timeout=5).json()["keys"]
    assert sorted((key["kty"], key["alg"], key["use"]) for key in keys) == [("EC", "ES256", "sig"),
                                                                             ("RSA", "RS256", "sig")]
    assert len({key["kid"] for key in keys}) == 2

    token_response = request_token(http, document["token_endpoint"], client_id)
    assert token_response.status_code == 200, token_response.text
    _, claims = verify_with_served_key(http, document["jwks_uri"], token_response.json()["access_token"])
    assert claims["iss"] == document["issuer"]


# --- Minting by hand --------------------------------------------------------------------------------------------


def test_minted_expired_token_still_verifies_but_has_exp_in_the_past(issuer, http):
    now = int(time.time())
    token = issuer.mint("descope", expires_in=-60)
    _, claims = verify_with_served_key(http, issuer.jwks_url("descope"), token)
    assert abs(claims["iat"] - now) <= 2
    assert claims["exp"] == claims["iat"] - 60


def test_minted_token_starts_from_the_profiles_first_client(issuer, http):
    header, claims = verify_with_served_key(http, issuer.jwks_url("wso2"), issuer.mint("wso2"))
    assert header["typ"] == "at+jwt"
    assert claims["client_id"] == claims["aud"] == "orders-wso2"
    assert claims["scope"] == "orders:read orders:write"


def test_minted_token_for_another_audience(issuer, http):
    _, descope = verify_with_served_key(http, issuer.jwks_url("descope"), issuer.mint("descope", audience="other"))
    _, oidc = verify_with_served_key(http, issuer.jwks_url("oidc"), issuer.mint("oidc", audience=["a", "b"]))
    assert descope["aud"] == ["other"]
    assert oidc["aud"] == ["a", "b"]


def test_mint_omits_and_overrides_claims(issuer, http):
    token = issuer.mint("oidc", scopes=[], omit=("exp", "jti"), claims={"iss": "https://elsewhere", "tier": 3},
                        not_before=1_900_000_000, issued_at=1_800_000_000)
    _, claims = verify_with_served_key(http, issuer.jwks_url("oidc"), token)
    assert "exp" not in claims and "jti" not in claims and "scope" not in claims
    assert claims["iss"] == "https://elsewhere"
    assert claims["tier"] == 3
    assert (claims["iat"], claims["nbf"]) == (1_800_000_000, 1_900_000_000)


def test_minted_es256_token_verifies_with_the_ec_key(issuer, http):
    header, claims = verify_with_served_key(http, issuer.jwks_url("passage"), issuer.mint("passage", alg="ES256"))
    assert header["alg"] == "ES256"
    assert claims["aud"] == [DEV_PASSAGE_AUTH_ORIGIN, DEV_PASSAGE_APP]


def test_mint_can_name_a_foreign_kid_and_shape_the_header(issuer, http):
    foreign = jws.get_unverified_header(issuer.mint("oidc", kid="not-in-the-jwks"))
    assert foreign["kid"] == "not-in-the-jwks"
    assert "not-in-the-jwks" not in served_kids(http, issuer.jwks_url("oidc"))

    shaped = jws.get_unverified_header(issuer.mint("oidc", header={"typ": None, "kid": None, "jku": "https://x"}))
    assert shaped == {"alg": "RS256", "jku": "https://x"}


def test_mint_rejects_options_it_cannot_honour(issuer):
    with pytest.raises(ValueError, match="alg"):
        issuer.mint("oidc", alg="HS256")
    with pytest.raises(ValueError, match="profile"):
        issuer.mint("okta")
    with pytest.raises(TypeError, match="project"):
        issuer.mint("oidc", project="P2x")
    with pytest.raises(ValueError, match="bare"):
        issuer.mint("wso2", issuer_form="bare")


# --- Rotation and fetch counting ----------------------------------------------------------------------------------


def test_rotation_signs_with_new_kids_and_keeps_the_previous_keys_listed(issuer, http):
    url = issuer.jwks_url("passage")
    before = served_kids(http, url)
    untouched = served_kids(http, issuer.jwks_url("descope"))

    new_kids = issuer.rotate_keys("passage")

    assert len(new_kids) == 2 and before.isdisjoint(new_kids)
    assert served_kids(http, url) == before | set(new_kids)
    assert jws.get_unverified_header(issuer.mint("passage"))["kid"] in new_kids
    assert served_kids(http, issuer.jwks_url("descope")) == untouched

    newest = issuer.rotate_keys("passage", drop_old=True)
    assert served_kids(http, url) == set(newest)


def test_jwks_fetch_counter_counts_each_jwks_get_per_profile(issuer, http):
    descope_before, oidc_before, total_before = (issuer.jwks_fetch_count("descope"), issuer.jwks_fetch_count("oidc"),
                                                 issuer.jwks_fetch_count())
    http.get(issuer.jwks_url("descope"), timeout=5)
    http.get(f"{issuer.root}/descope/{DEV_DESCOPE_PROJECT}/.well-known/jwks.json", timeout=5)
    http.get(issuer.discovery_url("descope"), timeout=5)  # discovery is not a JWKS fetch

    assert issuer.jwks_fetch_count("descope") == descope_before + 2
    assert issuer.jwks_fetch_count("oidc") == oidc_before
    assert issuer.jwks_fetch_count() == total_before + 2


# --- JWKS faults --------------------------------------------------------------------------------------------------


def test_error_fault_answers_500(jwks_faults, http):
    jwks_faults.set_jwks_fault("error")
    assert http.get(jwks_faults.jwks_url("oidc"), timeout=5).status_code == 500


def test_html_fault_answers_200_with_a_page_that_is_not_json(jwks_faults, http):
    jwks_faults.set_jwks_fault("html")
    response = http.get(jwks_faults.jwks_url("oidc"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_timeout_fault_holds_the_response_past_the_client_timeout(jwks_faults, http):
    jwks_faults.set_jwks_fault("timeout", hold_seconds=30)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(jwks_faults.jwks_url("oidc"), timeout=(5, 0.3))
    assert time.monotonic() - started < 30  # the client gave up; the server was still holding


def test_timeout_fault_sends_the_keys_after_the_hold(jwks_faults, http):
    jwks_faults.set_jwks_fault("timeout", hold_seconds=0.3)
    started = time.monotonic()
    response = http.get(jwks_faults.jwks_url("oidc"), timeout=5)
    assert time.monotonic() - started >= 0.3
    assert len(response.json()["keys"]) >= 2


def test_reset_fault_drops_the_connection(jwks_faults, http):
    jwks_faults.set_jwks_fault("reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(jwks_faults.jwks_url("oidc"), timeout=5)


def test_fault_for_one_profile_leaves_the_others_and_discovery_alone(jwks_faults, http):
    jwks_faults.set_jwks_fault("error", profile="descope")
    before = jwks_faults.jwks_fetch_count("descope")
    assert http.get(jwks_faults.jwks_url("descope"), timeout=5).status_code == 500
    assert jwks_faults.jwks_fetch_count("descope") == before + 1  # faulted fetches count too
    assert http.get(jwks_faults.discovery_url("descope"), timeout=5).status_code == 200
    assert http.get(jwks_faults.jwks_url("oidc"), timeout=5).status_code == 200

    jwks_faults.set_jwks_fault(None)
    assert http.get(jwks_faults.jwks_url("descope"), timeout=5).status_code == 200


def test_unknown_fault_mode_is_refused(issuer):
    with pytest.raises(ValueError, match="fault"):
        issuer.set_jwks_fault("slow")


# --- Admin mint endpoint and CLI ----------------------------------------------------------------------------------


def test_admin_mint_endpoint_returns_a_token_signed_by_the_served_keys(issuer, http):
    options = {"profile": "descope", "scopes": "orders:read", "expires_in": -60, "audience": "other",
               "claims": {"plan": "gold"}, "alg": "ES256"}
    response = http.post(f"{issuer.root}/_dev/mint", json=options, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    header, claims = verify_with_served_key(http, issuer.jwks_url("descope"), response.json()["access_token"])
    assert header["alg"] == "ES256"
    assert claims["aud"] == ["other"]
    assert claims["scope"] == "orders:read"
    assert claims["plan"] == "gold"
    assert claims["exp"] < time.time()


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"profile": "descope", "lifetime": 5}}, 400),  # unknown option
        ({"json": {"profile": "descope", "expires_in": "soon"}}, 400),
        ({"json": ["descope"]}, 400),
        ({"data": "profile=descope", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"json": {"profile": "descope"}, "headers": {"Host": "attacker.example"}}, 403),
    ],
)
def test_admin_mint_endpoint_refuses_bad_requests(issuer, http, kwargs, status):
    response = http.post(f"{issuer.root}/_dev/mint", timeout=5, **kwargs)
    assert response.status_code == status
    assert "error" in response.json()


def test_admin_mint_endpoint_is_absent_unless_enabled(http):
    with DevIssuer(clients=[]) as plain:
        response = http.post(f"{plain.root}/_dev/mint", json={"profile": "oidc"}, timeout=5)
    assert response.status_code == 404


def test_cli_mint_prints_a_token_from_the_running_server(issuer, http, capsys):
    status = main(["mint", "--issuer", issuer.root, "--profile", "descope", "--scope", "orders:read",
                   "--expires-in", "-60", "--aud", "other", "--claim", "tier=3", "--claim", "team=blue"])
    assert status == 0
    token = capsys.readouterr().out.strip()
    _, claims = verify_with_served_key(http, issuer.jwks_url("descope"), token)
    assert claims["aud"] == ["other"]
    assert claims["scope"] == "orders:read"
    assert (claims["tier"], claims["team"]) == (3, "blue")
    assert claims["exp"] < time.time()


def test_cli_mint_refuses_a_non_loopback_issuer(capsys):
    assert main(["mint", "--issuer", "https://issuer.example.com"]) == 2
    assert capsys.readouterr().out == ""


def test_cli_mint_explains_when_no_server_listens(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    assert main(["mint", "--issuer", f"http://127.0.0.1:{free_port}"]) == 1
    assert "start one with `.venv/bin/python -m local issuer serve`" in capsys.readouterr().err


def test_cli_serve_prints_the_urls_and_serves_until_interrupted(http):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "issuer", "serve", "--port", "0"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first_line = process.stdout.readline()
        assert first_line.startswith("Dev OIDC issuer on http://127.0.0.1:")
        root = first_line.split()[4]
        printed = ""
        for _ in range(100):  # the summary ends with the mint hint; EOF ("") means the server died
            line = process.stdout.readline()
            printed += line
            if not line or line.startswith("Mint any token"):
                break
        assert f"{root}/descope/v2/keys/{DEV_DESCOPE_PROJECT}" in printed
        assert "orders-descope-reader" in printed
        assert http.get(f"{root}/wso2/oauth2/token/.well-known/openid-configuration", timeout=5).status_code == 200
        assert http.post(f"{root}/_dev/mint", json={"profile": "oidc"}, timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert stderr == ""


# --- Lifecycle and hygiene ----------------------------------------------------------------------------------------


def test_server_writes_nothing_to_stderr(http, capfd):
    # One connection per request (Connection: close), so the test knows when the server is done with all five.
    close = {"Connection": "close"}
    reader = next(client for client in default_clients() if client.client_id == "orders-oidc")
    with DevIssuer(clients=[reader]) as quiet:
        http.get(quiet.jwks_url("oidc"), headers=close, timeout=5)
        http.get(f"{quiet.root}/nowhere", headers=close, timeout=5)
        http.post(quiet.token_url("oidc"), data={"grant_type": "password"}, auth=(reader.client_id, reader.client_secret),
                  headers=close, timeout=5)
        quiet.set_jwks_fault("reset")
        with pytest.raises(requests.exceptions.ConnectionError):
            http.get(quiet.jwks_url("oidc"), headers=close, timeout=5)
        quiet.set_jwks_fault("timeout", hold_seconds=0.2)
        with pytest.raises(requests.exceptions.ReadTimeout):
            http.get(quiet.jwks_url("oidc"), headers=close, timeout=(2, 0.05))
        # The held response is then written to a closed connection; wait until the server is done with it.
        assert quiet.wait_connections_closed(5, timeout=10)
    assert capfd.readouterr().err == ""


def test_stop_closes_kept_alive_connections_and_the_port(http):
    running = DevIssuer(clients=[]).start()
    url = running.discovery_url("oidc")
    assert http.get(url, timeout=5).status_code == 200  # leaves a pooled keep-alive connection
    running.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(url, timeout=5)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Client("c", "s", "okta", (), ()), "profile"),
        (lambda: Client("c", "s", "oidc", (), (), alg="HS256"), "alg"),
        (lambda: Client("c", "s", "wso2", (), (), issuer_form="bare"), "bare"),
        (lambda: Client("c", "s", "descope", (), (), realm="../etc"), "project"),
        (lambda: DevIssuer(clients=[Client("c", "s", "oidc", (), ())] * 2), "duplicate"),
        (lambda: DevIssuer(host="0.0.0.0"), "127.0.0.0/8"),
    ],
)
def test_invalid_configuration_is_refused_with_a_clear_message(make, message):
    with pytest.raises(ValueError, match=message):
        make()
