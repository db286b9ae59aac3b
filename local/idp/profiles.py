"""Where each development issuer lives, and the checks of every option that shapes its tokens.

The dev issuer (local/idp/issuer.py) hosts six provider profiles under path prefixes of one loopback server. This
module holds the pure part of that: the URL layout of each profile (shaped like the real provider, so the
authorizer's presets given a ``base_url`` override, and generic OIDC discovery, work unchanged), the route table
that maps a request path back to an issuer, and the option checks shared by Client, DevIssuer.mint, the admin
endpoint and the CLI. The claims themselves are in local/idp/shapes.py. No sockets and no keys here.

A *realm* is what distinguishes issuers within a profile: the Descope project id, the Passage app id, the WSO2
tenant (``None``: the super tenant), the Cognito user pool id, the Entra tenant id. The generic ``oidc`` profile
has a single issuer (realm ``None``).

    >>> issuer_path("passage", "app1")
    '/passage/v1/apps/app1'
    >>> route("/descope/v2/keys/P2x")
    Route(endpoint='jwks', profile='descope', realm='P2x', variant=())
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

PROFILES = ("oidc", "descope", "passage", "wso2", "cognito", "entra")
SIGNING_ALGS = ("RS256", "ES256")
# Cognito and Entra ID sign with RS256 only (identity-providers.md); the others publish an RSA and an EC key.
RSA_ONLY_PROFILES = ("cognito", "entra")
# url: the profile's URL issuer. bare: the project/app id itself (Descope's default session token, older Passage
# tokens). apps: Descope's https://api.descope.com/v1/apps/<P>. agentic: Descope's MCP/agentic-app issuer
# https://api.descope.com/v1/apps/agentic/<P>/<server-id> (same project keys).
ISSUER_FORMS = ("url", "bare", "apps", "agentic")
ISSUER_FORMS_OF = {"descope": ("url", "bare", "apps", "agentic"), "passage": ("url", "bare")}
BARE_FORM_PROFILES = ("descope", "passage")
# The keyword that names the realm in DevIssuer.issuer_url() and friends, per profile.
REALM_KEYWORD = {"oidc": None, "descope": "project", "passage": "app", "wso2": "tenant", "cognito": "pool",
                 "entra": "tenant"}
# Profiles whose realm is always named (no single default issuer without one).
NAMED_REALM_PROFILES = ("descope", "passage", "cognito", "entra")
# Token kinds (mint option token_use): Descope session/refresh (drn DS/DSR), Cognito access/id (token_use claim).
TOKEN_USES = {"descope": ("session", "refresh"), "cognito": ("access", "id")}
# Entra ID access token versions (mint option version; the API's accessTokenAcceptedVersion decides).
ENTRA_VERSIONS = ("2.0", "1.0")
DEFAULT_AGENTIC_SERVER = "orders-mcp"
# Realms appear in URL paths: keep them to characters that need no escaping.
REALM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"


# --- URL layout (paths relative to the server root) -------------------------------------------------------------


def base_path(profile: str) -> str:
    """What a provider preset's ``base_url`` override points at (the stand-in for https://api.descope.com etc.)."""
    return "/" + profile


def signing_algs(profile: str) -> tuple[str, ...]:
    """The algorithms the profile's issuers sign with (and publish keys for)."""
    return ("RS256",) if profile in RSA_ONLY_PROFILES else SIGNING_ALGS


def _wso2_prefix(tenant: str | None) -> str:
    return "/wso2" if tenant is None else f"/wso2/t/{tenant}"


def issuer_path(profile: str, realm: str | None, form: str = "url", *, version: str | None = None,
                server_id: str | None = None) -> str:
    """The URL form of the issuer, relative to the root (the ``iss`` is root + this).

    ``form`` picks Descope's ``apps`` or ``agentic`` form (``server_id``: the MCP server); ``version`` "1.0" picks
    Entra's v1 issuer (``https://sts.windows.net/<T>/``, trailing slash included)."""
    if profile == "oidc":
        return "/oidc"
    if profile == "descope":
        if form == "apps":
            return f"/descope/v1/apps/{realm}"
        if form == "agentic":
            return f"/descope/v1/apps/agentic/{realm}/{server_id or DEFAULT_AGENTIC_SERVER}"
        # The "AWS API Gateway" JWT template's form: https://api.descope.com/<projectId>
        return f"/descope/{realm}"
    if profile == "passage":
        return f"/passage/v1/apps/{realm}"
    if profile == "wso2":
        # WSO2's iss is its token endpoint.
        return _wso2_prefix(realm) + "/oauth2/token"
    if profile == "cognito":
        # https://cognito-idp.<region>.amazonaws.com/<userPoolId>
        return f"/cognito/{realm}"
    if profile == "entra":
        # v2: https://login.microsoftonline.com/<T>/v2.0; v1: https://sts.windows.net/<T>/
        return f"/entra/{realm}/" if version == "1.0" else f"/entra/{realm}/v2.0"
    raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")


def jwks_path(profile: str, realm: str | None) -> str:
    """Where the provider's SDKs fetch keys (for Descope, the v2 keys endpoint)."""
    if profile == "oidc":
        return "/oidc/jwks"
    if profile == "descope":
        return f"/descope/v2/keys/{realm}"
    if profile in ("passage", "cognito"):
        return issuer_path(profile, realm) + "/.well-known/jwks.json"
    if profile == "wso2":
        return _wso2_prefix(realm) + "/oauth2/jwks"
    if profile == "entra":
        return f"/entra/{realm}/discovery/v2.0/keys"  # one key set for v1 and v2 tokens
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
    if profile == "cognito":
        # On Cognito the token endpoint is the pool's domain (https://<domain>.auth.<region>.amazoncognito.com).
        return f"/cognito/{realm}/oauth2/token"
    if profile == "entra":
        return f"/entra/{realm}/oauth2/v2.0/token"
    raise ValueError(f"unknown profile {profile!r}")


def discovery_path(profile: str, realm: str | None, form: str = "url", **variant: str | None) -> str:
    return issuer_path(profile, realm, form, **variant).rstrip("/") + DISCOVERY_SUFFIX


def issuer_identifier(root: str, profile: str, realm: str | None, form: str = "url", *, version: str | None = None,
                      server_id: str | None = None) -> str:
    """The ``iss`` of a token: a URL form, or the bare project/app id for ``form="bare"``."""
    check_issuer_form(profile, form)
    if form == "bare":
        return str(realm)
    return root + issuer_path(profile, realm, form, version=version, server_id=server_id)


def discovery_document(root: str, profile: str, realm: str | None, *, scopes: list[str], form: str = "url",
                       version: str | None = None, server_id: str | None = None) -> dict:
    """The OpenID Provider metadata served at ``<iss>/.well-known/openid-configuration``."""
    return {
        "issuer": issuer_identifier(root, profile, realm, form, version=version, server_id=server_id),
        "jwks_uri": root + discovery_jwks_path(profile, realm),
        "token_endpoint": root + token_path(profile, realm),
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(signing_algs(profile)),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": sorted(set(scopes)),
    }


# --- Routing: request path -> issuer endpoint -------------------------------------------------------------------


class Route(NamedTuple):
    # "discovery" | "jwks" | "token" | "admin_mint", and an authorization server's (authorization_servers.py):
    # "as_metadata" | "authorize" | "register" | "as_token"
    endpoint: str
    profile: str | None
    # None for the oidc issuer, the WSO2 super tenant, the Descope token endpoint (shared by all projects) and
    # the admin endpoint.
    realm: str | None
    # Which issuer of the realm a discovery document is for: discovery_document() keyword arguments as pairs.
    variant: tuple[tuple[str, str], ...] = ()


_REALM = r"(?P<realm>[^/]+)"
_WELL_KNOWN = r"/\.well-known/openid-configuration"
_AS_WELL_KNOWN = r"/\.well-known/oauth-authorization-server"
# A server id is a realm-like name (check_shape): anything else routes nowhere (404).
_AGENTIC = r"/descope/v1/apps/agentic/" + _REALM + f"/(?P<server_id>{REALM_PATTERN.pattern})"
_ROUTES: list[tuple[Any, ...]] = [
    (r"/oidc" + _WELL_KNOWN, "discovery", "oidc"),
    (r"/oidc/jwks", "jwks", "oidc"),
    (r"/oidc/token", "token", "oidc"),
    (_AS_WELL_KNOWN + r"/oidc", "as_metadata", "oidc"),
    (r"/oidc" + _AS_WELL_KNOWN, "as_metadata", "oidc"),
    (r"/oidc/authorize", "authorize", "oidc"),
    (r"/oidc/register", "register", "oidc"),
    (r"/descope/" + _REALM + _WELL_KNOWN, "discovery", "descope"),
    (r"/descope/v1/apps/" + _REALM + _WELL_KNOWN, "discovery", "descope", ("form", "apps")),
    (_AGENTIC + _WELL_KNOWN, "discovery", "descope", ("form", "agentic")),
    (_AS_WELL_KNOWN + _AGENTIC, "as_metadata", "descope", ("form", "agentic")),
    (_AGENTIC + _AS_WELL_KNOWN, "as_metadata", "descope", ("form", "agentic")),
    (_AGENTIC + r"/authorize", "authorize", "descope", ("form", "agentic")),
    (_AGENTIC + r"/token", "as_token", "descope", ("form", "agentic")),
    (_AGENTIC + r"/register", "register", "descope", ("form", "agentic")),
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
    (r"/cognito/" + _REALM + _WELL_KNOWN, "discovery", "cognito"),
    (r"/cognito/" + _REALM + r"/\.well-known/jwks\.json", "jwks", "cognito"),
    (r"/cognito/" + _REALM + r"/oauth2/token", "token", "cognito"),
    (r"/entra/" + _REALM + r"/v2\.0" + _WELL_KNOWN, "discovery", "entra"),
    (r"/entra/" + _REALM + _WELL_KNOWN, "discovery", "entra", ("version", "1.0")),
    (r"/entra/" + _REALM + r"/discovery/v2\.0/keys", "jwks", "entra"),
    (r"/entra/" + _REALM + r"/oauth2/v2\.0/token", "token", "entra"),
    (r"/_dev/mint", "admin_mint", None),
]
# pattern, endpoint, profile, and the (option, value) pairs a route implies (Entra's v1 discovery: version 1.0)
_COMPILED_ROUTES: list[tuple[re.Pattern[str], str, str | None, tuple[tuple[str, str], ...]]] = [
    (re.compile(entry[0]), entry[1], entry[2], tuple(entry[3:]))
    for entry in _ROUTES]


def route(path: str) -> Route | None:
    """The endpoint a request path (without query string) addresses, or None. Realms are not checked here."""
    for pattern, endpoint, profile, variant in _COMPILED_ROUTES:
        match = pattern.fullmatch(path)
        if match:
            groups = match.groupdict()
            pairs = tuple(variant) + ((("server_id", groups["server_id"]),) if groups.get("server_id") else ())
            return Route(endpoint, profile, groups.get("realm"), pairs)
    return None


# --- Option checks (shared by Client, DevIssuer and the admin endpoint; errors name the option) -----------------


def check_profile(profile: object) -> None:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")


def check_alg(alg: object, profile: str | None = None) -> None:
    algs = SIGNING_ALGS if profile is None else signing_algs(profile)
    if alg not in algs:
        where = f" for {profile}" if profile is not None else ""
        raise ValueError(f"unsupported alg {alg!r}{where}; expected one of {', '.join(algs)}")


def check_issuer_form(profile: str, form: object) -> None:
    if form not in ISSUER_FORMS:
        raise ValueError(f"issuer_form must be one of {ISSUER_FORMS}, not {form!r}")
    forms = ISSUER_FORMS_OF.get(profile, ("url",))
    if form not in forms:
        owners = " and ".join(p for p, f in ISSUER_FORMS_OF.items() if form in f)
        raise ValueError(f"issuer_form {form!r} exists only for {owners}, not {profile}")


# Cognito user pool ids are <region>_<id> (us-east-1_Dev123); Entra tenant ids are GUIDs.
_REALM_SHAPES = {
    "cognito": (re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d_[A-Za-z0-9]+"), "a user pool id like us-east-1_Dev123"),
    "entra": (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "a tenant id (a GUID)"),
}


def check_realm(profile: str, realm: object) -> None:
    keyword = REALM_KEYWORD[profile]
    if realm is None:
        if profile in NAMED_REALM_PROFILES:
            raise ValueError(f"{profile} needs a {keyword}")
        return
    if keyword is None:
        raise ValueError("the oidc profile has a single issuer")
    if not isinstance(realm, str) or not REALM_PATTERN.fullmatch(realm):
        raise ValueError(f"{keyword} must be letters, digits, '.', '_' or '-' (up to 128), not {realm!r}")
    pattern, expected = _REALM_SHAPES.get(profile, (None, ""))
    if pattern is not None and not pattern.fullmatch(realm):
        raise ValueError(f"{keyword} must be {expected}, not {realm!r}")


# Options that pick a provider's token kind, and the profiles that have them.
SHAPE_OPTIONS = {"token_use": tuple(TOKEN_USES), "version": ("entra",), "groups": ("cognito",),
                 "roles": ("entra",), "server_id": ("descope",), "tenants": ("descope",), "dct": ("descope",)}
# What a Descope tenant grants within it (the value of one tenants.<id> entry).
TENANT_GRANT_FIELDS = ("roles", "permissions")


# Every option of DevIssuer.mint(), as the admin endpoint accepts them in its JSON body.
MINT_OPTIONS = frozenset(
    {"profile", "alg", "claims", "scopes", "audience", "expires_in", "issued_at", "not_before", "kid", "omit",
     "header", "client_id", "issuer_form", "project", "app", "tenant", "pool", *SHAPE_OPTIONS}
)


def check_shape(profile: str, options: dict, issuer_form: str | None = None) -> dict:
    """The token-kind options (``SHAPE_OPTIONS``) of a mint call or a client, checked; None values dropped.

    ``token_use``: Descope ``session``/``refresh``, Cognito ``access``/``id``. ``version``: Entra ``2.0``/``1.0``.
    ``groups``: Cognito ``cognito:groups`` (makes an access token a user's). ``roles``: Entra app roles.
    ``server_id``: the MCP server of Descope's ``agentic`` issuer form. ``tenants``: Descope's ``tenants`` claim
    (``descope_tenants``); ``dct``: Descope's current tenant, one of ``tenants`` when both are given."""
    shape: dict = {}
    for name, value in options.items():
        if name not in SHAPE_OPTIONS:
            raise TypeError(f"unexpected token option {name!r}; expected one of {', '.join(SHAPE_OPTIONS)}")
        if value is None:
            continue
        if profile not in SHAPE_OPTIONS[name]:
            raise ValueError(f"{name} is an option of {' and '.join(SHAPE_OPTIONS[name])} tokens, not {profile}")
        if name == "token_use" and value not in TOKEN_USES[profile]:
            raise ValueError(f"token_use for {profile} must be one of {TOKEN_USES[profile]}, not {value!r}")
        if name == "version" and value not in ENTRA_VERSIONS:
            raise ValueError(f"version must be one of {ENTRA_VERSIONS}, not {value!r}")
        if name in ("groups", "roles"):
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"{name} must be a list of names")
            value = list(value)
        if name == "server_id" and (not isinstance(value, str) or not REALM_PATTERN.fullmatch(value)):
            raise ValueError(f"server_id must be letters, digits, '.', '_' or '-' (up to 128), not {value!r}")
        if name == "tenants":
            value = descope_tenants(value)
        if name == "dct" and (not isinstance(value, str) or not value):
            raise ValueError(f"dct must be a tenant ID, not {value!r}")
        shape[name] = value
    if "server_id" in shape and issuer_form != "agentic":
        raise ValueError("server_id goes with issuer_form 'agentic'")
    if "dct" in shape and "tenants" in shape and shape["dct"] not in shape["tenants"]:
        # Descope's current tenant is always one the user belongs to; claims= still writes any token.
        raise ValueError(f"dct {shape['dct']!r} must be one of the tenants {sorted(shape['tenants'])}")
    return shape


def descope_tenants(value: object) -> dict[str, dict[str, list[str]]]:
    """Descope's ``tenants`` claim from a mint option: tenant ID → ``{"roles": [...], "permissions": [...]}``.

    Given as that object (either list may be left out) or as a list of tenant IDs (member without roles). IDs are
    any non-empty text: tokens with IDs a verifier must refuse (``*``, ``/``, 1,000 characters) are minted too.

    >>> descope_tenants(["A"])
    {'A': {'roles': [], 'permissions': []}}
    >>> descope_tenants({"A": {"roles": ["admin"]}})
    {'A': {'roles': ['admin'], 'permissions': []}}
    """
    if isinstance(value, (list, tuple)):
        value = {tenant: {} for tenant in value}
    if not isinstance(value, dict):
        raise ValueError('tenants must be an object like {"T1": {"roles": [...], "permissions": [...]}} or a list '
                         "of tenant IDs")
    tenants: dict[str, dict[str, list[str]]] = {}
    for tenant, grant in value.items():
        if not isinstance(tenant, str) or not tenant:
            raise ValueError(f"tenants: a tenant ID must be a non-empty string, not {tenant!r}")
        if not isinstance(grant, dict) or set(grant) - set(TENANT_GRANT_FIELDS):
            raise ValueError(f"tenants[{tenant!r}] must be an object with roles and/or permissions (lists of names)")
        entry: dict[str, list[str]] = {}
        for field in TENANT_GRANT_FIELDS:
            names = grant.get(field, [])
            if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n for n in names):
                raise ValueError(f"tenants[{tenant!r}].{field} must be a list of names")
            entry[field] = list(names)
        tenants[tenant] = entry
    return tenants


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


