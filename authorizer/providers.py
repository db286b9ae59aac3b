"""Provider presets: a short entry such as ``{"provider": "descope", "project_id": "P2..."}`` → issuer entries.

Facts (issuer forms, JWKS locations, audiences, token kinds) are from ``shared/reference/identity-providers.md``.
A preset only fills in issuer fields; ``config.build_issuer`` validates the result like any hand-written entry.
Besides the plain fields, a preset sets the provider's own token rules: which tokens are not access tokens
(``token_use``: Descope ``drn: "DSR"``, WSO2 ``typ: rt+jwt``, Cognito ``token_use``), how the audience binds
(``require_audience``, Cognito's ``client_ids``), Descope's agentic issuer (a prefix plus one server id), and
which of Entra's two issuer forms are trusted (``token_versions``; the tenant must be its GUID, as ``iss`` holds it).
Every preset also takes ``audience``, ``algorithms``, ``token_types``, ``ca_bundle``, ``jwks_uri`` and
``require_audience`` overrides, and ``base_url`` for a self-hosted or local stand-in of the provider.

    >>> [e["issuer"] for e in PRESETS["entra"].expand({"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    ...                                                 "audience": "api://orders"})]
    ['https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', 'https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .errors import ConfigError


class TokenUseRule(NamedTuple):
    """A provider's mark of what a token is for: ``part`` ("header" or "claims") ``name`` must be one of
    ``accepted`` (when given) and none of ``refused``. Header values compare lower-cased, without ``application/``.

    Cognito's ``token_use`` must be the configured one; a Descope refresh token (``drn: "DSR"``) and a WSO2 refresh
    token (``typ: rt+jwt``) are refused: each is denied as ``token_use_mismatch``.
    """

    part: str
    name: str
    accepted: tuple[Any, ...] | None = None
    refused: tuple[Any, ...] = ()


_COMMON = frozenset({"audience", "require_audience", "algorithms", "token_types", "ca_bundle", "jwks_uri", "base_url"})
_ID = re.compile(r"[A-Za-z0-9_-]+")  # always fullmatch: "$" would accept a trailing newline
# Cognito user pool IDs are <region>_<id>: us-east-1_AbCd12345.
_USER_POOL_ID = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)_[A-Za-z0-9]+")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DOMAIN = re.compile(r"(?=.{1,253}\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
# What marks a token as not an access token, per provider (identity-providers.md).
DESCOPE_REFRESH = TokenUseRule("claims", "drn", refused=("DSR",))
WSO2_REFRESH = TokenUseRule("header", "typ", refused=("rt+jwt",))
COGNITO_TOKEN_USES = ("access", "id")


@dataclass(frozen=True)
class Preset:
    fields: frozenset[str]
    expand: Callable[[Mapping[str, Any]], list[dict[str, Any]]]


def _identifier(spec: Mapping[str, Any], name: str) -> str:
    value = spec[name]  # KeyError names the missing field
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ConfigError(name, "must be a non-empty identifier of letters, digits, '_' or '-'")
    return value


def _base_url(spec: Mapping[str, Any], default: str) -> str:
    value = spec.get("base_url", default)
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ConfigError("base_url", "must be an http(s) URL")
    return value.rstrip("/")


def _overrides(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: spec[k] for k in ("algorithms", "token_types", "ca_bundle", "require_audience") if k in spec}


# --- Descope ------------------------------------------------------------------------------------------------
DESCOPE_ISSUER_FORMS = ("url", "apps", "bare", "agentic")


def descope_base_url(project_id: str) -> str:
    # Regional projects (IDs of 32+ characters) live at https://api.<id[1:5]>.descope.com.
    return f"https://api.{project_id[1:5].lower()}.descope.com" if len(project_id) >= 32 else "https://api.descope.com"


def descope_issuer(base: str, project_id: str, form: str) -> str:
    """The ``iss`` of one form; for ``agentic``, the prefix that one server id completes."""
    return {"url": f"{base}/{project_id}", "apps": f"{base}/v1/apps/{project_id}", "bare": project_id,
            "agentic": f"{base}/v1/apps/agentic/{project_id}/"}[form]


def _expand_descope(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    project_id = _identifier(spec, "project_id")
    base = _base_url(spec, descope_base_url(project_id))
    forms = spec.get("issuer_forms", list(DESCOPE_ISSUER_FORMS))
    if not isinstance(forms, list) or not forms or any(f not in DESCOPE_ISSUER_FORMS for f in forms):
        raise ConfigError("issuer_forms", f"must be a non-empty list of {list(DESCOPE_ISSUER_FORMS)}")
    common = {
        "audience": spec.get("audience", project_id),
        # Descope session tokens carry no aud: like Descope's SDKs, check aud only when it is there.
        "require_audience": False,
        # Every form, the agentic one included, is signed with the project's keys: Descope's SDKs fetch them here
        # whatever the iss, and an agentic server's discovery document names the same project key set.
        "jwks_uri": spec.get("jwks_uri", f"{base}/v2/keys/{project_id}"),
        "token_use": [DESCOPE_REFRESH],
        **_overrides(spec),
    }
    return [{"issuer": descope_issuer(base, project_id, form), **common,
             **({"issuer_match": "one_more_segment"} if form == "agentic" else {})}
            for form in dict.fromkeys(forms)]


# --- Passage (1Password) ------------------------------------------------------------------------------------
def _expand_passage(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    app_id = _identifier(spec, "app_id")
    base = _base_url(spec, "https://auth.passage.id")
    app_url = f"{base}/v1/apps/{app_id}"
    common = {
        # Current tokens carry [auth origin, app id]; current SDKs require the app id.
        "audience": spec.get("audience", app_id),
        "jwks_uri": spec.get("jwks_uri", f"{app_url}/.well-known/jwks.json"),
        "algorithms": ["RS256"],
        **_overrides(spec),
    }
    return [{"issuer": app_url, **common}, {"issuer": app_id, **common}]  # documented form, then legacy bare id


# --- WSO2 Identity Server -----------------------------------------------------------------------------------
def _expand_wso2(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "base_url" not in spec:
        raise KeyError("base_url")
    if "audience" not in spec:
        raise KeyError("audience")  # the application's client ID
    base = _base_url(spec, "")
    if "tenant" in spec:
        base = f"{base}/t/{_identifier(spec, 'tenant')}"
    return [{
        "issuer": f"{base}/oauth2/token",
        "audience": spec["audience"],
        "jwks_uri": spec.get("jwks_uri", f"{base}/oauth2/jwks"),
        "token_use": [WSO2_REFRESH],
        **_overrides(spec),
    }]


# --- Amazon Cognito user pools ------------------------------------------------------------------------------
def cognito_region(user_pool_id: Any) -> str:
    if not isinstance(user_pool_id, str) or not _USER_POOL_ID.fullmatch(user_pool_id):
        raise ConfigError("user_pool_id", "must be <region>_<id>, like us-east-1_AbCd12345")
    return _USER_POOL_ID.fullmatch(user_pool_id)["region"]  # type: ignore[index]


def _expand_cognito(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    pool = spec["user_pool_id"]
    region = cognito_region(pool)
    if "client_ids" not in spec:
        raise KeyError("client_ids")
    client_ids = spec["client_ids"]
    if isinstance(client_ids, str):
        client_ids = [client_ids]
    if not isinstance(client_ids, list) or not client_ids or not all(isinstance(c, str) and c for c in client_ids):
        raise ConfigError("client_ids", "must be the app client ID, or a non-empty list of them")
    token_use = spec.get("token_use", "access")
    if token_use not in COGNITO_TOKEN_USES:
        raise ConfigError("token_use", f"must be one of {list(COGNITO_TOKEN_USES)}, got {token_use!r}")
    if "base_url" in spec:
        issuers = [f"{_base_url(spec, '')}/{pool}"]
    else:  # the regional issuer, and the multi-Region replication form (2026)
        issuers = [f"https://cognito-idp.{region}.amazonaws.com/{pool}",
                   f"https://issuer-cognito-idp.{region}.amazonaws.com/{pool}"]
    rules: dict[str, Any] = {"token_use": [TokenUseRule("claims", "token_use", accepted=(token_use,))]}
    if token_use == "id":  # id tokens: aud is the app client
        rules.update(audience=spec.get("audience", client_ids))
    else:  # access tokens: client_id is the app client; aud only with resource binding (RFC 8707)
        rules.update(client_ids=client_ids, audience=spec.get("audience", []),
                     require_audience="audience" in spec)
    return [{"issuer": iss, "jwks_uri": spec.get("jwks_uri", f"{iss}/.well-known/jwks.json"),
             "algorithms": ["RS256"], **rules, **_overrides(spec)} for iss in issuers]


# --- Microsoft Entra ID -------------------------------------------------------------------------------------
#: ``token_versions``: the ``ver`` of the access tokens the API receives (its manifest's accessTokenAcceptedVersion);
#: each version has its own ``iss`` form, so a version left out is an issuer not trusted.
ENTRA_TOKEN_VERSIONS = ("1.0", "2.0")


def entra_tenant_id(value: Any) -> str:
    """The tenant's GUID, lower-cased as Entra writes it into every token's ``iss``; anything else is refused.

    A domain (``contoso.onmicrosoft.com``) or an alias (``common``, ``organizations``) names no issuer: no token's
    ``iss`` carries it, so an issuer built from it would deny every token. The error says where the GUID is."""
    if isinstance(value, str) and _GUID.fullmatch(value):
        return value.lower()
    shown = value if isinstance(value, str) and _DOMAIN.fullmatch(value) else "<your domain>"
    raise ConfigError("tenant_id", (
        f"must be the tenant's GUID (the directory ID), got {value!r}: Entra writes the GUID, never a domain, into "
        "every token's iss, so no token would match. Find it in the Microsoft Entra admin center under Overview → "
        "Tenant ID, in the tid claim of one of your tokens, or in the issuer of "
        f"https://login.microsoftonline.com/{shown}/v2.0/.well-known/openid-configuration"))


def _entra_versions(spec: Mapping[str, Any]) -> list[str]:
    versions = spec.get("token_versions", list(ENTRA_TOKEN_VERSIONS))
    if not isinstance(versions, list) or not versions or any(v not in ENTRA_TOKEN_VERSIONS for v in versions):
        raise ConfigError("token_versions", 'must be a non-empty list of "1.0" and "2.0" (the access tokens\' ver, '
                          "as the API's manifest sets accessTokenAcceptedVersion)")
    return versions


def _expand_entra(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    tenant = spec["tenant_id"]  # KeyError names a missing field, before its value is judged
    if "audience" not in spec:
        raise KeyError("audience")  # the API's client ID (v2 tokens) and/or app ID URI (v1 tokens)
    tenant = entra_tenant_id(tenant)
    versions = _entra_versions(spec)
    if "base_url" in spec:
        base = _base_url(spec, "")
        forms = {"2.0": f"{base}/{tenant}/v2.0", "1.0": f"{base}/{tenant}/"}
        keys = f"{base}/{tenant}/discovery/v2.0/keys"
    else:  # one key set for both versions
        forms = {"2.0": f"https://login.microsoftonline.com/{tenant}/v2.0", "1.0": f"https://sts.windows.net/{tenant}/"}
        keys = f"https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"
    common = {"audience": spec["audience"], "jwks_uri": spec.get("jwks_uri", keys), "algorithms": ["RS256"],
              **_overrides(spec)}
    # v2.0 first: jwt mode's native authorizer takes the first form it can use
    return [{"issuer": forms[version], **common} for version in ("2.0", "1.0") if version in versions]


# --- any OIDC provider --------------------------------------------------------------------------------------
def _expand_oidc(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    entry = {"issuer": spec["issuer"], "audience": spec["audience"], **_overrides(spec)}
    if "jwks_uri" in spec:
        entry["jwks_uri"] = spec["jwks_uri"]
    return [entry]


PRESETS: dict[str, Preset] = {
    "descope": Preset(_COMMON | {"project_id", "issuer_forms"}, _expand_descope),
    "passage": Preset(_COMMON | {"app_id"}, _expand_passage),
    "wso2": Preset(_COMMON | {"tenant"}, _expand_wso2),
    "cognito": Preset(_COMMON | {"user_pool_id", "client_ids", "token_use"}, _expand_cognito),
    "entra": Preset(_COMMON | {"tenant_id", "token_versions"}, _expand_entra),
    "oidc": Preset((_COMMON - {"base_url"}) | {"issuer"}, _expand_oidc),
}
