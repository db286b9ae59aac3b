"""Provider presets: a short entry such as ``{"provider": "descope", "project_id": "P2..."}`` → issuer entries.

Facts (issuer forms, JWKS locations, audiences) are from ``shared/reference/identity-providers.md``. A preset
only fills in the plain issuer fields; ``config.build_issuer`` validates the result like any hand-written entry.
Every preset also takes ``algorithms``, ``token_types``, ``ca_bundle`` and ``jwks_uri`` overrides, and
``base_url`` for a self-hosted or local stand-in of the provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

_COMMON = frozenset({"audience", "algorithms", "token_types", "ca_bundle", "jwks_uri", "base_url"})
_ID = re.compile(r"[A-Za-z0-9_-]+")  # always fullmatch: "$" would accept a trailing newline


@dataclass(frozen=True)
class Preset:
    fields: frozenset[str]
    expand: Callable[[Mapping[str, Any]], list[dict[str, Any]]]


def _identifier(spec: Mapping[str, Any], name: str) -> str:
    value = spec[name]  # KeyError names the missing field
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(f"{name}: must be a non-empty identifier of letters, digits, '_' or '-'")
    return value


def _base_url(spec: Mapping[str, Any], default: str) -> str:
    value = spec.get("base_url", default)
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ValueError("base_url: must be an http(s) URL")
    return value.rstrip("/")


def _overrides(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: spec[k] for k in ("algorithms", "token_types", "ca_bundle") if k in spec}


# --- Descope ------------------------------------------------------------------------------------------------
DESCOPE_ISSUER_FORMS = ("url", "apps", "bare")


def descope_base_url(project_id: str) -> str:
    # Regional projects (IDs of 32+ characters) live at https://api.<id[1:5]>.descope.com.
    return f"https://api.{project_id[1:5].lower()}.descope.com" if len(project_id) >= 32 else "https://api.descope.com"


def descope_issuer(base: str, project_id: str, form: str) -> str:
    return {"url": f"{base}/{project_id}", "apps": f"{base}/v1/apps/{project_id}", "bare": project_id}[form]


def _expand_descope(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    project_id = _identifier(spec, "project_id")
    base = _base_url(spec, descope_base_url(project_id))
    forms = spec.get("issuer_forms", list(DESCOPE_ISSUER_FORMS))
    if not isinstance(forms, list) or not forms or any(f not in DESCOPE_ISSUER_FORMS for f in forms):
        raise ValueError(f"issuer_forms: must be a non-empty list of {list(DESCOPE_ISSUER_FORMS)}")
    common = {
        "audience": spec.get("audience", project_id),
        "jwks_uri": spec.get("jwks_uri", f"{base}/v2/keys/{project_id}"),  # what Descope's SDKs use
        **_overrides(spec),
    }
    return [{"issuer": descope_issuer(base, project_id, form), **common} for form in dict.fromkeys(forms)]


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
        **_overrides(spec),
    }]


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
    "oidc": Preset((_COMMON - {"base_url"}) | {"issuer"}, _expand_oidc),
}
