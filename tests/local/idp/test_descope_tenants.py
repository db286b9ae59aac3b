"""Descope multi-tenant tokens from the development issuer: ``tenants`` and ``dct``, and the authorizer's tenant rule.

Shape (identity-providers.md § Descope, and Descope's SDKs): ``tenants`` is an object, tenant ID →
``{"roles": [...], "permissions": [...]}``; ``dct`` is the current tenant's ID (sources, with their commits: the
docstring of ``local.idp.shapes._descope``). Every token here is built by us: minted by the development issuer on
127.0.0.1, verified with the key it serves, then decided by ``authorizer.authorize.Authorizer`` with a tenant rule.
"""

from __future__ import annotations

import json

import pytest
from jose import jwk, jws

from authorizer.authorize import Authorizer
from authorizer.config import load_config
from authorizer.policy import TENANT_CONTEXT_KEYS
from local.idp.cli import main
from local.idp.clients import DEV_DESCOPE_PROJECT

ROUTE = "GET /tenants/{tenantId}/orders"
ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/$default/GET/tenants/{}/orders"




def verified_claims(http, issuer, token):
    """The claims, once the signature checks with the key the issuer serves for the token's kid."""
    header = jws.get_unverified_header(token)
    [key] = [k for k in http.get(issuer.jwks_url("descope"), timeout=5).json()["keys"] if k["kid"] == header["kid"]]
    return json.loads(jws.verify(token, jwk.construct(key, header["alg"]), algorithms=[header["alg"]]))


def authorizer_for(issuer, tenant_rule, claim_routes=None):
    """Our authorizer trusting the dev issuer's Descope project, with a tenant rule on ROUTE."""
    routes = {ROUTE: {"tenant": {"param": "tenantId", **tenant_rule}}, **(claim_routes or {})}
    return Authorizer(load_config({
        "AUTH_ISSUERS": json.dumps([{"provider": "descope", "project_id": DEV_DESCOPE_PROJECT,
                                     "base_url": issuer.base_url("descope")}]),
        "AUTH_ROUTES": json.dumps(routes),
        "AUTH_RESPONSE": "simple",
    }))


def tenant_event(token, tenant):
    """A payload 2.0 event for ROUTE, with the tenant in pathParameters as API Gateway passes it, from an authorizer
    whose identity sources hold ``$context.routeKey`` and ``$context.requestId`` (as the construct sets up its tenant
    routes' authorizer)."""
    path = f"/tenants/{tenant}/orders"
    return {"version": "2.0", "type": "REQUEST", "routeArn": ARN.format(tenant), "routeKey": ROUTE,
            "identitySource": [f"Bearer {token}", ROUTE, "req-1"], "rawPath": path, "rawQueryString": "",
            "headers": {"authorization": f"Bearer {token}"}, "pathParameters": {"tenantId": tenant},
            "requestContext": {"accountId": "123456789012", "apiId": "a1b2c3d4e5", "stage": "$default",
                               "routeKey": ROUTE, "requestId": "req-1", "http": {"method": "GET", "path": path}}}


def decide(authorizer, token, tenant):
    """(isAuthorized, reason code) as the authorizer decides and reports it."""
    seen: list[str | None] = []
    authorizer.observe = lambda outcome, reason, shape: seen.append(reason)
    response = authorizer.authorize(tenant_event(token, tenant))
    return response["isAuthorized"], seen[-1], response.get("context", {})


# --- the token's shape --------------------------------------------------------------------------------------------


def test_a_minted_session_token_carries_descopes_tenants_object_and_current_tenant(issuer, http):
    token = issuer.mint("descope", tenants={"A": {"roles": ["admin"], "permissions": ["orders:read"]}, "B": {}},
                        dct="A")
    claims = verified_claims(http, issuer, token)
    assert claims["tenants"] == {"A": {"roles": ["admin"], "permissions": ["orders:read"]},
                                 "B": {"roles": [], "permissions": []}}
    assert claims["dct"] == "A" and claims["drn"] == "DS"
    # the rest of a Descope session token is unchanged: top-level roles/permissions, no aud
    assert isinstance(claims["roles"], list) and isinstance(claims["permissions"], list) and "aud" not in claims


def test_tenants_given_to_mint_replace_the_clients_configured_tenant(issuer, http):
    default = verified_claims(http, issuer, issuer.mint("descope"))
    assert list(default["tenants"]) == ["T2devtenant"] and "dct" not in default
    claims = verified_claims(http, issuer, issuer.mint("descope", tenants=["A", "B"]))
    assert claims["tenants"] == {"A": {"roles": [], "permissions": []}, "B": {"roles": [], "permissions": []}}
    assert claims["roles"] == ["orders-admin"], "the client's other claims stay"


def test_a_refresh_token_carries_the_tenants_too(issuer, http):
    # python-sdk descope/jwt_common.py reads tenants from the refresh token when there is no session token
    claims = verified_claims(http, issuer, issuer.mint("descope", token_use="refresh", tenants=["A"], dct="A"))
    assert (claims["drn"], claims["tenants"], claims["dct"]) == ("DSR", {"A": {"roles": [], "permissions": []}}, "A")


def test_tenant_ids_a_verifier_must_refuse_are_minted_as_given(issuer, http):
    odd = ["*", "a/b", "%41", "é", "x" * 1000]
    claims = verified_claims(http, issuer, issuer.mint("descope", tenants=odd))
    assert list(claims["tenants"]) == odd


@pytest.mark.parametrize(("options", "message"), [
    ({"tenants": "A"}, "tenants must be an object"),
    ({"tenants": {"A": ["admin"]}}, "must be an object with roles"),
    ({"tenants": {"A": {"role": ["admin"]}}}, "must be an object with roles"),
    ({"tenants": {"A": {"roles": "admin"}}}, r"tenants\['A'\].roles must be a list"),
    ({"tenants": {"": {}}}, "non-empty string"),
    ({"dct": ""}, "dct must be a tenant ID"),
    ({"tenants": ["A"], "dct": "B"}, "dct 'B' must be one of the tenants"),
])
def test_bad_tenant_options_are_refused_naming_the_option(issuer, http, options, message):
    with pytest.raises(ValueError, match=message):
        issuer.mint("descope", **options)
    response = http.post(f"{issuer.root}/_dev/mint", json={"profile": "descope", **options}, timeout=5)
    assert response.status_code == 400


def test_tenant_options_belong_to_descope_tokens_only(issuer):
    with pytest.raises(ValueError, match="tenants is an option of descope tokens, not oidc"):
        issuer.mint("oidc", tenants=["A"])
    with pytest.raises(ValueError, match="dct is an option of descope tokens, not entra"):
        issuer.mint("entra", dct="A")


def test_the_cli_mints_a_multi_tenant_token(issuer, http, capsys):
    assert main(["mint", "--issuer", issuer.root, "--profile", "descope",
                 "--tenants", '{"A": {"roles": ["admin"]}, "B": {"permissions": ["orders:read"]}}',
                 "--dct", "B"]) == 0
    claims = verified_claims(http, issuer, capsys.readouterr().out.strip())
    assert claims["tenants"] == {"A": {"roles": ["admin"], "permissions": []},
                                 "B": {"roles": [], "permissions": ["orders:read"]}}
    assert claims["dct"] == "B"
    assert main(["mint", "--issuer", issuer.root, "--profile", "descope", "--tenants", "A, B"]) == 0
    claims = verified_claims(http, issuer, capsys.readouterr().out.strip())
    assert list(claims["tenants"]) == ["A", "B"]
    assert main(["mint", "--issuer", issuer.root, "--profile", "descope", "--tenants", "A", "--dct", "C"]) == 1
    assert "dct 'C' must be one of the tenants" in capsys.readouterr().err


# --- the authorizer's tenant rule, with these tokens --------------------------------------------------------------


def test_an_admin_of_tenant_a_is_allowed_on_a_and_refused_on_b(issuer):
    authorizer = authorizer_for(issuer, {"roles": ["admin"]})
    token = issuer.mint("descope", tenants={"A": {"roles": ["admin"], "permissions": ["orders:read"]},
                                            "B": {"roles": ["viewer"]}}, dct="A")
    allowed, reason, context = decide(authorizer, token, "A")
    assert (allowed, reason) == (True, None)
    tenant_key, roles_key, permissions_key = TENANT_CONTEXT_KEYS
    assert (context[tenant_key], context[roles_key], context[permissions_key]) == ("A", '["admin"]',
                                                                                   '["orders:read"]')
    assert decide(authorizer, token, "B")[:2] == (False, "tenant_role_missing")  # a member of B, not its admin
    assert decide(authorizer, token, "C")[:2] == (False, "tenant_mismatch")


def test_a_token_without_tenants_is_refused_as_tenant_missing(issuer):
    authorizer = authorizer_for(issuer, {})
    assert decide(authorizer, issuer.mint("descope", tenants={}), "A")[:2] == (False, "tenant_missing")
    # IDs outside TENANT_ID are never granted: a token holding only such IDs names no usable tenant
    assert decide(authorizer, issuer.mint("descope", tenants=["*", "a/b"]), "*")[:2] == (False, "tenant_missing")


def test_a_permission_rule_is_checked_within_the_paths_tenant(issuer):
    authorizer = authorizer_for(issuer, {"permissions": ["orders:read"]})
    token = issuer.mint("descope", tenants={"A": {"permissions": ["orders:read"]}, "B": {"roles": ["admin"]}})
    assert decide(authorizer, token, "A")[:2] == (True, None)
    assert decide(authorizer, token, "B")[:2] == (False, "tenant_role_missing")


def test_the_current_tenant_claim_alone_names_one_tenant(issuer):
    # A rule on "dct" (Descope's current tenant): the single-string shape
    authorizer = authorizer_for(issuer, {"claim": "dct"})
    token = issuer.mint("descope", tenants=["A", "B"], dct="A")
    assert decide(authorizer, token, "A")[:2] == (True, None)
    assert decide(authorizer, token, "B")[:2] == (False, "tenant_mismatch")
