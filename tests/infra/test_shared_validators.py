"""The stack's cdk.json validation and the authorizer's cold start agree on the values they both check: cookie names,
claim-rule values and the SSM configuration's max age. One rule, written once in ``authorizer/config.py``."""

from __future__ import annotations

import json

import pytest

from authorizer.config import ConfigError as AuthorizerConfigError
from authorizer.config import load_config, parse_routes
from authorizer.remote_config import max_age_from
from infra.config import ConfigError, load_stack_config

ISSUERS = [{"issuer": "https://idp.example.org", "audience": "api"}]


def stack_accepts(**context) -> bool:
    try:
        load_stack_config({"issuers": ISSUERS, **context}.get)
    except ConfigError:
        return False
    return True


def authorizer_accepts(check) -> bool:
    try:
        check()
    except AuthorizerConfigError:
        return False
    return True


@pytest.mark.parametrize("name", ["session", "__Host-token", "psg_auth_token", "a b", "a;b", "tok=en", "é", "a,b"])
def test_a_cookie_name_is_valid_for_the_stack_exactly_when_it_is_for_the_authorizer(name):
    environment = {"AUTH_ISSUERS": json.dumps(ISSUERS), "AUTH_TOKEN_COOKIE": name}
    assert stack_accepts(tokenCookie=name, cacheTtlSeconds=0) == authorizer_accepts(lambda: load_config(environment))


@pytest.mark.parametrize("value", ["admin", 1, 2.5, True, float("inf"), None, [], ["a", 1], [{"a": 1}]])
def test_a_claim_rule_value_is_valid_for_the_stack_exactly_when_it_is_for_the_authorizer(value):
    routes = [{"method": "GET", "path": "/x", "claims": {"tier": value}}]
    rules = {"GET /x": {"claims": {"tier": value}}}
    assert stack_accepts(routes=routes) == authorizer_accepts(lambda: parse_routes(rules))


@pytest.mark.parametrize("seconds", [0, 1, 60, 86400, 86401])
def test_the_configuration_max_age_bounds_are_the_authorizers(seconds):
    in_stack = stack_accepts(configParameter=True, configMaxAgeSeconds=seconds)
    assert in_stack == authorizer_accepts(lambda: max_age_from({"AUTH_CONFIG_MAX_AGE_SECONDS": str(seconds)}))
