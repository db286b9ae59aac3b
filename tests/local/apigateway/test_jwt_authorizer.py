"""The native JWT authorizer, end to end: keys from the issuer's discovery document, API Gateway's checks."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from local.apigateway.authorizers.jwt_keys import IssuerKeys, fetch_json
from local.apigateway.errors import KeysUnavailable
from tests.local.conftest import AUDIENCES, Issuer, Served

pytestmark = pytest.mark.slow


def call(served: Served, token: str, path: str = "/jwt", *, bearer: bool = True) -> requests.Response:
    return served.get(path, headers={"Authorization": f"Bearer {token}" if bearer else token})


def challenge(response: requests.Response) -> str:
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    return response.headers["www-authenticate"]


def test_a_valid_token_passes_its_claims_as_strings(served: Served, jwks_issuer: Issuer) -> None:
    claims = jwks_issuer.claims(aud=AUDIENCES, email_verified=True, groups=["admin", "ops"], sub="user-42")
    response = call(served, jwks_issuer.sign(claims))
    assert response.status_code == 200, response.headers.get("www-authenticate")
    authorizer = response.json()["event"]["requestContext"]["authorizer"]
    assert authorizer["jwt"]["scopes"] is None  # the route has no authorization scopes
    passed = authorizer["jwt"]["claims"]
    assert passed["sub"] == "user-42"
    assert passed["iss"] == jwks_issuer.url
    assert passed["exp"] == str(claims["exp"])
    assert passed["aud"] == f"[{AUDIENCES[0]} {AUDIENCES[1]}]"
    assert passed["groups"] == "[admin ops]"
    assert passed["email_verified"] == "true"


def test_the_token_may_come_without_the_bearer_prefix(served: Served, jwks_issuer: Issuer) -> None:
    assert call(served, jwks_issuer.sign(jwks_issuer.claims()), bearer=False).status_code == 200


def test_a_missing_token_is_401(served: Served) -> None:
    response = served.get("/jwt")
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


def test_a_wrong_audience_is_401_with_api_gateways_description(served: Served, jwks_issuer: Issuer) -> None:
    header = challenge(call(served, jwks_issuer.sign(jwks_issuer.claims(aud="someone-else"))))
    assert header == ('Bearer scope="" error="invalid_token" '
                      'error_description="the token does not have a valid audience"')


def test_client_id_counts_only_when_aud_is_absent(served: Served, jwks_issuer: Issuer) -> None:
    assert call(served, jwks_issuer.sign(jwks_issuer.claims(aud=None, client_id=AUDIENCES[1]))).status_code == 200
    assert call(served, jwks_issuer.sign(jwks_issuer.claims(aud="someone-else", client_id=AUDIENCES[1]))).status_code == 401
    assert call(served, jwks_issuer.sign(jwks_issuer.claims(aud=None, client_id="unknown"))).status_code == 401


@pytest.mark.parametrize(("overrides", "description"), [
    ({"exp": int(time.time()) - 1}, "expired"),
    ({"exp": None}, "expiration"),
    ({"nbf": int(time.time()) + 600}, "not valid yet"),
    ({"iat": int(time.time()) + 600}, "issued in the future"),
    ({"iss": "https://another.example.test"}, "issuer"),
])
def test_claims_are_checked(served: Served, jwks_issuer: Issuer, overrides: dict[str, Any], description: str) -> None:
    assert description in challenge(call(served, jwks_issuer.sign(jwks_issuer.claims(**overrides))))


def test_a_token_signed_by_another_key_under_a_known_kid_is_401(served: Served, jwks_issuer: Issuer) -> None:
    forged = jwks_issuer.sign(jwks_issuer.claims(), kid="k1", key="k2")
    assert "signature" in challenge(call(served, forged))


def test_only_rsa_algorithms_and_tokens_with_a_kid_are_accepted(served: Served, jwks_issuer: Issuer) -> None:
    assert "algorithm" in challenge(call(served, jwks_issuer.sign(jwks_issuer.claims(), algorithm="HS256", key="secret")))
    assert "kid" in challenge(call(served, jwks_issuer.sign(jwks_issuer.claims(), kid=None)))
    assert "not a valid JWT" in challenge(call(served, "not-a-token"))


def test_scopes_are_any_of_the_routes_scopes_from_scope_or_scp(served: Served, jwks_issuer: Issuer) -> None:
    missing = call(served, jwks_issuer.sign(jwks_issuer.claims(scope="profile email")), "/jwt/scoped")
    assert (missing.status_code, missing.json()) == (403, {"message": "Forbidden"})
    assert 'error="insufficient_scope"' in missing.headers["www-authenticate"]
    with_scope = call(served, jwks_issuer.sign(jwks_issuer.claims(scope="profile orders:read")), "/jwt/scoped")
    assert with_scope.status_code == 200
    assert with_scope.json()["event"]["requestContext"]["authorizer"]["jwt"]["scopes"] == ["profile", "orders:read"]
    assert call(served, jwks_issuer.sign(jwks_issuer.claims(scp=["orders:admin"])), "/jwt/scoped").status_code == 200


def test_an_unknown_kid_refetches_the_jwks_at_most_once_per_cooldown(served: Served, jwks_issuer: Issuer) -> None:
    keys = next(iter(served.api.issuer_keys.values()))
    assert call(served, jwks_issuer.sign(jwks_issuer.claims())).status_code == 200  # keys held
    served.clock.advance(31)  # the last fetch is outside the cooldown
    fetches = jwks_issuer.jwks_fetches
    rotated = jwks_issuer.sign(jwks_issuer.claims(), kid="k2", key="k2")
    assert "kid" in challenge(call(served, rotated))
    assert jwks_issuer.jwks_fetches == fetches + 1  # refetched once for the unknown kid
    assert keys.fetches >= 1
    jwks_issuer.published.add("k2")  # the issuer rotates the key in
    try:
        assert call(served, rotated).status_code == 401  # still within the cooldown: no fetch
        assert jwks_issuer.jwks_fetches == fetches + 1
        served.clock.advance(31)
        assert call(served, rotated).status_code == 200
        assert jwks_issuer.jwks_fetches == fetches + 2
    finally:
        jwks_issuer.published.discard("k2")


# --- fetching keys ------------------------------------------------------------------------------------------------


def test_keys_are_fetched_only_over_https_or_from_loopback() -> None:
    with pytest.raises(KeysUnavailable, match="must be an https URL"):
        fetch_json("http://issuer.example.test/.well-known/openid-configuration")


def test_an_oversized_jwks_is_refused(jwks_issuer: Issuer) -> None:
    with pytest.raises(KeysUnavailable, match="exceeds 100"):
        fetch_json(jwks_issuer.url + "/jwks", max_bytes=100)


def test_a_failed_refresh_keeps_serving_the_keys_held(jwks_issuer: Issuer) -> None:
    now = [0.0]
    documents = {jwks_issuer.url + "/.well-known/openid-configuration": {"jwks_uri": jwks_issuer.url + "/jwks"},
                 jwks_issuer.url + "/jwks": jwks_issuer.jwks()}
    failing = [False]

    def fetch(url: str) -> Any:
        if failing[0]:
            raise KeysUnavailable("down")
        return documents[url]

    keys = IssuerKeys(jwks_issuer.url, fetch=fetch, clock=lambda: now[0], max_age_s=100)
    first = keys.key("k1", "RS256")
    assert keys.key("k1", "RS256") is first  # constructed once, reused
    failing[0] = True
    now[0] = 200.0  # stale: a refresh is attempted and fails
    assert keys.key("k1", "RS256") is first
    with pytest.raises(KeysUnavailable):
        IssuerKeys(jwks_issuer.url, fetch=fetch).key("k1", "RS256")  # nothing held: the failure shows
