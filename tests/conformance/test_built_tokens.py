"""Tokens BUILT BY US from the providers' documented shapes (``data/built_provider_shapes.json``): Descope's agentic
form, WSO2, Cognito and Entra ID publish no real signed token with a usable public key. Signed with keys made here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.authorizer.support import http_v2_event
from tests.authorizer.test_responses import iam_allows

from .corpus import BUILT, PY_SESSION, agentic_issuer, built_token


def test_descope_agentic_issuer_of_the_configured_project_is_accepted(server, replay, built_keys):
    shape = BUILT["descope_agentic"]
    authorizer = replay([agentic_issuer(server, built_keys)])
    response = authorizer.authorize(http_v2_event(built_token(built_keys["agentic"], shape["access_token"])))
    assert authorizer.outcome == "allow", authorizer.reason
    assert response["context"]["iss"] == shape["access_token"]["claims"]["iss"]
    # the same project's default session token keeps working beside it, from the same key set
    authorizer.authorize(http_v2_event(PY_SESSION["token"]))
    assert authorizer.outcome == "allow", authorizer.reason


@pytest.mark.parametrize("iss", [
    "https://api.descope.com/v1/apps/agentic/P2CtzUhdqpIF2ys9gg7ms06UvtC4/MS2xYzAbCdEfGhIjKlMnOpQrStUv",
    "https://api.descope.com/v1/apps/agentic/P2CuC9yv2UGtGI1o84gCZEb9qEQW/MS2xYz/extra",
    "https://api.descope.com/v1/apps/agentic/P2CuC9yv2UGtGI1o84gCZEb9qEQW/",
    "https://evil.example.com/v1/apps/agentic/P2CuC9yv2UGtGI1o84gCZEb9qEQW/MS2xYzAbCdEfGhIjKlMnOpQrStUv",
], ids=["other-project", "two-segments", "empty-server-id", "other-host"])
def test_descope_agentic_issuer_not_of_the_configured_project_form_is_unknown(server, replay, built_keys, iss):
    authorizer = replay([agentic_issuer(server, built_keys)])
    authorizer.authorize(http_v2_event(built_token(built_keys["agentic"], BUILT["descope_agentic"]["access_token"],
                                                   iss=iss)))
    assert (authorizer.outcome, authorizer.reason) == ("deny", "unknown_issuer")




# --- WSO2 Identity Server (built from the documented shape) -------------------------------------------------
def wso2_issuer(server, built_keys) -> dict[str, Any]:
    wso2 = BUILT["wso2"]
    # One key listed under each of WSO2's kid forms (SHA-1 and SHA-256 thumbprints, the _RS256 suffix).
    public = built_keys["wso2"].public_jwk
    jwks = [dict(public, kid=kid, x5t="MjhhMDk2N2M2NGEwMzgzYjk2OTI3YzdmMGVhOGYxNjI2OTc5Y2Y2MQ") for kid in wso2["kids"]]
    return {"provider": "wso2", "base_url": wso2["base_url"], "audience": wso2["client_id"],
            "jwks_uri": server.put("/oauth2/jwks", {"keys": jwks})}


@pytest.mark.parametrize("shape", ["access_token", "access_token_scope_as_array"], ids=["scope-string", "scope-array"])
def test_wso2_access_token_scope_meets_the_route_scopes_as_string_or_json_array(server, replay, built_keys, shape):
    authorizer = replay([wso2_issuer(server, built_keys)], routes={"GET /hello": ["orders:read"]},
                        AUTH_RESPONSE="simple")
    response = authorizer.authorize(http_v2_event(built_token(built_keys["wso2"], BUILT["wso2"][shape]), per_route=True))
    assert response["isAuthorized"] is True, authorizer.reason


def test_wso2_access_token_scope_array_without_the_route_scope_is_denied_as_insufficient_scope(server, replay,
                                                                                              built_keys):
    authorizer = replay([wso2_issuer(server, built_keys)], routes={"GET /hello": ["orders:write"]},
                        AUTH_RESPONSE="simple")
    authorizer.authorize(http_v2_event(built_token(built_keys["wso2"], BUILT["wso2"]["access_token_scope_as_array"]), per_route=True))
    assert (authorizer.outcome, authorizer.reason) == ("deny", "insufficient_scope")


def test_wso2_refresh_token_is_refused_with_a_token_type_reason(server, replay, built_keys):
    authorizer = replay([wso2_issuer(server, built_keys)])
    authorizer.authorize(http_v2_event(built_token(built_keys["wso2"], BUILT["wso2"]["refresh_token"])))
    assert authorizer.outcome == "deny"
    assert authorizer.reason in ("token_use_mismatch", "wrong_token_type")


@pytest.mark.parametrize("kid", BUILT["wso2"]["kids"])
def test_wso2_jwks_listing_one_key_under_several_kids_verifies_each_kid(server, replay, built_keys, kid):
    shape = BUILT["wso2"]["access_token"]
    token = built_token(built_keys["wso2"], {**shape, "header": {**shape["header"], "kid": kid}})
    authorizer = replay([wso2_issuer(server, built_keys)])
    authorizer.authorize(http_v2_event(token))
    assert authorizer.outcome == "allow", authorizer.reason


# --- Amazon Cognito (built from the documented shape) -------------------------------------------------------
def cognito_issuer(server, built_keys, **extra: Any) -> dict[str, Any]:
    cognito = BUILT["cognito"]
    return {"provider": "cognito", "user_pool_id": cognito["user_pool_id"], "client_ids": [cognito["client_id"]],
            "jwks_uri": server.put_jwks("/cognito/.well-known/jwks.json", [built_keys["cognito"]]), **extra}


@pytest.mark.parametrize("iss", BUILT["cognito"]["issuers"], ids=["cognito-idp", "issuer-cognito-idp"])
def test_cognito_access_token_of_either_issuer_form_is_allowed(server, replay, built_keys, iss):
    authorizer = replay([cognito_issuer(server, built_keys)])
    response = authorizer.authorize(http_v2_event(built_token(built_keys["cognito"], BUILT["cognito"]["access_token"],
                                                              iss=iss)))
    assert authorizer.outcome == "allow", authorizer.reason
    assert json.loads(response["context"]["cognito:groups"]) == ["admins"]


def test_cognito_id_token_is_denied_as_token_use_mismatch_where_access_tokens_are_configured(server, replay,
                                                                                            built_keys):
    authorizer = replay([cognito_issuer(server, built_keys)])
    authorizer.authorize(http_v2_event(built_token(built_keys["cognito"], BUILT["cognito"]["id_token"])))
    assert (authorizer.outcome, authorizer.reason) == ("deny", "token_use_mismatch")


def test_cognito_id_token_is_allowed_when_token_use_id_is_configured(server, replay, built_keys):
    authorizer = replay([cognito_issuer(server, built_keys, token_use="id")])
    authorizer.authorize(http_v2_event(built_token(built_keys["cognito"], BUILT["cognito"]["id_token"])))
    assert authorizer.outcome == "allow", authorizer.reason


def test_cognito_access_token_of_another_app_client_is_denied(server, replay, built_keys):
    authorizer = replay([cognito_issuer(server, built_keys)])
    authorizer.authorize(http_v2_event(built_token(built_keys["cognito"], BUILT["cognito"]["access_token"],
                                                   client_id="another-app-client")))
    assert authorizer.outcome == "deny" and authorizer.reason is not None


@pytest.mark.parametrize("groups, allowed", [(["admins"], True), (["readers"], False)])
def test_cognito_groups_are_usable_in_claim_rules(server, replay, built_keys, groups, allowed):
    authorizer = replay([cognito_issuer(server, built_keys)],
                        routes={"GET /hello": {"claims": {"cognito:groups": "admins"}}}, AUTH_RESPONSE="simple")
    response = authorizer.authorize(http_v2_event(built_token(built_keys["cognito"], BUILT["cognito"]["access_token"],
                                                              **{"cognito:groups": groups}), per_route=True))
    assert response["isAuthorized"] is allowed
    assert authorizer.reason == (None if allowed else "claim_rule_not_met")


# --- Microsoft Entra ID (built from the documented shape) ---------------------------------------------------
def entra_issuer(server, built_keys) -> dict[str, Any]:
    entra = BUILT["entra"]
    return {"provider": "entra", "tenant_id": entra["tenant_id"], "audience": [entra["client_id"], entra["app_id_uri"]],
            "jwks_uri": server.put_jwks("/entra/discovery/v2.0/keys", [built_keys["entra"]])}


@pytest.mark.parametrize("shape", ["v2_delegated", "v1_delegated"])
def test_entra_delegated_token_of_either_version_meets_a_scp_route_rule(server, replay, built_keys, shape):
    authorizer = replay([entra_issuer(server, built_keys)], routes={"GET /hello": ["access_as_user"]},
                        AUTH_RESPONSE="simple")
    response = authorizer.authorize(http_v2_event(built_token(built_keys["entra"], BUILT["entra"][shape]), per_route=True))
    assert response["isAuthorized"] is True, authorizer.reason


def test_entra_app_only_token_roles_are_usable_in_claim_rules(server, replay, built_keys):
    routes = {"GET /hello": {"claims": {"roles": "Orders.Read.All"}},
              "POST /orders": {"claims": {"roles": "Orders.Write"}}}
    authorizer = replay([entra_issuer(server, built_keys)], routes=routes)
    response = authorizer.authorize(http_v2_event(built_token(built_keys["entra"], BUILT["entra"]["v2_app_only"])))
    assert authorizer.outcome == "allow", authorizer.reason
    arn = http_v2_event()["routeArn"]
    assert iam_allows(response, arn)
    assert not iam_allows(response, arn.replace("/GET/hello", "/POST/orders"))


def test_entra_token_of_another_tenant_is_denied_as_unknown_issuer(server, replay, built_keys):
    authorizer = replay([entra_issuer(server, built_keys)])
    other = "https://login.microsoftonline.com/00000000-1111-2222-3333-444444444444/v2.0"
    authorizer.authorize(http_v2_event(built_token(built_keys["entra"], BUILT["entra"]["v2_delegated"], iss=other)))
    assert (authorizer.outcome, authorizer.reason) == ("deny", "unknown_issuer")
