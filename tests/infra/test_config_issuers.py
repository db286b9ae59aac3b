"""cdk.json's issuers → StackConfig: which one issuer jwt mode's native authorizer gets, what only works on this
machine (loopback issuers, ca_bundle paths), and Entra ID's tenant GUID and token versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import infra.deployable
from infra import config as infra_config

from .config_support import LOCAL, OIDC, PEM, error_field, load
from .conftest import JWT_ROUTES


# --- jwt mode: choosing the one native issuer ---------------------------------------------------------------
def test_jwt_mode_uses_descopes_url_issuer_and_warns_about_the_other_forms() -> None:
    auth = load(authorizer="jwt", issuers=[{"provider": "descope", "project_id": "P2abc"}]).authorization
    assert auth.native_issuer is not None
    assert auth.native_issuer.issuer == "https://api.descope.com/P2abc"
    assert auth.native_issuer.audiences == ("P2abc",)
    assert any("will be rejected" in note and " P2abc," in note for note in auth.notes)


def test_jwt_mode_explains_that_descope_session_tokens_need_a_template_that_sets_aud() -> None:
    auth = load(authorizer="jwt", issuers=[{"provider": "descope", "project_id": "P2abc"}]).authorization
    (note,) = [n for n in auth.notes if "no aud" in n]
    assert "JWT template" in note and "'P2abc'" in note and "authorizer=lambda" in note
    insisting = {"provider": "descope", "project_id": "P2abc", "require_audience": True}
    assert not [n for n in load(authorizer="jwt", issuers=[insisting]).authorization.notes if "no aud" in n]


def test_jwt_mode_never_chooses_descopes_agentic_prefix() -> None:
    agentic_only = {"provider": "descope", "project_id": "P2abc", "issuer_forms": ["agentic"]}
    problem = error_field(authorizer="jwt", issuers=[agentic_only])
    assert problem.field == "issuers[0].issuer_forms"


def test_jwt_mode_takes_cognito_app_clients_as_audiences_and_says_token_use_is_not_checked() -> None:
    cognito = {"provider": "cognito", "user_pool_id": "eu-west-1_AbC123", "client_ids": ["c1", "c2"]}
    auth = load(authorizer="jwt", issuers=[cognito]).authorization
    assert auth.native_issuer is not None
    assert auth.native_issuer.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    assert auth.native_issuer.audiences == ("c1", "c2")
    assert any("token_use" in note for note in auth.notes)
    assert any("issuer-cognito-idp.eu-west-1.amazonaws.com" in note for note in auth.notes)


def test_jwt_mode_uses_entras_v2_issuer_and_says_roles_and_v1_are_left_out() -> None:
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    auth = load(authorizer="jwt", issuers=[{"provider": "entra", "tenant_id": tenant,
                                            "audience": ["api://orders", "client"]}]).authorization
    assert auth.native_issuer is not None
    assert auth.native_issuer.issuer == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert auth.native_issuer.audiences == ("api://orders", "client")
    assert any("roles" in note for note in auth.notes)
    assert any(f"https://sts.windows.net/{tenant}/" in note for note in auth.notes)


@pytest.mark.parametrize("spec, field", [
    ({"provider": "cognito", "user_pool_id": "eu-west-1", "client_ids": ["c"]}, "issuers[0].user_pool_id"),
    ({"provider": "cognito", "user_pool_id": "eu-west-1_A"}, "issuers[0].client_ids"),
    ({"provider": "entra", "tenant_id": "contoso", "audience": "x"}, "issuers[0].tenant_id"),
    ({"provider": "entra", "tenant_id": "contoso.onmicrosoft.com"}, "issuers[0].audience"),
])
@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_bad_cognito_and_entra_presets_fail_synthesis_naming_the_field(spec, field, mode) -> None:
    assert error_field(authorizer=mode, issuers=[spec]).field == field


def test_jwt_mode_uses_passages_url_issuer() -> None:
    auth = load(authorizer="jwt", issuers=[{"provider": "passage", "app_id": "app1"}]).authorization
    assert auth.native_issuer is not None
    assert auth.native_issuer.issuer == "https://auth.passage.id/v1/apps/app1"


def test_jwt_mode_takes_wso2_issuer_with_its_client_id_audiences() -> None:
    wso2 = {"provider": "wso2", "base_url": "https://is.example.net:9443", "audience": ["client-a", "client-b"]}
    auth = load(authorizer="jwt", issuers=[wso2]).authorization
    assert auth.native_issuer is not None
    assert auth.native_issuer.issuer == "https://is.example.net:9443/oauth2/token"
    assert auth.native_issuer.audiences == ("client-a", "client-b")


def test_jwt_mode_accepts_http_issuer_on_loopback_for_local_runs_with_a_warning() -> None:
    auth = load(authorizer="jwt", issuers=[{"issuer": "http://127.0.0.1:8555", "audience": "local"}],
                **LOCAL).authorization
    assert auth.native_issuer is not None and auth.native_issuer.issuer == "http://127.0.0.1:8555"
    assert any("local runs only" in note for note in auth.notes)


def test_example_issuer_from_cdk_json_is_flagged() -> None:
    auth = load(issuers=[{"provider": "oidc", "issuer": "https://idp.example.com", "audience": "a"}]).authorization
    assert any("example.com" in note for note in auth.notes)


# --- what only works on this machine: loopback issuers, ca_bundle paths -------------------------------------
@pytest.mark.parametrize("mode", ["lambda", "jwt"])
@pytest.mark.parametrize("bundling", [None, ["**"], '["**"]', ["JwtAuthorizerApi"]])
def test_a_loopback_issuer_is_refused_unless_bundling_is_skipped(mode: str, bundling: Any) -> None:
    issuers = [{"issuer": "http://127.0.0.1:8555", "audience": "local"}]
    problem = error_field(authorizer=mode, issuers=issuers, **{"aws:cdk:bundling-stacks": bundling})
    assert problem.field == "issuers[0].issuer"
    assert "http://127.0.0.1:8555" in problem.problem and "local stack only" in problem.problem
    for skipped in ([], "[]"):
        assert load(authorizer=mode, issuers=issuers, **{"aws:cdk:bundling-stacks": skipped}).authorization


@pytest.mark.parametrize(("spec", "field"), [
    ({"issuer": "https://localhost/oidc", "audience": "a"}, "issuers[1].issuer"),
    ({"issuer": "https://other.example.org", "audience": "a", "jwks_uri": "http://[::1]:9400/keys"},
     "issuers[1].jwks_uri"),
    ({"provider": "descope", "project_id": "P2abc", "base_url": "http://127.0.0.1:9400/descope"}, "issuers[1].base_url"),
])
def test_a_loopback_url_names_the_field_it_came_from(spec: dict[str, Any], field: str) -> None:
    assert error_field(issuers=[OIDC, spec]).field == field


def test_the_local_stacks_context_is_bundling_skipped() -> None:
    assert infra_config.bundling_skipped([]) and infra_config.bundling_skipped("[]")
    assert not infra_config.bundling_skipped(None) and not infra_config.bundling_skipped(["**"])


@pytest.fixture
def authorizer_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the project's ``authorizer/`` directory, holding a CA certificate and a non-PEM file."""
    source = tmp_path / "authorizer"
    (source / "certs").mkdir(parents=True)
    (source / "certs" / "wso2-ca.pem").write_text(PEM)
    (source / "certs" / "notes.txt").write_text("not a certificate")
    monkeypatch.setattr(infra.deployable, "AUTHORIZER_SOURCE_DIR", source)
    return source


def test_a_ca_bundle_bundled_under_authorizer_is_accepted(authorizer_source: Path) -> None:
    spec = {"provider": "wso2", "base_url": "https://is.example.net:9443", "audience": "cid",
            "ca_bundle": "/var/task/authorizer/certs/wso2-ca.pem"}
    (issuer,) = load(issuers=[spec]).authorization.trusted_issuers
    assert issuer.ca_bundle == "/var/task/authorizer/certs/wso2-ca.pem"


@pytest.mark.parametrize(("path", "says"), [
    ("/var/task/ca.pem", "holds only the authorizer/ package"),
    ("/etc/ssl/certs/wso2.pem", "holds only the authorizer/ package"),
    ("/var/task/authorizer/../ca.pem", "holds only the authorizer/ package"),
    ("/var/task/authorizer/certs/missing.pem", "authorizer/certs/missing.pem of this project, which does not exist"),
    ("/var/task/authorizer/certs/notes.txt", "holds no PEM certificate"),
])
def test_a_ca_bundle_the_deployed_lambda_would_not_have_names_it_and_says_what_to_do(
        authorizer_source: Path, path: str, says: str) -> None:
    spec = {"issuer": "https://other.example.org", "audience": "a", "ca_bundle": path}
    problem = error_field(issuers=[OIDC, spec])
    assert problem.field == "issuers[1].ca_bundle"
    assert says in problem.problem
    if "does not exist" in says or "holds only" in says:
        assert "/var/task/authorizer/certs/wso2-ca.pem" in problem.problem  # what to do instead


def test_the_local_stack_may_use_a_ca_bundle_of_this_machine() -> None:
    spec = {**OIDC, "ca_bundle": "/etc/ssl/certs/ca-certificates.crt"}
    assert load(issuers=[spec], **LOCAL).authorization.trusted_issuers[0].ca_bundle == spec["ca_bundle"]


# --- Entra: the tenant's GUID, and v2 tokens only ------------------------------------------------------------
ENTRA_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ENTRA_V2_ONLY = {"provider": "entra", "tenant_id": ENTRA_TENANT, "audience": "api://orders",
                 "token_versions": ["2.0"]}


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_an_entra_domain_as_tenant_fails_synthesis_naming_tenant_id_and_where_the_guid_is(mode: str) -> None:
    problem = error_field(authorizer=mode, issuers=[{"provider": "entra", "tenant_id": "contoso.onmicrosoft.com",
                                                     "audience": "api://orders"}])
    assert problem.field == "issuers[0].tenant_id"
    assert "Tenant ID" in problem.problem and "tid" in problem.problem


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_entra_token_versions_in_cdk_json_is_checked_naming_the_field(mode: str) -> None:
    problem = error_field(authorizer=mode, issuers=[{**ENTRA_V2_ONLY, "token_versions": ["3.0"]}])
    assert problem.field == "issuers[0].token_versions" and '"1.0" and "2.0"' in problem.problem


def test_entra_v2_only_in_cdk_json_reaches_the_lambda_and_jwt_mode_alike() -> None:
    v2 = f"https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0"
    lambda_auth = load(issuers=[ENTRA_V2_ONLY]).authorization
    assert lambda_auth.issuers == (ENTRA_V2_ONLY,)  # the Lambda expands it from AUTH_ISSUERS, as here
    assert [i.issuer for i in lambda_auth.trusted_issuers] == [v2]
    native = load(authorizer="jwt", issuers=[ENTRA_V2_ONLY]).authorization
    assert native.native_issuer is not None and native.native_issuer.issuer == v2
    assert not [note for note in native.notes if "sts.windows.net" in note], "nothing is left out: no note"


def test_jwt_mode_with_both_entra_versions_says_how_to_limit_the_preset_to_v2() -> None:
    both = {name: value for name, value in ENTRA_V2_ONLY.items() if name != "token_versions"}
    (note,) = [n for n in load(authorizer="jwt", issuers=[both]).authorization.notes if "sts.windows.net" in n]
    assert 'issuers[0].token_versions to ["2.0"]' in note


def test_entra_v2_only_from_the_typed_api_is_the_cdk_json_setting() -> None:
    from infra.config import AuthorizationSettings
    from infra.typed_settings import ProviderIssuer

    typed = AuthorizationSettings.create(
        issuers=[ProviderIssuer.entra(ENTRA_TENANT, "api://orders", token_versions=("2.0",))], routes=JWT_ROUTES)
    plain = AuthorizationSettings.create(issuers=[ENTRA_V2_ONLY], routes=JWT_ROUTES)
    assert typed == plain
    assert [i.issuer for i in typed.trusted_issuers] == [f"https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0"]
