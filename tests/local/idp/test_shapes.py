"""The development issuer's tokens have the shapes the real providers issue, checked claim by claim.

Where each shape comes from (cited again at each test):
- Descope: shared/reference/identity-providers.md § Descope, which records real Descope-signed tokens from
  descope/python-sdk's tests (tests/testutils.py, test_auth.py): no aud, no client_id, drn "DS"/"DSR"; the
  agentic issuer form from descope/node-sdk lib/helpers.ts; keys at <base>/v2/keys/<P>.
- Cognito: identity-providers.md § Amazon Cognito and AWS's Cognito developer guide, "Understanding the access
  token" and "Understanding the identity (ID) token" (claim lists, token_use, version 2, no aud on access tokens).
- Entra ID: identity-providers.md § Microsoft Entra ID and Microsoft's "Access token claims reference" (v1.0 and
  v2.0 claims: aud, ver, azp/appid, tid, oid, roles, scp, uti, rh, aio) and "Signing key rollover" (JWKS entries
  with kid and x5t).
Every token is fetched from a real server on 127.0.0.1 (token endpoint or admin mint endpoint) and verified with
the key the issuer serves for its kid.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from jose import jwk, jws

from local.idp.cli import main
from local.idp.clients import (
    DEV_COGNITO_CLIENT,
    DEV_COGNITO_POOL,
    DEV_DESCOPE_PROJECT,
    DEV_ENTRA_CLIENT,
    DEV_ENTRA_TENANT,
    DEV_ENTRA_V1_CLIENT,
    Client,
    default_clients,
)
from local.idp.shapes import DEV_ENTRA_API_CLIENT_ID, DEV_ENTRA_API_ID_URI, DEV_USER_EMAIL, DEV_USER_ID, DEV_USER_NAME

SECRETS = {client.client_id: client.client_secret for client in default_clients()}
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")




def client_credentials(http, url, client_id, **form):
    response = http.post(url, auth=(client_id, SECRETS[client_id]),
                         data={"grant_type": "client_credentials", **form}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def verified(http, jwks_url, token):
    """(header, claims, served key) once the signature checks with the one served key the token's kid names."""
    header = jws.get_unverified_header(token)
    [key] = [k for k in http.get(jwks_url, timeout=5).json()["keys"] if k["kid"] == header["kid"]]
    assert key.get("alg", header["alg"]) == header["alg"]
    claims = json.loads(jws.verify(token, jwk.construct(key, header["alg"]), algorithms=[header["alg"]]))
    return header, claims, key


def admin_mint(http, issuer, **options):
    response = http.post(f"{issuer.root}/_dev/mint", json=options, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


# --- Descope (identity-providers.md § Descope) -------------------------------------------------------------------


def test_descope_default_session_token_has_no_aud_and_no_client_id(issuer, http):
    token = client_credentials(http, issuer.token_url("descope"), "orders-descope")
    header, claims, _ = verified(http, issuer.jwks_url("descope"), token)
    assert (header["typ"], header["alg"]) == ("JWT", "RS256") and header["kid"]
    assert set(claims) == {"iss", "sub", "iat", "exp", "drn", "amr", "roles", "permissions", "tenants", "scope"}
    assert claims["drn"] == "DS" and claims["amr"] == ["access_key"]
    assert claims["roles"] == ["orders-admin"] and claims["permissions"] == ["orders:read", "orders:write"]
    assert claims["tenants"] == {"T2devtenant": {"roles": ["orders-admin"],
                                                 "permissions": ["orders:read", "orders:write"]}}


def test_descope_bare_issuer_form_is_the_default_session_tokens_iss(issuer, http):
    # python-sdk's real session tokens: iss is the bare project id.
    _, claims, _ = verified(http, issuer.jwks_url("descope"), issuer.mint("descope", issuer_form="bare"))
    assert claims["iss"] == DEV_DESCOPE_PROJECT and "aud" not in claims


def test_descope_aud_only_from_a_client_configured_with_one(issuer, http):
    # A Descope JWT template that sets aud (what API Gateway's native authorizer needs).
    token = client_credentials(http, issuer.token_url("descope"), "orders-descope-template")
    _, claims, _ = verified(http, issuer.jwks_url("descope"), token)
    assert claims["aud"] == [DEV_DESCOPE_PROJECT]


def test_descope_refresh_token_has_drn_dsr_and_no_scope(issuer, http):
    token = admin_mint(http, issuer, profile="descope", token_use="refresh")
    _, claims, _ = verified(http, issuer.jwks_url("descope"), token)
    assert claims["drn"] == "DSR"
    assert "scope" not in claims and "aud" not in claims


def test_descope_agentic_issuer_uses_the_projects_keys_and_has_its_own_discovery(issuer, http):
    # node-sdk lib/helpers.ts: https://api.descope.com/v1/apps/agentic/<P>/<server-id>; same project keys.
    iss = issuer.issuer_url("descope", issuer_form="agentic", server_id="mcp-1")
    assert iss == f"{issuer.base_url('descope')}/v1/apps/agentic/{DEV_DESCOPE_PROJECT}/mcp-1"
    token = issuer.mint("descope", issuer_form="agentic", server_id="mcp-1")
    _, claims, _ = verified(http, f"{issuer.base_url('descope')}/v2/keys/{DEV_DESCOPE_PROJECT}", token)
    assert claims["iss"] == iss and claims["drn"] == "DS"
    document = http.get(issuer.discovery_url("descope", issuer_form="agentic", server_id="mcp-1"), timeout=5).json()
    assert document["issuer"] == iss
    assert http.get(document["jwks_uri"], timeout=5).json() == http.get(issuer.jwks_url("descope"), timeout=5).json()
    apps = http.get(issuer.discovery_url("descope", issuer_form="apps"), timeout=5).json()
    assert apps["issuer"] == f"{issuer.base_url('descope')}/v1/apps/{DEV_DESCOPE_PROJECT}"


# --- Cognito (identity-providers.md § Amazon Cognito; AWS Cognito developer guide) --------------------------------


def test_cognito_urls_are_the_presets_layout_under_base_url(issuer, http):
    base = issuer.base_url("cognito")
    assert issuer.issuer_url("cognito") == f"{base}/{DEV_COGNITO_POOL}"
    assert issuer.jwks_url("cognito") == f"{base}/{DEV_COGNITO_POOL}/.well-known/jwks.json"
    assert issuer.discovery_url("cognito") == f"{base}/{DEV_COGNITO_POOL}/.well-known/openid-configuration"
    document = http.get(issuer.discovery_url("cognito"), timeout=5).json()
    assert (document["issuer"], document["jwks_uri"]) == (issuer.issuer_url("cognito"), issuer.jwks_url("cognito"))
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    keys = http.get(issuer.jwks_url("cognito"), timeout=5).json()["keys"]
    assert {(k["kty"], k["alg"], k["use"]) for k in keys} == {("RSA", "RS256", "sig")}


def test_cognito_m2m_access_token_has_client_id_and_no_aud(issuer, http):
    token = client_credentials(http, issuer.token_url("cognito"), DEV_COGNITO_CLIENT, scope="orders-api/read")
    header, claims, _ = verified(http, issuer.jwks_url("cognito"), token)
    assert header == {"kid": header["kid"], "alg": "RS256"}  # Cognito writes no typ
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", header["kid"])  # standard base64, as Cognito's kids are
    assert set(claims) == {"sub", "iss", "version", "client_id", "token_use", "scope", "auth_time", "exp", "iat",
                           "jti"}
    assert claims["sub"] == claims["client_id"] == DEV_COGNITO_CLIENT
    assert (claims["token_use"], claims["version"], claims["scope"]) == ("access", 2, "orders-api/read")
    assert claims["iss"] == issuer.issuer_url("cognito")


def test_cognito_user_access_token_carries_username_and_groups(issuer, http):
    token = admin_mint(http, issuer, profile="cognito", groups=["orders-admins"])
    _, claims, _ = verified(http, issuer.jwks_url("cognito"), token)
    assert claims["cognito:groups"] == ["orders-admins"] and claims["username"] == DEV_USER_NAME
    assert claims["sub"] == DEV_USER_ID and claims["client_id"] == DEV_COGNITO_CLIENT
    assert claims["token_use"] == "access" and "aud" not in claims


def test_cognito_id_token_has_the_client_as_aud_and_no_scope(issuer, http):
    token = issuer.mint("cognito", token_use="id", groups=["orders-admins"])
    _, claims, _ = verified(http, issuer.jwks_url("cognito"), token)
    assert claims["aud"] == DEV_COGNITO_CLIENT and claims["token_use"] == "id"
    assert claims["cognito:username"] == DEV_USER_NAME and claims["cognito:groups"] == ["orders-admins"]
    assert claims["email"] == DEV_USER_EMAIL and claims["email_verified"] is True
    assert isinstance(claims["auth_time"], int) and GUID.fullmatch(claims["sub"])
    assert not {"scope", "client_id", "username"} & set(claims)


# --- Entra ID (identity-providers.md § Microsoft Entra ID; Microsoft's access token claims reference) -------------


def test_entra_urls_are_the_presets_layout_under_base_url(issuer, http):
    base = issuer.base_url("entra")
    assert issuer.issuer_url("entra") == f"{base}/{DEV_ENTRA_TENANT}/v2.0"
    assert issuer.issuer_url("entra", version="1.0") == f"{base}/{DEV_ENTRA_TENANT}/"  # sts.windows.net/<T>/
    assert issuer.jwks_url("entra") == f"{base}/{DEV_ENTRA_TENANT}/discovery/v2.0/keys"
    assert issuer.token_url("entra") == f"{base}/{DEV_ENTRA_TENANT}/oauth2/v2.0/token"
    for version in ("2.0", "1.0"):
        document = http.get(issuer.discovery_url("entra", version=version), timeout=5).json()
        assert document["issuer"] == issuer.issuer_url("entra", version=version)
        assert document["jwks_uri"] == issuer.jwks_url("entra")
    [key] = http.get(issuer.jwks_url("entra"), timeout=5).json()["keys"]
    assert set(key) == {"kty", "use", "kid", "x5t", "n", "e"} and key["x5t"] == key["kid"]  # no alg, as Entra


def test_entra_v2_app_token_has_roles_and_the_api_client_id_as_aud(issuer, http):
    token = client_credentials(http, issuer.token_url("entra"), DEV_ENTRA_CLIENT,
                               scope=f"{DEV_ENTRA_API_ID_URI}/.default")
    header, claims, _ = verified(http, issuer.jwks_url("entra"), token)
    assert header["typ"] == "JWT" and header["x5t"] == header["kid"] and len(header["kid"]) == 27
    assert set(claims) == {"aud", "iss", "iat", "nbf", "exp", "aio", "azp", "azpacr", "idtyp", "oid", "rh",
                           "roles", "sub", "tid", "uti", "ver"}
    assert (claims["aud"], claims["ver"], claims["azp"]) == (DEV_ENTRA_API_CLIENT_ID, "2.0", DEV_ENTRA_CLIENT)
    assert claims["roles"] == ["Orders.Read", "Orders.Write"] and claims["idtyp"] == "app"
    assert claims["tid"] == DEV_ENTRA_TENANT and claims["sub"] == claims["oid"] and GUID.fullmatch(claims["oid"])
    assert claims["iss"] == issuer.issuer_url("entra")


def test_entra_v1_token_has_the_app_id_uri_as_aud_and_appid(issuer, http):
    token = client_credentials(http, issuer.token_url("entra"), DEV_ENTRA_V1_CLIENT,
                               scope=f"{DEV_ENTRA_API_ID_URI}/.default")
    _, claims, _ = verified(http, issuer.jwks_url("entra"), token)
    assert (claims["aud"], claims["ver"], claims["iss"]) == (DEV_ENTRA_API_ID_URI, "1.0",
                                                             issuer.issuer_url("entra", version="1.0"))
    assert (claims["appid"], claims["appidacr"]) == (DEV_ENTRA_V1_CLIENT, "1") and "azp" not in claims
    assert claims["roles"] == ["Orders.Read"] and claims["tid"] == DEV_ENTRA_TENANT


def test_entra_delegated_token_has_scp_as_a_space_separated_string(issuer, http):
    token = admin_mint(http, issuer, profile="entra", scopes="Orders.Read Orders.Write", roles=["Orders.Admin"])
    _, claims, _ = verified(http, issuer.jwks_url("entra"), token)
    assert claims["scp"] == "Orders.Read Orders.Write" and claims["roles"] == ["Orders.Admin"]
    assert claims["idtyp"] == "user" and claims["oid"] == DEV_USER_ID and claims["sub"] != claims["oid"]


def test_entra_token_endpoint_wants_the_default_scope(issuer, http):
    response = http.post(issuer.token_url("entra"), auth=(DEV_ENTRA_CLIENT, SECRETS[DEV_ENTRA_CLIENT]),
                         data={"grant_type": "client_credentials", "scope": "Orders.Read"}, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


# --- The option checks (local/idp/profiles.py) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "options", "message"),
    [
        ("cognito", {"token_use": "refresh"}, "token_use for cognito"),
        ("descope", {"token_use": "id"}, "token_use for descope"),
        ("oidc", {"token_use": "access"}, "token_use is an option of"),
        ("cognito", {"version": "1.0"}, "version is an option of entra"),
        ("entra", {"version": "3.0"}, "version must be"),
        ("entra", {"groups": ["a"]}, "groups is an option of cognito"),
        ("entra", {"roles": "Orders.Read"}, "roles must be a list"),
        ("descope", {"server_id": "mcp-1"}, "issuer_form 'agentic'"),
        ("cognito", {"alg": "ES256"}, "for cognito"),
        ("entra", {"issuer_form": "bare"}, "not entra"),
        ("cognito", {"pool": "Dev123"}, "user pool id"),
        ("entra", {"tenant": "contoso"}, "GUID"),
    ],
)
def test_token_options_a_profile_does_not_have_are_refused_naming_the_option(issuer, http, profile, options,
                                                                              message):
    with pytest.raises(ValueError, match=message):
        issuer.mint(profile, **options)
    response = http.post(f"{issuer.root}/_dev/mint", json={"profile": profile, **options}, timeout=5)
    assert response.status_code == 400 and message in response.json()["error_description"]


def test_cli_mints_a_cognito_id_token_and_an_entra_v1_token(issuer, http, capsys):
    assert main(["mint", "--issuer", issuer.root, "--profile", "cognito", "--token-use", "id",
                 "--group", "a", "--group", "b"]) == 0
    _, cognito, _ = verified(http, issuer.jwks_url("cognito"), capsys.readouterr().out.strip())
    assert (cognito["token_use"], cognito["cognito:groups"]) == ("id", ["a", "b"])
    assert main(["mint", "--issuer", issuer.root, "--profile", "entra", "--version", "1.0",
                 "--role", "Orders.Read"]) == 0
    _, entra, _ = verified(http, issuer.jwks_url("entra"), capsys.readouterr().out.strip())
    assert (entra["ver"], entra["aud"], entra["roles"]) == ("1.0", DEV_ENTRA_API_ID_URI, ["Orders.Read"])


def test_client_token_options_are_checked_where_mint_options_are():
    with pytest.raises(ValueError, match="version must be"):
        Client("c", "s", "entra", (), (), token_options={"version": "2"})
    with pytest.raises(TypeError, match="unexpected token option"):
        Client("c", "s", "cognito", (), (), token_options={"ver": "2.0"})


def test_kids_are_written_as_each_provider_writes_them(issuer, http):
    def kid(profile):
        return jws.get_unverified_header(issuer.mint(profile))["kid"]

    assert base64.b64decode(kid("cognito"), validate=True)  # standard base64 with padding
    assert re.fullmatch(r"[A-Za-z0-9_-]{27}", kid("entra"))  # a base64url SHA-1 thumbprint
    assert kid("wso2").endswith("_RS256")
