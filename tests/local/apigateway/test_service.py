"""The local HTTP API end to end over 127.0.0.1: routing, Lambda authorizers, integrations, worker lifecycle."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.local.conftest import STACK, Assembly, Issuer, Served, new_nonce

pytestmark = pytest.mark.slow
#: What a busy 2-core machine may add to a timeout before its answer is sent (the function sleeps 5 s, 0.9 s).
SLACK_S = 0.5


def event_of(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["event"]


# --- routing ------------------------------------------------------------------------------------------------------


def test_an_exact_route_beats_a_parameter_route(served: Served) -> None:
    event = event_of(served.get("/orders/special"))
    assert event["routeKey"] == "GET /orders/special"
    assert "pathParameters" not in event


def test_a_parameter_route_extracts_the_path_parameter(served: Served) -> None:
    event = event_of(served.get("/orders/42", headers={"Authorization": f"allow:{new_nonce()}"}))
    assert event["routeKey"] == "GET /orders/{id}"
    assert event["pathParameters"] == {"id": "42"}


def test_a_greedy_route_takes_the_rest_and_the_method_route_beats_any(served: Served) -> None:
    event = event_of(served.get("/files/a/b/c.txt"))
    assert (event["routeKey"], event["pathParameters"]) == ("ANY /files/{proxy+}", {"proxy": "a/b/c.txt"})
    assert event_of(served.request("POST", "/files/x"))["routeKey"] == "POST /files/{proxy+}"
    assert event_of(served.request("PUT", "/files/x"))["routeKey"] == "ANY /files/{proxy+}"


def test_no_matching_route_is_404_not_found(served: Served) -> None:
    for method, path in (("GET", "/nothing"), ("DELETE", "/public"), ("GET", "/files"), ("GET", "/")):
        response = served.request(method, path)
        assert (response.status_code, response.json()) == (404, {"message": "Not Found"}), (method, path)
        assert response.headers["content-type"] == "application/json"
        assert response.headers["apigw-requestid"]


def test_a_named_stage_is_the_first_path_segment_and_default_catches_the_rest(second_api: Served) -> None:
    only = event_of(second_api.get("/prod/only"))
    assert only["routeKey"] == "GET /only"
    assert only["rawPath"] == "/prod/only"
    assert only["requestContext"]["stage"] == "prod"
    assert only["stageVariables"] == {"color": "blue"}
    caught = event_of(second_api.request("PATCH", "/prod/anything/else"))
    assert caught["routeKey"] == "$default"
    assert second_api.get("/only").status_code == 404  # no $default stage


def test_the_integration_event_has_the_payload_2_0_shape(served: Served) -> None:
    response = served.get("/public?tag=a&tag=b&empty=&x=%20y", headers={"Cookie": "c1=v1; c2=v2", "X-Mixed-Case": "V"})
    event = event_of(response)
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/public"
    assert event["rawQueryString"] == "tag=a&tag=b&empty=&x=%20y"
    assert event["queryStringParameters"] == {"tag": "a,b", "empty": "", "x": " y"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-mixed-case"] == "V"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["isBase64Encoded"] is False and "body" not in event
    context = event["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == served.api.api.api_id
    assert context["stage"] == "$default" and context["routeKey"] == "GET /public"
    assert context["http"]["method"] == "GET" and context["http"]["path"] == "/public"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] == response.headers["apigw-requestid"]
    assert re.fullmatch(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert "authorizer" not in context


def test_text_bodies_pass_as_text_and_binary_bodies_as_base64(served: Served) -> None:
    text = event_of(served.request("POST", "/public", data='{"a": 1}', headers={"content-type": "application/json"}))
    assert (text["body"], text["isBase64Encoded"]) == ('{"a": 1}', False)
    binary = event_of(served.request("POST", "/public", data=b"\x00\xff", headers={"content-type": "application/octet-stream"}))
    assert (base64.b64decode(binary["body"]), binary["isBase64Encoded"]) == (b"\x00\xff", True)


def test_functions_get_template_environment_and_overrides(served: Served) -> None:
    body = served.get("/public").json()
    assert body["env"]["GREETING"] == "hello"
    assert body["env"]["FROM_PARAMETER"] == "from-a-parameter"
    assert body["env"]["JOINED"] == "region-us-east-1"
    assert body["env"]["IMPORTED"] is None
    assert body["env"]["OVERRIDDEN"] == "by-override"
    assert body["env"]["ONLY_ECHO"] == "echo-override"
    assert body["env"]["AWS_LAMBDA_FUNCTION_NAME"].startswith(f"{STACK}-Echo")
    assert body["env"]["_HANDLER"] == "echo.handler"
    assert body["context"]["memory_limit_in_mb"] == "256"
    assert any("IMPORTED left unset" in warning for warning in served.api.warnings)


# --- Lambda authorizers -------------------------------------------------------------------------------------------


def test_a_missing_identity_source_is_401_without_invoking_the_authorizer(served: Served) -> None:
    token = f"allow:{new_nonce()}"
    response = served.get("/orders")
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    # Simple authorizer: both identity sources are needed; the header alone is not enough.
    response = served.get("/simple", headers={"X-Token": token})
    assert response.status_code == 401
    assert served.authorizer_calls(token) == []
    assert served.get("/simple?tenant=t1", headers={"X-Token": token}).status_code == 200
    assert len(served.authorizer_calls(token)) == 1


def test_the_authorizer_context_reaches_the_integration(served: Served) -> None:
    nonce = new_nonce()
    event = event_of(served.get("/orders", headers={"Authorization": f"allow:{nonce}"}))
    assert event["requestContext"]["authorizer"] == {
        "lambda": {"nonce": nonce, "number": 7, "flag": True, "principalId": f"user-{nonce}"}
    }


def test_a_deny_policy_is_403_forbidden(served: Served) -> None:
    response = served.get("/orders", headers={"Authorization": f"deny:{new_nonce()}"})
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


def test_results_are_cached_by_identity_source_for_the_ttl(served: Served) -> None:
    token = f"allow:{new_nonce()}"
    for _ in range(3):
        assert served.get("/orders", headers={"Authorization": token}).status_code == 200
    assert len(served.authorizer_calls(token)) == 1
    served.clock.advance(299)
    assert served.get("/orders/1", headers={"Authorization": token}).status_code == 200
    assert len(served.authorizer_calls(token)) == 1
    served.clock.advance(2)  # past the 300 s TTL
    assert served.get("/orders", headers={"Authorization": token}).status_code == 200
    assert len(served.authorizer_calls(token)) == 2


def test_a_cached_policy_is_evaluated_again_for_each_route(served: Served) -> None:
    token = f"allow:{new_nonce()}"
    assert served.get("/orders/7", headers={"Authorization": token}).status_code == 200
    denied = served.request("DELETE", "/orders/7", headers={"Authorization": token})
    assert denied.status_code == 403  # the cached policy's Deny statement for DELETE /orders/*
    assert len(served.authorizer_calls(token)) == 1


def test_a_cached_deny_answers_without_invoking_again(served: Served) -> None:
    token = f"deny:{new_nonce()}"
    assert served.get("/orders", headers={"Authorization": token}).status_code == 403
    assert served.get("/orders/3", headers={"Authorization": token}).status_code == 403
    assert len(served.authorizer_calls(token)) == 1


def test_the_authorizer_gets_the_payload_2_0_event(served: Served) -> None:
    token = f"allow:{new_nonce()}"
    served.get("/orders/9?view=full&view=short", headers={"Authorization": token, "Cookie": "a=b", "X-Extra": "E"})
    (call,) = served.authorizer_calls(token)
    event = call["event"]
    api_id = served.api.api.api_id
    assert event["version"] == "2.0" and event["type"] == "REQUEST"
    assert event["routeArn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/$default/GET/orders/9"
    assert event["identitySource"] == [token]
    assert event["routeKey"] == "GET /orders/{id}"
    assert (event["rawPath"], event["rawQueryString"]) == ("/orders/9", "view=full&view=short")
    assert event["queryStringParameters"] == {"view": "full,short"}
    assert event["cookies"] == ["a=b"]
    assert event["headers"]["authorization"] == token and event["headers"]["x-extra"] == "E"
    assert event["pathParameters"] == {"id": "9"}
    context = event["requestContext"]
    assert (context["apiId"], context["stage"], context["routeKey"]) == (api_id, "$default", "GET /orders/{id}")
    assert set(context["http"]) == {"method", "path", "protocol", "sourceIp", "userAgent"}
    assert isinstance(context["timeEpoch"], int)


def test_a_payload_1_0_authorizer_gets_the_rest_like_event_and_ttl_0_never_caches(served: Served) -> None:
    token = f"allow:{new_nonce()}"
    for _ in range(2):
        assert served.get("/v1?q=1", headers={"Authorization": token}).status_code == 200
    calls = served.authorizer_calls(token)
    assert len(calls) == 2
    event = calls[0]["event"]
    assert event["version"] == "1.0" and event["type"] == "REQUEST"
    assert event["methodArn"] == f"arn:aws:execute-api:us-east-1:123456789012:{served.api.api.api_id}/$default/GET/v1"
    assert event["identitySource"] == event["authorizationToken"] == token
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/v1", "/v1", "GET")
    assert event["queryStringParameters"] == {"q": "1"}
    assert "multiValueQueryStringParameters" not in event  # as in AWS's 1.0 authorizer samples (tests/local/conformance)
    assert event["pathParameters"] == {}
    assert event["requestContext"]["httpMethod"] == "GET"
    assert "routeArn" not in event


def test_simple_responses_allow_deny_and_cache_by_every_identity_source(served: Served) -> None:
    token = f"allow:{new_nonce()}"
    allowed = served.get("/simple?tenant=t1", headers={"X-Token": token})
    assert allowed.status_code == 200
    assert event_of(allowed)["requestContext"]["authorizer"]["lambda"]["nonce"] == token.split(":")[1]
    assert "principalId" not in event_of(allowed)["requestContext"]["authorizer"]["lambda"]
    served.get("/simple?tenant=t1", headers={"X-Token": token})
    assert len(served.authorizer_calls(token)) == 1
    served.get("/simple?tenant=t2", headers={"X-Token": token})
    assert len(served.authorizer_calls(token)) == 2
    assert served.get("/simple?tenant=t1", headers={"X-Token": f"deny:{new_nonce()}"}).status_code == 403


@pytest.mark.parametrize("verdict", ["boom", "malformed"])
def test_an_authorizer_error_or_malformed_response_is_500(served: Served, verdict: str) -> None:
    response = served.get("/orders", headers={"Authorization": f"{verdict}:{new_nonce()}"})
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


def test_a_payload_1_0_integration_sees_the_authorizer_context_and_principal(served: Served) -> None:
    nonce = new_nonce()
    event = event_of(served.get("/v1-integration?a=1", headers={"Authorization": f"allow:{nonce}"}))
    assert event["version"] == "1.0"
    assert (event["resource"], event["httpMethod"]) == ("/v1-integration", "GET")
    assert event["queryStringParameters"] == {"a": "1"}
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["nonce"] == nonce and authorizer["principalId"] == f"user-{nonce}"
    assert "integrationLatency" in authorizer


# --- integration responses ----------------------------------------------------------------------------------------


def test_a_result_without_status_code_becomes_a_200_json_body(served: Served) -> None:
    response = served.get("/public?mode=raw")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"hello": "world"}
    assert served.get("/public?mode=string").text == '"plain text"'


def test_a_full_response_sets_status_headers_and_cookies(served: Served) -> None:
    response = served.get("/public?mode=full")
    assert response.status_code == 201
    assert response.text == "created"
    assert response.headers["x-custom"] == "one"
    assert response.headers["x-number"] == "5"
    assert response.raw.headers.getlist("x-multi") == ["a", "b"]
    assert response.raw.headers.getlist("set-cookie") == ["session=abc; Path=/", "theme=dark"]


def test_a_base64_response_is_sent_as_bytes(served: Served) -> None:
    response = served.get("/public?mode=binary")
    assert response.content == bytes([0, 1, 255])


@pytest.mark.parametrize("mode", ["malformed", "raise"])
def test_a_malformed_response_or_function_error_is_500(served: Served, mode: str) -> None:
    response = served.get(f"/public?mode={mode}")
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


def test_head_requests_get_headers_only(served: Served) -> None:
    response = served.request("HEAD", "/files/readme")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) > 0
    assert response.content == b""


# --- worker lifecycle through the API -----------------------------------------------------------------------------


def test_the_backend_starts_cold_then_stays_warm(served: Served) -> None:
    first = served.get("/public").json()
    second = served.get("/public").json()
    assert first["pid"] == second["pid"]
    assert second["invocations"] == first["invocations"] + 1  # module state survives: the same environment


def test_a_crash_is_500_then_the_function_recovers_in_a_new_process(served: Served) -> None:
    before = served.get("/public").json()["pid"]
    crashed = served.get("/public?mode=crash")
    assert (crashed.status_code, crashed.json()) == (500, {"message": "Internal Server Error"})
    after = served.get("/public").json()
    assert after["pid"] != before
    assert after["invocations"] == 1


def test_a_function_timeout_is_500_and_the_next_call_is_a_cold_start(served: Served) -> None:
    before = served.get("/slow").json()["pid"]
    started = time.monotonic()
    response = served.get("/slow?mode=sleep&seconds=5")
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 1.0 + SLACK_S, f"the function's 1 s timeout answered after {elapsed:.2f} s"
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
    assert served.get("/slow").json()["pid"] != before


def test_an_integration_timeout_is_503(served: Served) -> None:
    started = time.monotonic()
    response = served.get("/integration-timeout?mode=sleep&seconds=0.9")
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 0.3 + SLACK_S, f"the integration's 300 ms timeout answered after {elapsed:.2f} s"
    assert (response.status_code, response.json()) == (503, {"message": "Service Unavailable"})


def test_an_init_error_is_500_every_time(served: Served) -> None:
    for _ in range(2):
        response = served.get("/broken")
        assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
    log = served.log_file.read_text()
    assert "Runtime.ImportModuleError" in log
    assert "module_that_does_not_exist" in log


# --- logs ---------------------------------------------------------------------------------------------------------


def test_the_server_writes_nothing_per_request_to_stderr(served: Served, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    served.get("/public")
    served.get("/nothing")
    assert capfd.readouterr().err == ""


def test_tokens_never_reach_the_logs(served: Served, jwks_issuer: Issuer) -> None:
    secret = f"allow:{new_nonce()}"
    served.get("/orders", headers={"Authorization": secret})
    served.get("/orders", headers={"Authorization": f"boom:{new_nonce()}"})
    jwt_token = jwks_issuer.sign(jwks_issuer.claims(aud="someone-else"))
    assert served.get("/jwt", headers={"Authorization": f"Bearer {jwt_token}"}).status_code == 401
    log = served.log_file.read_text()
    assert "JWT authorizer JwtAuthorizer: bad_audience" in log
    assert secret not in log and jwt_token not in log and jwt_token.split(".")[1] not in log


# --- command line -------------------------------------------------------------------------------------------------


def test_the_command_line_serves_until_interrupted(assembly: Assembly, tmp_path: Path) -> None:
    log_file = tmp_path / "cli.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "gateway", "--assembly", str(assembly.outdir), "--stack", STACK,
         "--api", "SecondApi", "--log-file", str(log_file), "--env", "Echo:GREETING=from-cli"],
        cwd=Path(__file__).resolve().parents[3], stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+)", banner)
        assert found, banner
        with requests.Session() as http:
            http.trust_env = False
            body = http.get(found.group(1) + "/prod/only", timeout=30).json()
        assert body["env"]["GREETING"] == "from-cli"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
