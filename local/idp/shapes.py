"""What the development issuer's tokens look like: header, key id and claims, per provider and token kind.

Each shape follows shared/reference/identity-providers.md (the section named at each function) and the provider's
own documentation, so the authorizer, the local stack and ``make demo`` meet tokens as the providers issue them:

| profile | token kind (mint option)          | shape                                                              |
|---------|-----------------------------------|--------------------------------------------------------------------|
| descope | session (default)                 | drn "DS", amr, roles, permissions, tenants; no aud unless set      |
|         | tenants={...}, dct="T1"           | tenants: ID → {roles, permissions}; dct: the current tenant        |
| descope | token_use="refresh"               | drn "DSR" (and tenants/dct when given)                             |
| cognito | access (default)                  | token_use, client_id, scope string, version 2, no aud; user ones   |
|         |                                   | with groups: username, cognito:groups                              |
| cognito | token_use="id"                    | aud = client id, cognito:username, cognito:groups, email           |
| entra   | version "2.0" (default) / "1.0"   | aud client id / app ID URI, ver, azp / appid, tid, oid, roles, scp |
| wso2    | (one kind)                        | typ at+jwt, azp, client_id, aut                                    |
| passage | (one kind)                        | aud [auth origin, app id]                                          |

Option checks live in local/idp/profiles.py; this module only builds. No sockets and no keys here.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

# An Entra ID API registration: the client ID (v2 aud) and its app ID URI (v1 aud). Made-up GUIDs.
DEV_ENTRA_API_CLIENT_ID = "6f1c4a52-0d3e-4b7a-9c25-5e8d1a0b7f01"
DEV_ENTRA_API_ID_URI = f"api://{DEV_ENTRA_API_CLIENT_ID}"
# The user that hand-minted user tokens (Cognito id tokens, user access tokens, Entra delegated tokens) are about.
DEV_USER_NAME = "dev-user"
DEV_USER_EMAIL = "dev-user@example.com"
DEV_USER_ID = "4f8e2b1c-7a3d-4e5f-9b0a-1c2d3e4f5a6b"  # Cognito sub / Entra oid: a GUID


def _b64(data: bytes, *, url: bool = True) -> str:
    if url:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    return base64.b64encode(data).decode("ascii")


def key_id(profile: str, thumbprint: bytes, alg: str) -> str:
    """The ``kid`` of a key, from its RFC 7638 SHA-256 thumbprint, written as the provider writes kids.

    WSO2 (7.x) appends the algorithm; Cognito's kids are standard base64 (with ``+``, ``/`` and ``=`` padding);
    Entra's are a certificate's SHA-1 thumbprint in base64url (27 characters, also sent as ``x5t``)."""
    if profile == "wso2":
        return f"{_b64(thumbprint)}_{alg}"
    if profile == "cognito":
        return _b64(thumbprint, url=False)
    if profile == "entra":
        return _b64(thumbprint[:20])
    return _b64(thumbprint)


def public_jwk(profile: str, public: dict, kid: str, alg: str) -> dict:
    """A JWKS entry as the provider publishes it: Entra lists no ``alg`` but an ``x5t``; the others name ``alg``."""
    if profile == "entra":
        return {"kty": public["kty"], "use": "sig", "kid": kid, "x5t": kid, "n": public["n"], "e": public["e"]}
    return {**public, "kid": kid, "use": "sig", "alg": alg}


def token_header(profile: str, alg: str, kid: str) -> dict:
    """The JOSE header: WSO2 6.0+ writes RFC 9068 ``at+jwt``; Cognito writes no ``typ``; Entra adds ``x5t``."""
    if profile == "cognito":
        return {"kid": kid, "alg": alg}
    if profile == "entra":
        return {"typ": "JWT", "alg": alg, "x5t": kid, "kid": kid}
    return {"alg": alg, "typ": "at+jwt" if profile == "wso2" else "JWT", "kid": kid}


def default_audiences(profile: str, realm: str | None, client_id: str, shape: dict | None = None) -> tuple[str, ...]:
    """The audiences a client's tokens carry when its configuration names none (empty: no ``aud``)."""
    shape = shape or {}
    if profile == "passage":
        return (str(realm),)
    if profile == "descope":
        return ()  # Descope's default session token has no aud: only a JWT template adds one
    if profile == "cognito":
        return (client_id,) if shape.get("token_use") == "id" else ()  # access tokens carry client_id instead
    if profile == "entra":
        return (DEV_ENTRA_API_ID_URI,) if shape.get("version") == "1.0" else (DEV_ENTRA_API_CLIENT_ID,)
    return (client_id,)


def audience_claim(profile: str, audiences: list[str], *, passage_auth_origin: str) -> str | list[str] | None:
    """``aud`` as each provider writes it; None means no ``aud`` claim."""
    if profile == "passage":
        # Current Passage tokens: [auth origin, app id]; older ones carried only the auth origin.
        return [passage_auth_origin, *audiences]
    if not audiences:
        return None
    if profile == "descope":
        return list(audiences)
    # WSO2, Cognito, Entra and generic OIDC: a string for one audience, a list for several.
    return audiences[0] if len(audiences) == 1 else list(audiences)


def granted(profile: str, client_scopes: list[str] | tuple[str, ...], scopes: list[str] | None,
            shape: dict) -> tuple[list[str], dict]:
    """(scopes for the token, shape) from a client's scopes and the scopes asked for (None: the client's).

    An Entra client-credentials token carries the client's application permissions as ``roles`` and no ``scp``;
    scopes asked for by name make a delegated token (``scp``). Elsewhere the scopes are the ``scope`` claim."""
    if profile == "entra" and scopes is None:
        return [], {**shape, "roles": shape.get("roles", list(client_scopes))}
    return (list(client_scopes) if scopes is None else list(scopes)), shape


def entra_default_scope(requested: str | None) -> bool:
    """Entra's client-credentials grant asks for ``<resource>/.default`` (one value): the app's permissions."""
    return requested is not None and len(requested.split()) == 1 and requested.endswith("/.default")


def _opaque(seed: str, size: int) -> str:
    """A stable base64url string standing in for a provider's opaque value (Entra aio/rh/uti)."""
    return _b64(uuid.uuid5(uuid.NAMESPACE_URL, seed).bytes * 4)[:size]


def token_claims(
    profile: str,
    *,
    issuer: str,
    realm: str | None,
    client_id: str,
    scopes: list[str],
    audiences: list[str],
    issued_at: int,
    expires_in: int,
    not_before: int | None,
    jwt_id: str,
    passage_auth_origin: str,
    shape: dict | None = None,
) -> dict:
    """The claims of a token, shaped like the provider's own. ``shape``: checked mint options (check_shape)."""
    shape = shape or {}
    aud = audience_claim(profile, audiences, passage_auth_origin=passage_auth_origin)
    if profile == "cognito":
        claims = _cognito(issuer, client_id, scopes, issued_at, jwt_id, shape)
    elif profile == "entra":
        claims = _entra(issuer, str(realm), client_id, scopes, issued_at, jwt_id, shape)
    else:
        claims = {"iss": issuer, "sub": client_id}
    if aud is not None:
        claims["aud"] = aud
    claims["iat"] = issued_at
    if not_before is not None:
        claims["nbf"] = not_before
    claims["exp"] = issued_at + expires_in
    if profile == "descope":
        _descope(claims, shape)
    elif profile == "wso2":
        claims.update(azp=client_id, client_id=client_id, aut="APPLICATION", jti=jwt_id)
        claims.setdefault("nbf", issued_at)
    elif profile == "oidc":
        claims.update(client_id=client_id, jti=jwt_id)
    elif profile == "entra":
        claims.setdefault("nbf", issued_at)
    if scopes and profile not in ("cognito", "entra") and shape.get("token_use") != "refresh":
        claims["scope"] = " ".join(scopes)
    return claims


def _descope(claims: dict, shape: dict) -> None:
    """identity-providers.md, Descope: drn "DS" (session) or "DSR" (refresh), amr, roles, permissions, tenants.

    An access key's (M2M) token: ``sub`` is the key id; roles/permissions/tenants come from the client's extra
    claims when configured, or from the ``tenants``/``dct`` mint options. No ``aud`` and no ``client_id`` unless a
    JWT template adds them.

    Multi-tenant shape, as Descope's SDKs read it: ``tenants`` is an object, tenant ID → ``{"roles": [...],
    "permissions": [...]}`` (descope/python-sdk at f7b418c5838a055636da2ba1eb9b06d60af6e230,
    ``descope/_client_base.py``: validate_tenant_roles/_permissions read ``tenants.<id>.roles``; descope/go-sdk at
    cc37f9e24fb0ab4f406d8d5620be76df3feae748, ``descope/types.go``: ClaimAuthorizedTenants = "tenants"), and ``dct``
    is the current tenant's ID, a string (go-sdk ClaimDescopeCurrentTenant = "dct"; its
    ``descope/internal/auth/auth.go`` also accepts a token with ``dct`` and no ``tenants``, whose top-level roles
    are then that tenant's). python-sdk ``descope/jwt_common.py`` (d660c0e300b19fcdc8f51e0c0e80e2256904a799) reads
    ``tenants`` from refresh tokens too. The tokens minted here are built by us, from this shape."""
    tenancy = {name: shape[name] for name in ("tenants", "dct") if name in shape}
    if shape.get("token_use") == "refresh":
        claims.update(drn="DSR", amr=["access_key"], **tenancy)
        return
    claims.update({"drn": "DS", "amr": ["access_key"], "roles": [], "permissions": [], "tenants": {}, **tenancy})


def _cognito(issuer: str, client_id: str, scopes: list[str], issued_at: int, jwt_id: str, shape: dict) -> dict:
    """identity-providers.md, Amazon Cognito; AWS docs "Understanding the access token" / "... the identity token".

    Access: sub, token_use, scope (string), auth_time, iss, exp, iat, version 2, jti, client_id; no aud. A user's
    access token (``groups`` given) has the user's sub, ``username`` and ``cognito:groups``; an M2M one (client
    credentials) has ``sub`` = the client id. Id: sub, ``cognito:groups``, ``cognito:username``, ``email``,
    ``email_verified``, aud (set by the caller), token_use, auth_time; no scope, no client_id."""
    groups = shape.get("groups")
    if shape.get("token_use") == "id":
        claims: dict[str, Any] = {"sub": DEV_USER_ID}
        if groups:
            claims["cognito:groups"] = list(groups)
        claims.update({"email_verified": True, "iss": issuer, "cognito:username": DEV_USER_NAME,
                       "origin_jti": _opaque(jwt_id + "origin", 36), "token_use": "id", "auth_time": issued_at,
                       "email": DEV_USER_EMAIL, "jti": jwt_id})
        return claims
    claims = {"sub": DEV_USER_ID if groups is not None else client_id}
    if groups:
        claims["cognito:groups"] = list(groups)
    claims.update({"iss": issuer, "version": 2, "client_id": client_id, "token_use": "access"})
    if scopes:
        claims["scope"] = " ".join(scopes)
    claims.update(auth_time=issued_at, jti=jwt_id)
    if groups is not None:
        claims["username"] = DEV_USER_NAME
    return claims


def _entra(issuer: str, tenant: str, client_id: str, scopes: list[str], issued_at: int, jwt_id: str,
           shape: dict) -> dict:
    """identity-providers.md, Microsoft Entra ID; Microsoft docs "Access token claims reference".

    v2 (``ver`` "2.0"): aud = the API's client id, azp/azpacr = the caller. v1 (``ver`` "1.0"): aud = the app ID
    URI, appid/appidacr. Both: tid, oid, sub, aio, rh, uti, idtyp; ``roles`` (list: application permissions, what a
    client-credentials token carries) and ``scp`` (space-separated: delegated, a user's token)."""
    delegated = bool(scopes)
    caller_oid = DEV_USER_ID if delegated else str(uuid.uuid5(uuid.NAMESPACE_URL, f"entra:{tenant}:{client_id}"))
    claims: dict = {"iss": issuer, "aio": _opaque(jwt_id + "aio", 56)}
    if shape.get("version") == "1.0":
        claims.update(appid=client_id, appidacr="1")
        if not delegated:
            claims["idp"] = issuer
    else:
        claims.update(azp=client_id, azpacr="1")
    claims["idtyp"] = "user" if delegated else "app"
    if delegated:
        claims.update(name="Dev User", preferred_username=DEV_USER_EMAIL)
    claims["oid"] = caller_oid
    claims["rh"] = "0." + _opaque(jwt_id + "rh", 54) + "."
    if shape.get("roles"):
        claims["roles"] = list(shape["roles"])
    if delegated:
        claims["scp"] = " ".join(scopes)
    # v1 and v2 app tokens: sub = oid; a user's sub is pairwise per app.
    claims["sub"] = caller_oid if not delegated else _opaque(f"{tenant}:{client_id}:{DEV_USER_ID}", 43)
    claims.update(tid=tenant, uti=_opaque(jwt_id + "uti", 22), ver=shape.get("version", "2.0"))
    return claims


__all__ = [
    "DEV_ENTRA_API_CLIENT_ID",
    "DEV_ENTRA_API_ID_URI",
    "DEV_USER_EMAIL",
    "DEV_USER_ID",
    "DEV_USER_NAME",
    "audience_claim",
    "entra_default_scope",
    "granted",
    "default_audiences",
    "key_id",
    "public_jwk",
    "token_claims",
    "token_header",
]
