"""Issuers and routes from SSM Parameter Store (moto): load, change after max age, and a bad or missing parameter
never widening access."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import base as parameters_base
from moto import mock_aws

from authorizer.authorize import Authorizer, Unauthorized
from authorizer.config import load_config
from authorizer.errors import ConfigError
from authorizer.remote_config import RemoteConfig, max_age_from, parse_parameter

from .support import ARN, Clock, claims_for, http_v2_event, rest_token_event
from .test_responses import iam_allows

NAME = "/jwt-authorizer/config"
ORDERS_ARN = ARN.replace("/GET/hello", "/GET/orders")


@pytest.fixture
def ssm(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    parameters_base.DEFAULT_PROVIDERS.clear()  # Powertools keeps one SSM client per process: make it moto's
    parameters.clear_caches()
    with mock_aws():
        yield boto3.client("ssm", region_name="eu-west-1")
    parameters_base.DEFAULT_PROVIDERS.clear()
    parameters.clear_caches()


def put(ssm, value, overwrite=True):
    text = value if isinstance(value, str) else json.dumps(value)
    ssm.put_parameter(Name=NAME, Value=text, Type="String", Overwrite=overwrite)


@pytest.fixture
def remote(ssm, logs):
    """A RemoteConfig on the moto parameter, with a clock the test moves and a count of failed refreshes."""
    def build(max_age=60, routes_env=None):
        env = {"AUTH_CONFIG_PARAMETER": NAME}
        if routes_env is not None:
            env["AUTH_ROUTES"] = json.dumps(routes_env)
        clock, failures = Clock(), []
        source = RemoteConfig(load_config(env), lambda config: Authorizer(config, logger=logs.logger),
                              max_age=max_age, clock=clock, logger=logs.logger,
                              on_failure=lambda: failures.append(clock.now))
        return SimpleNamespace(source=source, clock=clock, failures=failures)
    return build


def allowed(source: RemoteConfig, token: str, arn: str = ARN, route_key: str = "GET /hello") -> bool:
    return iam_allows(source.current().authorize(http_v2_event(token, route_key=route_key, arn=arn)), arn)


def test_issuers_and_routes_load_from_the_parameter(ssm, remote, idp, keys):
    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}], "routes": {"GET /orders": ["orders:read"]}})
    r = remote()
    token = keys["RS256"].sign(claims_for(idp))
    assert allowed(r.source, token)
    assert not allowed(r.source, token, ORDERS_ARN, "GET /orders")  # the parameter's route rule applies
    assert allowed(r.source, keys["ES256"].sign(claims_for(idp, scope="orders:read")), ORDERS_ARN, "GET /orders")


def test_a_change_applies_after_max_age_and_keeps_the_jwks_cache(ssm, remote, idp, keys, server):
    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}]})
    r = remote(max_age=60)
    old_audience = keys["RS256"].sign(claims_for(idp, aud="api"))
    new_audience = keys["RS256"].sign(claims_for(idp, aud="api-v2"))
    assert allowed(r.source, old_audience) and not allowed(r.source, new_audience)
    fetches = server.count("/idp/jwks")

    put(ssm, {"issuers": [{"issuer": idp, "audience": "api-v2"}]})
    r.clock.now += 59
    assert allowed(r.source, old_audience), "within max age the configuration read last stays"
    r.clock.now += 1
    assert not allowed(r.source, old_audience) and allowed(r.source, new_audience)
    assert server.count("/idp/jwks") == fetches, "an unchanged key source keeps its cache: no refetch"


def test_an_unchanged_parameter_keeps_the_same_authorizer(ssm, remote, idp):
    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}]})
    r = remote(max_age=5)
    first = r.source.current()
    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}], "routes": {}})  # same meaning, new version
    r.clock.now += 5
    assert r.source.current() is first


@pytest.mark.parametrize("old, new", [(1, True), (0, False), (True, 1), ("1", 1)])
def test_a_claim_value_changing_json_type_rebuilds_a_warm_authorizer(ssm, remote, idp, keys, old, new):
    # In Python 1 == True: a configuration compared by value alone would keep the old rule for good.
    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}], "routes": {"GET /orders": {"claims": {"tier": old}}}})
    r = remote(max_age=5)
    with_new = keys["RS256"].sign(claims_for(idp, tier=new))
    assert not allowed(r.source, with_new, ORDERS_ARN, "GET /orders")

    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}], "routes": {"GET /orders": {"claims": {"tier": new}}}})
    r.clock.now += 5
    assert allowed(r.source, with_new, ORDERS_ARN, "GET /orders")
    assert not allowed(r.source, keys["RS256"].sign(claims_for(idp, tier=old)), ORDERS_ARN, "GET /orders")


@pytest.mark.parametrize("bad_value, field", [
    ("{not json", "parameter"),
    # The second copy of the route, without its rule, would silently drop the check if the last one won.
    ('{"issuers": [{"issuer": "https://idp.example.com", "audience": "api"}], '
     '"routes": {"GET /orders": ["orders:read"], "GET /orders": []}}', "parameter"),
    (json.dumps({"issuers": [{"issuer": "https://idp.example.com", "audiance": "api"}]}), "issuers[0].audiance"),
    (json.dumps({"issuers": []}), "issuers"),
    (json.dumps({"issuer": [{"issuer": "https://idp.example.com", "audience": "api"}]}), "issuer"),
    (json.dumps({"issuers": [{"issuer": "http://idp.example.com", "audience": "api"}]}), "issuers[0].issuer"),
    (json.dumps(["not", "an", "object"]), "parameter"),
    # A bare string would be read one character at a time; an Entra domain never appears in a token's iss.
    (json.dumps({"issuers": [{"issuer": "https://idp.example.com", "audience": "api"}],
                 "routes": {"GET /orders": {"scopes": "orders:read"}}}), "routes['GET /orders'].scopes"),
    (json.dumps({"issuers": [{"issuer": "https://idp.example.com", "audience": "api"}],
                 "routes": {"GET /orders": "orders:read"}}), "routes['GET /orders']"),
    (json.dumps({"issuers": [{"issuer": "https://idp.example.com", "audience": "api"}],
                 "routes": {"GET /orders": ["orders:read"],
                            "GET /t/{t}/orders": {"tenant": {"param": "t", "roles": "admin"}}}}),
     "routes['GET /t/{t}/orders'].tenant.roles"),
    (json.dumps({"issuers": [{"issuer": "https://idp.example.com", "audience": "api"}],
                 "routes": {"GET /orders": ["orders:read"],
                            "GET /t/{t}/orders": {"tenant": {"param": "t", "permissions": "orders:read"}}}}),
     "routes['GET /t/{t}/orders'].tenant.permissions"),
    (json.dumps({"issuers": [{"provider": "entra", "tenant_id": "contoso.com", "audience": "api://orders"}]}),
     "issuers[0].tenant_id"),
])
def test_a_bad_value_keeps_the_last_good_configuration_and_is_logged(ssm, remote, idp, keys, logs, bad_value, field):
    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}], "routes": {"GET /orders": ["orders:read"]}})
    r = remote(max_age=60)
    token = keys["RS256"].sign(claims_for(idp))
    assert allowed(r.source, token) and not allowed(r.source, token, ORDERS_ARN, "GET /orders")

    put(ssm, bad_value)
    r.clock.now += 60
    assert allowed(r.source, token)
    assert not allowed(r.source, token, ORDERS_ARN, "GET /orders"), "the route rule must not be dropped"
    assert r.failures == [1060.0]
    [error] = [record for record in logs.records() if record["level"] == "ERROR"]
    assert error["parameter"] == NAME and "the last good configuration stays" in error["message"]
    assert error["field"] == field
    if field == "parameter" and "GET /orders" in bad_value:
        assert error["problem"] == "names 'GET /orders' twice in one object; give each key once"


def test_without_a_parameter_every_request_is_denied_until_one_appears(ssm, remote, idp, keys, logs):
    r = remote(max_age=60)
    token = keys["RS256"].sign(claims_for(idp))
    assert not allowed(r.source, token)
    with pytest.raises(Unauthorized):
        r.source.current().authorize(rest_token_event(token))
    [error, *_] = [record for record in logs.records() if record["level"] == "ERROR"]
    assert "every request is denied" in error["message"] and "ParameterNotFound" in error["problem"]
    denial = next(record for record in logs.records() if record["message"] == "denied")
    assert denial["reason"] == "config_unavailable"
    assert r.failures == [1000.0], "a failure is retried after a pause, not on every request"

    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}]}, overwrite=False)
    r.clock.now += 10
    assert allowed(r.source, token)


def test_routes_missing_from_the_parameter_fall_back_to_the_environment(ssm, remote, idp, keys):
    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}]})
    r = remote(routes_env={"GET /orders": ["orders:read"]})
    token = keys["RS256"].sign(claims_for(idp))
    assert allowed(r.source, token) and not allowed(r.source, token, ORDERS_ARN, "GET /orders")


def test_parse_parameter_replaces_issuers_and_routes_only(idp):
    base = load_config({"AUTH_CONFIG_PARAMETER": NAME, "AUTH_LEEWAY_SECONDS": "5", "AUTH_RESPONSE": "simple"})
    config = parse_parameter({"issuers": [{"provider": "passage", "app_id": "app1"}],
                              "routes": {"GET /x": ["s"]}}, base)
    assert [i.issuer for i in config.issuers] == ["https://auth.passage.id/v1/apps/app1", "app1"]
    assert list(config.routes) == ["GET /x"]
    assert (config.leeway_seconds, config.response, config.config_parameter) == (5, "simple", NAME)


@pytest.mark.parametrize("text", ["0", "-1", "abc", "86401", "1.5"])
def test_a_bad_max_age_names_the_variable(text):
    with pytest.raises(ConfigError) as raised:
        max_age_from({"AUTH_CONFIG_MAX_AGE_SECONDS": text})
    assert raised.value.field == "AUTH_CONFIG_MAX_AGE_SECONDS"


# --- through the Lambda handler ---------------------------------------------------------------------------------
@pytest.fixture
def load_handler(import_handler):
    def cold_start(**env: str):
        return import_handler(**{"AUTH_ISSUERS": None, "AUTH_CONFIG_PARAMETER": NAME, **env})
    return cold_start


def test_the_handler_reads_the_parameter_at_cold_start(ssm, load_handler, idp, keys, server):
    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}]})
    module = load_handler()
    assert server.count("/idp/jwks") == 1, "keys of the parameter's issuers are prefetched at cold start"
    response = module.handler(http_v2_event(keys["RS256"].sign(claims_for(idp))), None)
    assert iam_allows(response, ARN)


def test_env_issuers_are_never_a_fallback_for_a_missing_parameter(ssm, load_handler, idp, keys, capsys):
    module = load_handler(AUTH_ISSUERS=json.dumps([{"issuer": idp, "audience": "api"}]))
    response = module.handler(http_v2_event(keys["RS256"].sign(claims_for(idp))), None)
    assert not iam_allows(response, ARN)
    out = capsys.readouterr().out
    assert "AUTH_ISSUERS is ignored" in out and "every request is denied" in out
    metrics = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    assert metrics[-1]["Reason"] == "config_unavailable" and metrics[-1]["ConfigRefreshFailed"] == [1.0]


def test_a_bad_max_age_fails_the_cold_start(ssm, load_handler):
    with pytest.raises(ConfigError, match="AUTH_CONFIG_MAX_AGE_SECONDS"):
        load_handler(AUTH_CONFIG_MAX_AGE_SECONDS="soon")


def test_tenant_rules_load_from_the_parameter_and_a_change_applies(ssm, remote, idp, keys):
    route = "GET /tenants/{tenantId}/orders"
    arn = ARN.replace("/GET/hello", "/GET/tenants/A/orders")

    def allowed_on_a(source, token):
        event = http_v2_event(token, route_key=route, arn=arn)
        event["pathParameters"] = {"tenantId": "A"}
        return iam_allows(source.current().authorize(event), arn)

    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}],
              "routes": {route: {"tenant": {"param": "tenantId", "roles": ["admin"]}}}})
    r = remote(max_age=5)
    viewer = keys["RS256"].sign(claims_for(idp, tenants={"A": {"roles": ["viewer"]}}))
    assert not allowed_on_a(r.source, viewer)
    put(ssm, {"issuers": [{"issuer": idp, "audience": "api"}],
              "routes": {route: {"tenant": {"param": "tenantId", "roles": ["admin", "viewer"]}}}})
    r.clock.now += 5
    assert allowed_on_a(r.source, viewer)
    assert not allowed_on_a(r.source, keys["RS256"].sign(claims_for(idp, tenants={"B": {"roles": ["viewer"]}})))
