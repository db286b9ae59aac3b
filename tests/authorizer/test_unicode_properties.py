"""Random Unicode — lone surrogates included — in every token field and every configuration string (issue 10).

Whatever the text: the configuration loads or fails with a ``ConfigError``; ``authorize`` never raises; a denial
is always logged with its reason, through a stream that encodes UTF-8 strictly, as Lambda's stdout does; and the
response survives ``json.dumps(..., ensure_ascii=False).encode()``, as the Lambda runtime serializes it.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jose import jws

from authorizer.authorize import Authorizer
from authorizer.config import load_config
from authorizer.errors import ConfigError

from .support import ARN, claims_for, http_v2_event
from .test_responses import iam_allows

# Every code point, surrogates (category Cs) included: hypothesis leaves them out by default.
any_text = st.text(st.characters(exclude_categories=()), max_size=12)
some_text = st.one_of(any_text, st.sampled_from(["api", "orders:read", "GET /orders", "\ud800", "a\udfffb"]))
json_values = st.recursive(st.none() | st.booleans() | st.integers() | any_text,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
                           max_leaves=8)


class StrictLogs:
    """A Powertools logger writing through a strict UTF-8 stream, as Lambda's stdout is; write failures recorded."""

    def __init__(self) -> None:
        self.raw = io.BytesIO()
        self.stream = io.TextIOWrapper(self.raw, encoding="utf-8", errors="strict", write_through=True)
        self.failures: list[str] = []
        handler = logging.StreamHandler(self.stream)
        handler.handleError = lambda record: self.failures.append(record.getMessage())  # type: ignore[method-assign]
        self.logger = Logger(service=f"strict-{uuid.uuid4().hex[:8]}", level="DEBUG", logger_handler=handler)

    def records(self) -> list[dict[str, Any]]:
        # split on "\n" only: splitlines() would also split on U+2028 or U+0085 inside a JSON string
        return [json.loads(line) for line in self.raw.getvalue().decode("utf-8").split("\n") if line.strip()]


def denied(response: dict[str, Any]) -> bool:
    return response.get("isAuthorized") is False or ("policyDocument" in response and not iam_allows(response, ARN))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.fixed_dictionaries({}, optional={"kid": some_text, "typ": some_text, "alg": some_text,
                                                  "x": json_values}),
       claims=st.fixed_dictionaries({}, optional={"sub": some_text, "iss": some_text, "aud": some_text,
                                                  "scope": some_text, "scp": some_text, "client_id": some_text}),
       extra=st.dictionaries(any_text, json_values, max_size=3),
       trusted_iss=st.booleans(), good_signature=st.booleans(), simple=st.booleans(),
       route_key=st.one_of(some_text, st.just("GET /hello")))
def test_random_unicode_in_a_token_never_raises_or_loses_the_denial_log(idp, keys, header, claims, extra, trusted_iss,
                                                                        good_signature, simple, route_key):
    logs = StrictLogs()
    environ = {"AUTH_ISSUERS": json.dumps([{"issuer": idp, "audience": "api"}]),
               "AUTH_ROUTES": json.dumps({"GET /hello": ["a"]}), "AUTH_RESPONSE": "simple" if simple else "iam"}
    authorizer = Authorizer(load_config(environ), logger=logs.logger)
    payload = {**extra, **claims_for(idp, scope="a"), **claims}
    if trusted_iss:
        payload["iss"] = idp
    key = keys["RS256"]
    token = jws.sign(payload, key._jose_key("RS256"), headers={"kid": key.kid, **header}, algorithm="RS256")
    if not good_signature:
        token = token[:-4] + "AAAA"
    response = authorizer.authorize(http_v2_event(token, route_key=route_key))
    json.dumps(response, ensure_ascii=False).encode()
    assert logs.failures == []
    if denied(response):
        denials = [r for r in logs.records() if r["message"] == "denied"]
        assert len(denials) == 1 and denials[0]["reason"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(issuer_audience=some_text, route_key=some_text, scope=some_text, claim_name=some_text,
       claim_value=st.one_of(some_text, st.integers(), st.booleans()), cookie=some_text, response_type=some_text,
       token_scope=some_text, token_claim=some_text)
def test_random_unicode_in_the_configuration_never_raises_or_loses_the_denial_log(
        idp, keys, issuer_audience, route_key, scope, claim_name, claim_value, cookie, response_type, token_scope,
        token_claim):
    environ = {"AUTH_ISSUERS": json.dumps([{"issuer": idp, "audience": issuer_audience}]),
               "AUTH_ROUTES": json.dumps({route_key: {"scopes": [scope], "claims": {claim_name: claim_value}}}),
               "AUTH_TOKEN_COOKIE": cookie, "AUTH_RESPONSE": response_type}
    try:
        config = load_config(environ)
    except ConfigError as problem:
        json.dumps({"field": problem.field, "problem": problem.problem}, ensure_ascii=False).encode()
        return
    logs = StrictLogs()
    authorizer = Authorizer(config, logger=logs.logger)
    payload = claims_for(idp, aud=issuer_audience, scope=token_scope)
    payload[claim_name] = token_claim
    token = keys["RS256"].sign(payload)
    response = authorizer.authorize(http_v2_event(token, route_key=route_key))
    json.dumps(response, ensure_ascii=False).encode()
    assert logs.failures == []
    if denied(response):
        denials = [r for r in logs.records() if r["message"] == "denied"]
        assert len(denials) == 1 and denials[0]["reason"]


@pytest.mark.parametrize("where", ["sub", "iss", "kid"])
def test_a_denial_is_logged_through_a_strict_utf8_stream(idp, keys, where):
    """The failure as Lambda shows it: the write to stdout fails, and no ``denied`` line is left."""
    logs = StrictLogs()
    authorizer = Authorizer(load_config({"AUTH_ISSUERS": json.dumps([{"issuer": idp, "audience": "api"}])}),
                            logger=logs.logger)
    claims = claims_for(idp, sub="x\ud800" if where == "sub" else "x")
    if where == "iss":
        claims["iss"] = "\udfff"
    token = keys["RS256"].sign(claims, **({"kid": "\ud800"} if where == "kid" else {}))
    response = authorizer.authorize(http_v2_event(token[:-4] + "AAAA"))
    assert denied(response) and logs.failures == []
    (record,) = [r for r in logs.records() if r["message"] == "denied"]
    assert record["reason"] and record[where].count("\ufffd") == 1
