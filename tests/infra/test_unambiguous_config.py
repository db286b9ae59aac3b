"""Configuration that cannot mean two things, wherever the stack reads it (issue 17): a key given twice in one JSON
object — in ``cdk.json``, in a ``-c`` value, for a route of the typed API — is an error naming it, never "the last
one wins"; and ``scopes`` is a list, never a bare string read as one-letter scopes. (``AUTH_ROUTES`` and the SSM
parameter: ``tests/authorizer/test_config.py``, ``tests/authorizer/test_remote_config.py``.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import AuthorizationSettings, ConfigError, ProviderIssuer, RouteSpec, TenantRule
from infra.cdk_app import cdk_json_context
from infra.config import load_stack_config

OIDC = [{"issuer": "https://idp.example.com", "audience": "api"}]


def test_a_route_field_given_twice_in_cdk_json_is_an_error_naming_it(tmp_path: Path) -> None:
    """The CDK CLI keeps the last copy: here the second ``tenant`` rule (none at all) would win."""
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text('{"app": "python3 app.py", "context": {"routes": [{"method": "GET", "path": '
                        '"/tenants/{t}/orders", "tenant": {"param": "t"}, "tenant": {"param": "t", "roles": []}}]}}')
    with pytest.raises(ConfigError) as failure:
        cdk_json_context(cdk_json)
    assert failure.value.field == "cdk.json"
    assert failure.value.problem == "names 'tenant' twice in one object; give each key once"


def test_a_key_given_twice_in_a_c_value_is_an_error_naming_the_context_key() -> None:
    context = {"issuers": OIDC,
               "routes": '[{"method": "GET", "path": "/orders", "scopes": ["orders:read"], "scopes": []}]'}
    with pytest.raises(ConfigError) as failure:
        load_stack_config(context.get)
    assert failure.value.field == "routes" and "'scopes' twice" in failure.value.problem


def test_a_route_given_twice_in_the_typed_api_is_an_error_naming_both() -> None:
    with pytest.raises(ConfigError) as failure:
        AuthorizationSettings.create(issuers=OIDC, routes=[
            RouteSpec("GET", "/tenants/{t}/orders", tenant=TenantRule(param="t")),
            RouteSpec("GET", "/tenants/{t}/orders")])
    assert "GET /tenants/{t}/orders is already configured" in str(failure.value)


def test_a_bare_string_of_scopes_is_refused_in_cdk_json() -> None:
    context = {"issuers": OIDC, "routes": [{"method": "GET", "path": "/items", "scopes": "items:read"}]}
    with pytest.raises(ConfigError) as failure:
        load_stack_config(context.get)
    assert failure.value.field == "routes[0].scopes"


def test_the_shipped_cdk_json_names_no_key_twice() -> None:
    assert cdk_json_context()["routes"]


@pytest.mark.parametrize("field, value", [("roles", "admin"), ("permissions", "orders:read")])
def test_a_bare_string_of_tenant_roles_or_permissions_is_refused_in_cdk_json_and_the_typed_api(field: str,
                                                                                               value: str) -> None:
    """Read as characters, "admin" would admit a role called "a": refused wherever the stack reads it."""
    context = {"issuers": OIDC, "routes": [{"method": "GET", "path": "/tenants/{t}/orders",
                                            "tenant": {"param": "t", field: value}}]}
    with pytest.raises(ConfigError) as in_cdk_json:
        load_stack_config(context.get)
    assert in_cdk_json.value.field == f"routes[0].tenant.{field}"
    assert f'write ["{value}"]' in in_cdk_json.value.problem
    with pytest.raises(ConfigError) as typed:
        TenantRule(param="t", **{field: value})
    assert typed.value.field == field and "a bare string would be read one character at a time" in typed.value.problem


def test_an_entra_domain_as_tenant_id_is_refused_in_the_typed_api_naming_the_field() -> None:
    with pytest.raises(ConfigError) as failure:
        AuthorizationSettings.create(issuers=[ProviderIssuer.entra("contoso.com", "api://orders")],
                                     routes=[RouteSpec("GET", "/orders")])
    assert failure.value.field == "issuers[0].tenant_id"
    assert "must be the tenant's GUID" in failure.value.problem
