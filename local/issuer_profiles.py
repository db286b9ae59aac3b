"""Where each development issuer lives and what its access tokens look like.

The dev issuer (local/issuer.py) hosts four provider profiles under path prefixes of one loopback server. This
module holds the pure part of that: the URL layout of each profile (shaped like the real provider, so the
authorizer's presets given a ``base_url`` override, and generic OIDC discovery, work unchanged), the route table
that maps a request path back to an issuer, and the header and claims of an access token per provider, following
shared/reference/identity-providers.md. No sockets and no keys here.

A *realm* is what distinguishes issuers within a profile: the Descope project id, the Passage app id, the WSO2
tenant (``None``: the super tenant). The generic ``oidc`` profile has a single issuer (realm ``None``).

    >>> issuer_path("passage", "app1")
    '/passage/v1/apps/app1'
    >>> route("/descope/v2/keys/P2x")
    Route(endpoint='jwks', profile='descope', realm='P2x')
"""

from __future__ import annotations

import re
from typing import NamedTuple

PROFILES = ("oidc", "descope", "passage", "wso2")
SIGNING_ALGS = ("RS256", "ES256")
ISSUER_FORMS = ("url", "bare")
# Descope (older projects) and Passage (older tokens) issued tokens whose iss is the bare project or app id.
BARE_FORM_PROFILES = ("descope", "passage")
# The keyword that names the realm in DevIssuer.issuer_url() and friends, per profile.
REALM_KEYWORD = {"oidc": None, "descope": "project", "passage": "app", "wso2": "tenant"}
# Realms appear in URL paths: keep them to characters that need no escaping.
REALM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"


# --- URL layout (paths relative to the server root) -------------------------------------------------------------


def base_path(profile: str) -> str:
    """What a provider preset's ``base_url`` override points at (the stand-in for https://api.descope.com etc.)."""
    return "/" + profile


def _wso2_prefix(tenant: str | None) -> str:
    return "/wso2" if tenant is None else f"/wso2/t/{tenant}"


def issuer_path(profile: str, realm: str | None) -> str:
    """The URL form of the issuer, relative to the root (the ``iss`` is root + this)."""
    if profile == "oidc":
        return "/oidc"
    if profile == "descope":
        # The "AWS API Gateway" JWT template's form: https://api.descope.com/<projectId>
        return f"/descope/{realm}"
    if profile == "passage":
        return f"/passage/v1/apps/{realm}"
    if profile == "wso2":
        # WSO2's iss is its token endpoint.
        return _wso2_prefix(realm) + "/oauth2/token"
    raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")


def jwks_path(profile: str, realm: str | None) -> str:
    """Where the provider's SDKs fetch keys (for Descope, the v2 keys endpoint)."""
    if profile == "oidc":
        return "/oidc/jwks"
    if profile == "descope":
        return f"/descope/v2/keys/{realm}"
    if profile == "passage":
        return issuer_path(profile, realm) + "/.well-known/jwks.json"
    if profile == "wso2":
        return _wso2_prefix(realm) + "/oauth2/jwks"
    raise ValueError(f"unknown profile {profile!r}")


def discovery_jwks_path(profile: str, realm: str | None) -> str:
    """The ``jwks_uri`` a discovery document announces (Descope announces its .well-known form)."""
    if profile == "descope":
        return f"/descope/{realm}/.well-known/jwks.json"
    return jwks_path(profile, realm)


def token_path(profile: str, realm: str | None) -> str:
    if profile == "oidc":
        return "/oidc/token"
    if profile == "descope":
        # One endpoint for every project: the client's credentials say which project it belongs to.
        return "/descope/oauth2/v1/token"
    if profile == "passage":
        return issuer_path(profile, realm) + "/token"
    if profile == "wso2":
        return issuer_path(profile, realm)
    raise ValueError(f"unknown profile {profile!r}")


def discovery_path(profile: str, realm: str | None) -> str:
    return issuer_path(profile, realm) + DISCOVERY_SUFFIX


def issuer_identifier(root: str, profile: str, realm: str | None, form: str = "url") -> str:
    """The ``iss`` of a token: the URL form, or the bare project/app id for ``form="bare"``."""
    check_issuer_form(profile, form)
    if form == "bare":
        return str(realm)
    return root + issuer_path(profile, realm)


def discovery_document(root: str, profile: str, realm: str | None, *, scopes: list[str]) -> dict:
    """The OpenID Provider metadata served at ``<iss>/.well-known/openid-configuration``."""
    return {
        "issuer": issuer_identifier(root, profile, realm),
        "jwks_uri": root + discovery_jwks_path(profile, realm),
        "token_endpoint": root + token_path(profile, realm),
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": sorted(set(scopes)),
    }


# --- Routing: request path -> issuer endpoint -------------------------------------------------------------------


class Route(NamedTuple):
    endpoint: str  # "discovery" | "jwks" | "token" | "admin_mint"
    profile: str | None
    # None for the oidc issuer, the WSO2 super tenant, the Descope token endpoint (shared by all projects) and
    # the admin endpoint.
    realm: str | None


_REALM = r"(?P<realm>[^/]+)"
_WELL_KNOWN = r"/\.well-known/openid-configuration"
_ROUTES = [
    (r"/oidc" + _WELL_KNOWN, "discovery", "oidc"),
    (r"/oidc/jwks", "jwks", "oidc"),
    (r"/oidc/token", "token", "oidc"),
    (r"/descope/" + _REALM + _WELL_KNOWN, "discovery", "descope"),
    (r"/descope/v2/keys/" + _REALM, "jwks", "descope"),
    (r"/descope/" + _REALM + r"/\.well-known/jwks\.json", "jwks", "descope"),
    (r"/descope/oauth2/v1/token", "token", "descope"),
    (r"/passage/v1/apps/" + _REALM + _WELL_KNOWN, "discovery", "passage"),
    (r"/passage/v1/apps/" + _REALM + r"/\.well-known/jwks\.json", "jwks", "passage"),
    (r"/passage/v1/apps/" + _REALM + r"/token", "token", "passage"),
    (r"/wso2/oauth2/token" + _WELL_KNOWN, "discovery", "wso2"),
    (r"/wso2/oauth2/jwks", "jwks", "wso2"),
    (r"/wso2/oauth2/token", "token", "wso2"),
    (r"/wso2/t/" + _REALM + r"/oauth2/token" + _WELL_KNOWN, "discovery", "wso2"),
    (r"/wso2/t/" + _REALM + r"/oauth2/jwks", "jwks", "wso2"),
    (r"/wso2/t/" + _REALM + r"/oauth2/token", "token", "wso2"),
    (r"/_dev/mint", "admin_mint", None),
]
_COMPILED_ROUTES = [(re.compile(pattern), endpoint, profile) for pattern, endpoint, profile in _ROUTES]


def route(path: str) -> Route | None:
    """The endpoint a request path (without query string) addresses, or None. Realms are not checked here."""
    for pattern, endpoint, profile in _COMPILED_ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return Route(endpoint, profile, match.groupdict().get("realm"))
    return None


# --- Option checks (shared by Client, DevIssuer and the admin endpoint; errors name the option) -----------------


def check_profile(profile: object) -> None:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")


def check_alg(alg: object) -> None:
    if alg not in SIGNING_ALGS:
        raise ValueError(f"unsupported alg {alg!r}; expected one of {', '.join(SIGNING_ALGS)}")


def check_issuer_form(profile: str, form: object) -> None:
    if form not in ISSUER_FORMS:
        raise ValueError(f"issuer_form must be one of {ISSUER_FORMS}, not {form!r}")
    if form == "bare" and profile not in BARE_FORM_PROFILES:
        raise ValueError(f"issuer_form 'bare' exists only for {' and '.join(BARE_FORM_PROFILES)}")


def check_realm(profile: str, realm: object) -> None:
    keyword = REALM_KEYWORD[profile]
    if realm is None:
        if profile in ("descope", "passage"):
            raise ValueError(f"{profile} needs a {keyword}")
        return
    if keyword is None:
        raise ValueError("the oidc profile has a single issuer")
    if not isinstance(realm, str) or not REALM_PATTERN.fullmatch(realm):
        raise ValueError(f"{keyword} must be letters, digits, '.', '_' or '-' (up to 128), not {realm!r}")


def scope_list(scopes: object) -> list[str]:
    """Scopes from a space-separated string or a list of names, duplicates removed."""
    if isinstance(scopes, str):
        return list(dict.fromkeys(scopes.split()))
    if not isinstance(scopes, (list, tuple)) or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise ValueError("scopes must be a space-separated string or a list of scope names")
    return list(dict.fromkeys(scopes))


def audience_list(audience: object) -> list[str]:
    if isinstance(audience, str):
        return [audience]
    if not isinstance(audience, (list, tuple)) or not all(isinstance(a, str) for a in audience):
        raise ValueError("audience must be a string or a list of strings")
    return list(audience)


def epoch_seconds(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of seconds")
    return int(value)


# --- Token shapes -----------------------------------------------------------------------------------------------


def key_id(profile: str, thumbprint: str, alg: str) -> str:
    """The ``kid`` of a key: its RFC 7638 thumbprint; WSO2 (7.x) appends the algorithm."""
    return f"{thumbprint}_{alg}" if profile == "wso2" else thumbprint


def token_type(profile: str) -> str:
    """The JOSE header ``typ``: WSO2 6.0+ marks access tokens as RFC 9068 ``at+jwt``."""
    return "at+jwt" if profile == "wso2" else "JWT"


def default_audiences(profile: str, realm: str | None, client_id: str) -> tuple[str, ...]:
    """The audiences a client's tokens carry when its configuration names none."""
    if profile in ("descope", "passage"):
        return (str(realm),)
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
    # WSO2 and generic OIDC: a string for one audience, a list for several.
    return audiences[0] if len(audiences) == 1 else list(audiences)


def access_token_claims(
    profile: str,
    *,
    issuer: str,
    client_id: str,
    scopes: list[str],
    audiences: list[str],
    issued_at: int,
    expires_in: int,
    not_before: int | None,
    jwt_id: str,
    passage_auth_origin: str,
) -> dict:
    """The claims of a client-credentials access token, shaped like the provider's own."""
    claims: dict = {"iss": issuer, "sub": client_id}
    aud = audience_claim(profile, audiences, passage_auth_origin=passage_auth_origin)
    if aud is not None:
        claims["aud"] = aud
    claims["iat"] = issued_at
    if not_before is not None:
        claims["nbf"] = not_before
    claims["exp"] = issued_at + expires_in
    if profile == "descope":
        # M2M session token; roles/permissions/tenants come from the client's extra claims when configured.
        claims.update(drn="DS", amr=["access_key"], roles=[], permissions=[], tenants={})
    elif profile == "wso2":
        claims.update(azp=client_id, client_id=client_id, aut="APPLICATION", jti=jwt_id)
        claims.setdefault("nbf", issued_at)
    elif profile == "oidc":
        claims.update(client_id=client_id, jti=jwt_id)
    if scopes:
        claims["scope"] = " ".join(scopes)
    return claims
