"""The Lambda entry point as Lambda runs it: configured at import, hostile input, and what reaches the logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import ARN, b64, claims_for, http_v1_event, http_v2_event, rest_request_event, rest_token_event
from .test_responses import assert_well_formed_policy, iam_allows

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = SimpleNamespace(aws_request_id="req-1", function_name="authorizer")


@pytest.fixture
def load_handler(idp, import_handler):
    def cold_start(**env: str):
        return import_handler(**{"AUTH_ISSUERS": json.dumps([{"issuer": idp, "audience": "api"}]), **env})
    return cold_start


def test_cold_start_prefetches_keys_and_warm_requests_fetch_nothing(load_handler, idp, keys, server):
    module = load_handler()
    assert server.count("/idp/jwks") == 1
    for alg in ("RS256", "ES384"):
        response = module.handler(http_v2_event(keys[alg].sign(claims_for(idp))), CONTEXT)
        assert iam_allows(response, ARN)
    assert server.count("/idp/jwks") == 1


def test_rest_denial_raises_exactly_unauthorized(load_handler):
    module = load_handler()
    for event in (rest_token_event("garbage"), rest_request_event(None)):
        with pytest.raises(Exception) as caught:
            module.handler(event, CONTEXT)
        assert type(caught.value) is Exception and str(caught.value) == "Unauthorized"


@pytest.mark.parametrize("env, field", [
    ({"AUTH_ISSUERS": json.dumps([{"issuer": "https://idp.example.com", "audiance": "x"}])}, "AUTH_ISSUERS[0].audiance"),
    ({"AUTH_ROUTES": json.dumps({"GET orders": []})}, "AUTH_ROUTES['GET orders']"),
    ({"AUTH_RESPONSE": "allow"}, "AUTH_RESPONSE"),
])
def test_bad_configuration_fails_the_cold_start_naming_the_field(env, field):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    environ.update({"AUTH_ISSUERS": json.dumps([{"issuer": "https://idp.example.com", "audience": "api"}]), **env})
    environ["AUTH_JWKS_TIMEOUT_SECONDS"] = "0.1"
    result = subprocess.run([sys.executable, "-c", "import authorizer.handler"], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert field in result.stdout + result.stderr


def test_the_token_never_appears_in_the_logs(load_handler, idp, keys, capsys):
    module = load_handler(POWERTOOLS_LOG_LEVEL="DEBUG")
    valid = keys["RS256"].sign(claims_for(idp, sub="alice"))
    expired = keys["RS256"].sign(claims_for(idp, exp=int(time.time()) - 3600))
    forged = keys["RS256"].sign(claims_for(idp), kid="unknown-kid")
    wrong_aud = keys["ES256"].sign(claims_for(idp, aud="someone-else"))
    tokens = [valid, expired, forged, wrong_aud, "not.a.jwt", valid + "x"]
    for token in tokens:
        for event in (http_v2_event(token), http_v1_event(token)):
            module.handler(event, CONTEXT)
        with pytest.raises(Exception, match="Unauthorized"):
            module.handler(rest_token_event(token + "tampered"), CONTEXT)
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert '"reason":"expired"' in text and '"reason":"unknown_kid"' in text  # denials are logged...
    assert '"reason":"audience_mismatch"' in text and '"sub":"alice"' in text
    for token in tokens:  # ...without the token or any of its signature
        assert token not in text
        assert token.split(".")[-1] not in text


# --- hostile input never raises anything else and never gets a malformed answer or an Allow ----------------
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
segments = st.one_of(st.text(max_size=40), st.binary(max_size=40).map(b64),
                     json_values.map(lambda v: b64(json.dumps(v))),
                     st.fixed_dictionaries({"alg": st.sampled_from(["none", "HS256", "RS256", "ES256", "PS256", ""]),
                                            "kid": st.text(max_size=10), "crit": st.just(["exp"])}).map(b64))
tokens = st.one_of(
    st.text(max_size=200),
    st.lists(segments, min_size=1, max_size=6).map(".".join),
    st.sampled_from(["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "a.b.c", "a.b.c.d.e", "x" * 20000]),
)


def random_event(shape, token, extra):
    event = {"http2": http_v2_event, "http1": http_v1_event, "rest-token": rest_token_event,
             "rest-request": rest_request_event}[shape](None)
    if shape == "rest-token":
        event["authorizationToken"] = token
    elif shape == "http2":
        event["headers"] = {"authorization": token}
    else:
        event["headers"] = {"Authorization": token}
    event.update(extra)
    return event


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.sampled_from(["http2", "http1", "rest-token", "rest-request"]), token=tokens,
       extra=st.dictionaries(st.sampled_from(["routeArn", "methodArn", "headers", "cookies", "routeKey",
                                              "requestContext", "version", "type"]), json_values, max_size=3),
       simple=st.booleans())
def test_random_events_and_tokens_never_raise_or_allow(load_handler_once, shape, token, extra, simple):
    module = load_handler_once(simple)
    event = random_event(shape, token, extra)
    is_rest = event.get("version") is None and event.get("type") in ("TOKEN", "REQUEST")
    try:
        response = module.handler(event, CONTEXT)
    except Exception as raised:
        assert type(raised) is Exception and str(raised) == "Unauthorized" and is_rest
        return
    assert isinstance(response, dict)
    if "isAuthorized" in response:
        assert response == {"isAuthorized": False}
        assert simple and event.get("version") == "2.0"
    else:
        assert_well_formed_policy(response)
        assert all(s["Effect"] == "Deny" for s in response["policyDocument"]["Statement"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=json_values)
def test_events_of_any_shape_never_raise_or_allow(load_handler_once, event):
    module = load_handler_once(False)
    try:
        response = module.handler(event, CONTEXT)
    except Exception as raised:
        assert type(raised) is Exception and str(raised) == "Unauthorized"
        assert isinstance(event, dict) and event.get("type") in ("TOKEN", "REQUEST")
        return
    assert_well_formed_policy(response)
    assert all(s["Effect"] == "Deny" for s in response["policyDocument"]["Statement"])


@pytest.fixture
def load_handler_once(load_handler):
    loaded = {}
    def get(simple: bool):
        if simple not in loaded:
            loaded.clear()
            loaded[simple] = load_handler(AUTH_RESPONSE="simple" if simple else "iam",
                                          AUTH_ROUTES=json.dumps({"GET /orders": ["orders:read"]}))
        return loaded[simple]
    return get


# --- valid signatures around hostile claims: the response must still be well formed, and allow only when due ------
hostile_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.dictionaries(st.text(max_size=10), hostile_values, max_size=5),
       standard=st.fixed_dictionaries({}, optional={"sub": hostile_values, "scope": hostile_values,
                                                    "aud": hostile_values, "nbf": hostile_values,
                                                    "client_id": hostile_values}),
       route_key=st.sampled_from(["GET /orders", "GET /hello", "$default"]), simple=st.booleans())
def test_signed_tokens_with_hostile_claims_get_well_formed_json_answers(load_handler_once, idp, keys, extra,
                                                                       standard, route_key, simple):
    module = load_handler_once(simple)
    claims = {**extra, **standard, **{k: v for k, v in claims_for(idp).items() if k not in standard}}
    claims["iss"], claims["exp"] = idp, claims_for(idp)["exp"]
    token = keys["ES256"].sign(claims)
    response = module.handler(http_v2_event(token, route_key=route_key), CONTEXT)
    json.dumps(response, allow_nan=False)  # what Lambda must serialize for API Gateway
    if simple:
        assert set(response) <= {"isAuthorized", "context"}
        granted = response["isAuthorized"]
    else:
        assert_well_formed_policy(response)
        granted = iam_allows(response, ARN.replace("GET/hello", route_key.replace(" /", "/")))
    assert "claims" not in response.get("context", {})
    if granted:  # then every standard claim present was of the right type
        scope = claims.get("scope", "")
        assert isinstance(claims.get("sub", ""), str)
        assert isinstance(scope, str) or (isinstance(scope, list) and all(isinstance(s, str) for s in scope))
        aud = claims.get("aud")
        assert aud == "api" or (isinstance(aud, list) and "api" in aud) or (aud is None and claims.get("client_id") == "api")
