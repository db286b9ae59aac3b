"""``python -m tools doctor`` on tenant routes: which tenant check failed (tenant_missing, tenant_mismatch,
tenant_role_missing) for the tenant the request names (``--tenant``, ``--path``), with Descope multi-tenant tokens
from the development issuer. The doctor judges with the authorizer's own ``tenants_of``/``tenant_problem``; the last
tests check that it agrees with ``authorizer.authorize.Authorizer`` on every token, tenant and rule of a matrix."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from authorizer.authorize import Authorizer
from authorizer.config import load_config
from local.idp.clients import DEV_DESCOPE_PROJECT
from tools.__main__ import main
from tools.doctor import (
    DoctorError,
    KeySource,
    LambdaSetup,
    Route,
    Setup,
    diagnose,
    request_for_path,
    request_for_tenant,
)

from .conftest import REGION
from .test_doctor import create_lambda_authorizer

ORDERS = "GET /tenants/{tenantId}/orders"
INVOICES = "DELETE /tenants/{tenantId}/invoices/{id}"
LONG = "t" * 1000
REASON = re.compile(r"\[(tenant_[a-z_]+)\]")


def environment(issuer, rules=None):
    """A Lambda authorizer's AUTH_* environment: the dev issuer's Descope project, tenant rules on two routes."""
    if rules is None:
        rules = {ORDERS: {"param": "tenantId", "roles": ["admin"]},
                 INVOICES: {"param": "tenantId", "permissions": ["invoices:delete"]}}
    return {"AUTH_ISSUERS": json.dumps([{"provider": "descope", "project_id": DEV_DESCOPE_PROJECT,
                                         "base_url": issuer.base_url("descope")}]),
            "AUTH_ROUTES": json.dumps({key: {"tenant": rule} for key, rule in rules.items()} | {"GET /hello": []})}


def setup_for(issuer, rules=None):
    config = load_config(environment(issuer, rules))
    return Setup("test", {"lambda": LambdaSetup("Lambda authorizer", config)},
                 [Route(key, "lambda") for key in config.routes], {"lambda"})


def verdicts(token, setup, parameters=None):
    [report] = diagnose(token, setup, KeySource(fetch=False), path_parameters=parameters)
    assert report.accepted, report.findings
    return {verdict.route_key: verdict for verdict in report.routes}


def admin_of_a(issuer):
    """Admin in tenant A; in B a member with only invoices:delete."""
    return issuer.mint("descope", tenants={"A": {"roles": ["admin"]}, "B": {"permissions": ["invoices:delete"]}})


def reasons(verdict):
    return [match.group(1) for finding in verdict.findings for match in [REASON.search(finding.message)] if match]


# --- which check failed -------------------------------------------------------------------------------------------


def test_a_tenant_that_is_not_one_of_the_tokens_is_a_tenant_mismatch(issuer):
    setup = setup_for(issuer)
    verdict = verdicts(admin_of_a(issuer), setup, request_for_tenant(setup, "C").path_parameters)[ORDERS]
    assert (verdict.allowed, verdict.status, verdict.tenant) == (False, 403, "C")
    [why] = verdict.findings
    assert why.topic == "tenant" and reasons(verdict) == ["tenant_mismatch"]
    assert "the path's tenant 'C' ({tenantId}) is not one of the token's tenants ['A', 'B'] (claim 'tenants')" \
        in why.message
    assert "one of the token's tenants (A, B)" in why.fix and "add the user to tenant 'C'" in why.fix


def test_a_tenant_of_the_token_without_the_role_is_a_tenant_role_missing(issuer):
    setup = setup_for(issuer)
    found = verdicts(admin_of_a(issuer), setup, request_for_tenant(setup, "B").path_parameters)
    orders, invoices = found[ORDERS], found[INVOICES]
    assert (orders.allowed, reasons(orders)) == (False, ["tenant_role_missing"])
    [why] = orders.findings
    assert "tenant 'B' is one of the token's, but without the roles the route needs there" in why.message
    assert "it needs one of ['admin']; the token has [] (tenants.roles)" in why.message
    assert "grant the user one of the roles ['admin'] in tenant 'B'" in why.fix
    assert invoices.allowed and invoices.findings[0].status == "ok", "B has invoices:delete"


def test_a_token_without_tenants_is_a_tenant_missing(issuer):
    setup = setup_for(issuer)
    for token in (issuer.mint("descope", tenants={}), issuer.mint("descope", omit=["tenants"])):
        verdict = verdicts(token, setup, request_for_tenant(setup, "A").path_parameters)[ORDERS]
        assert (verdict.allowed, reasons(verdict)) == (False, ["tenant_missing"])
        assert "the token's 'tenants' names no tenant" in verdict.findings[0].message
        assert "sign the user in to a tenant" in verdict.findings[0].fix
    unusable = verdicts(issuer.mint("descope", tenants=["*", "a/b"]), setup)[ORDERS]
    assert reasons(unusable) == ["tenant_missing"] and "2 tenant ID(s) in it are not usable" in \
        unusable.findings[0].message


def test_the_allowed_tenant_passes_and_other_routes_are_unaffected(issuer):
    setup = setup_for(issuer)
    found = verdicts(admin_of_a(issuer), setup, request_for_tenant(setup, "A").path_parameters)
    assert found[ORDERS].allowed and found[ORDERS].status == 200
    assert found[ORDERS].findings[0].message == (f"{ORDERS}: tenant 'A' is one of the token's ('tenants') with the "
                                                 "roles it needs")
    assert not found[INVOICES].allowed and reasons(found[INVOICES]) == ["tenant_role_missing"]
    assert found["GET /hello"].allowed and found["GET /hello"].tenant is None


def test_without_a_tenant_the_doctor_says_for_which_tenants_a_route_is_allowed(issuer):
    found = verdicts(admin_of_a(issuer), setup_for(issuer))
    assert found[ORDERS].allowed and found[ORDERS].tenant is None
    assert "allowed only for the token's tenants ['A'] in {tenantId}" in found[ORDERS].findings[0].message
    assert "any other tenant is refused (tenant_mismatch)" in found[ORDERS].findings[0].message
    viewer = issuer.mint("descope", tenants={"A": {"roles": ["viewer"]}, "B": {}})
    denied = verdicts(viewer, setup_for(issuer))[ORDERS]
    assert not denied.allowed and reasons(denied) == ["tenant_role_missing", "tenant_role_missing"]


def test_an_unusable_tenant_in_the_path_is_said_never_to_be_granted(issuer):
    setup = setup_for(issuer)
    token = issuer.mint("descope", tenants={"*": {"roles": ["admin"]}, "A": {"roles": ["admin"]}})
    verdict = verdicts(token, setup, request_for_tenant(setup, "*").path_parameters)[ORDERS]
    assert reasons(verdict) == ["tenant_mismatch"] and "it can never be granted" in verdict.findings[0].message
    long = verdicts(token, setup, request_for_tenant(setup, LONG).path_parameters)[ORDERS]
    assert reasons(long) == ["tenant_mismatch"] and "(1000 characters)" in long.findings[0].message
    assert len(long.findings[0].message) < 400


def test_roles_on_a_claim_without_roles_point_at_the_claim(issuer):
    setup = setup_for(issuer, {ORDERS: {"param": "tenantId", "claim": "dct", "roles": ["admin"]}})
    token = issuer.mint("descope", tenants={"A": {"roles": ["admin"]}}, dct="A")
    verdict = verdicts(token, setup, request_for_tenant(setup, "A").path_parameters)[ORDERS]
    assert reasons(verdict) == ["tenant_role_missing"]
    assert "names tenants without roles or permissions" in verdict.findings[0].fix


# --- --path: the route and tenant API Gateway would pass --------------------------------------------------------


def test_a_path_selects_the_route_and_its_decoded_tenant(issuer):
    setup = setup_for(issuer)
    request = request_for_path(setup, "/tenants/%41/orders")
    assert request.route_keys == (ORDERS,) and request.path_parameters == {ORDERS: {"tenantId": "A"}}
    request = request_for_path(setup, "delete /tenants/B/invoices/7")
    assert request.path_parameters == {INVOICES: {"tenantId": "B", "id": "7"}}
    assert request_for_path(setup, "/tenants/%C3%A9/orders").path_parameters == {ORDERS: {"tenantId": "é"}}
    with pytest.raises(DoctorError, match=r"selects no configured route: API Gateway answers 404 \(a %2F is a '/'"):
        request_for_path(setup, "/tenants/A%2FB/orders")
    with pytest.raises(DoctorError, match="expected a path"):
        request_for_path(setup, "tenants/A/orders")
    with pytest.raises(DoctorError, match="no route has a tenant rule"):
        request_for_tenant(setup_for(issuer, {}), "A")


# --- the CLI, against a deployed API in moto -------------------------------------------------------------------


def deploy_tenant_api(issuer):
    apigw = boto3.client("apigatewayv2", region_name=REGION)
    api_id = apigw.create_api(Name="tenants", ProtocolType="HTTP")["ApiId"]
    custom = create_lambda_authorizer(apigw, api_id, environment(issuer))
    for key in (ORDERS, INVOICES, "GET /hello"):
        apigw.create_route(ApiId=api_id, RouteKey=key, AuthorizationType="CUSTOM",
                           AuthorizerId=custom)
    return api_id


def test_the_cli_says_which_tenant_check_failed_for_a_path_and_exits_by_its_routes(aws, issuer, capsys):
    api_id = deploy_tenant_api(issuer)
    token = admin_of_a(issuer)
    where = ["--api-id", api_id, "--region", REGION, "--no-fetch"]
    assert main(["doctor", token, *where, "--path", "/tenants/A/orders"]) == 0
    out = capsys.readouterr().out
    assert f"{ORDERS:<28} allowed (200) for tenant 'A'" in out
    assert main(["doctor", token, *where, "--path", "GET /tenants/B/orders"]) == 1
    out = capsys.readouterr().out
    assert f"{ORDERS:<28} denied (403) for tenant 'B'" in out and "[tenant_role_missing]" in out
    assert "fix: grant the user one of the roles ['admin'] in tenant 'B'" in out
    assert main(["doctor", token, *where, "--tenant", "C", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)["reports"][0]
    orders = next(v for v in report["routes"] if v["route_key"] == ORDERS)
    assert orders["tenant"] == "C" and "[tenant_mismatch]" in orders["findings"][0]["message"]
    assert main(["doctor", token, *where, "--path", "/tenants/A%2FB/orders"]) == 2
    assert "API Gateway answers 404" in capsys.readouterr().err
    assert main(["doctor", token, *where, "--path", "/hello"]) == 0, "a route without a tenant rule"
    out += capsys.readouterr().out
    assert token not in out


# --- the doctor agrees with the authorizer --------------------------------------------------------------------

TOKENS = {
    "admin of A, viewer of B": {"tenants": {"A": {"roles": ["admin"], "permissions": ["orders:read"]},
                                            "B": {"roles": ["viewer"]}}, "dct": "A"},
    "member of A without roles": {"tenants": {"A": {}}},
    "tenant IDs as a list": {"claims": {"tenants": ["A", "B"]}},
    "current tenant only": {"dct": "B", "omit": ["tenants"]},
    "no tenants": {"tenants": {}},
    "no tenants claim": {"omit": ["tenants"]},
    "unusable IDs": {"tenants": {"*": {"roles": ["admin"]}, "a/b": {}, LONG: {}, "é": {}}},
    "a tenants claim of another type": {"claims": {"tenants": 7}},
}
TENANTS = ["A", "B", "C", "*", "é", "%41", "..", LONG]
RULES = {
    "any member": {"param": "tenantId"},
    "admin": {"param": "tenantId", "roles": ["admin"]},
    "orders:read": {"param": "tenantId", "permissions": ["orders:read"]},
    "admin and orders:read": {"param": "tenantId", "roles": ["admin"], "permissions": ["orders:read"]},
    "current tenant": {"param": "tenantId", "claim": "dct"},
}


@pytest.mark.parametrize("rule_name", RULES)
def test_the_doctor_and_the_authorizer_agree_on_every_tenant(issuer, rule_name):
    rules = {ORDERS: RULES[rule_name]}
    setup = setup_for(issuer, rules)
    authorizer = Authorizer(load_config({**environment(issuer, rules), "AUTH_RESPONSE": "simple"}))
    seen: list[str | None] = []
    authorizer.observe = lambda outcome, reason, shape: seen.append(reason)
    for token_name, options in TOKENS.items():
        token = issuer.mint("descope", **options)
        for tenant in TENANTS:
            event = {"version": "2.0", "type": "REQUEST", "routeKey": ORDERS,
                     # decided per request, as the construct's tenant authorizer ($context.routeKey, requestId)
                     "identitySource": [f"Bearer {token}", ORDERS, "req-1"], "requestContext": {"requestId": "req-1"},
                     "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/$default/GET/tenants/x/orders",
                     "headers": {"authorization": f"Bearer {token}"}, "pathParameters": {"tenantId": tenant}}
            decided = authorizer.authorize(event)["isAuthorized"]
            verdict = verdicts(token, setup, {ORDERS: {"tenantId": tenant}})[ORDERS]
            case = (rule_name, token_name, tenant[:10])
            assert verdict.allowed is decided, case
            assert reasons(verdict)[:1] == ([] if decided else [seen[-1]]), case
