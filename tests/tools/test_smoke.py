"""``python -m tools smoke``: the API URL from a stack's outputs in moto's CloudFormation, and the calls against a
small server on 127.0.0.1 that answers as API Gateway does."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from tools.__main__ import main
from tools.smoke import BAD_TOKEN, SmokeError, concrete_path, find_outputs, stack_outputs

from .conftest import REGION

GOOD = "good.token.value"
ROUTES = [
    {"method": "GET", "path": "/health", "public": True},
    {"method": "GET", "path": "/hello"},
    {"method": "GET", "path": "/orders/{id}", "scopes": ["orders:read"]},
    {"method": "POST", "path": "/orders", "scopes": ["orders:write"]},
]


class FakeGateway:
    """Plays API Gateway with a Lambda authorizer: 401 without a token, 403 for a refused one.

    ``allowed``: request paths the good token may call (others get 403); ``leaky``: paths that let anyone in.
    """

    def __init__(self, allowed=("/hello", "/orders/1"), leaky=()) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                authorization = self.headers.get("Authorization")
                gateway.seen.append((self.command, self.path, authorization))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path == "/health" or self.path in leaky:
                    status = 200
                elif authorization is None:
                    status = 401
                elif authorization == f"Bearer {GOOD}" and self.path in allowed:
                    status = 200
                else:
                    status = 403
                body = json.dumps({"message": "ok" if status == 200 else "Forbidden"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def gateway():
    servers = []

    def start(**kwargs) -> FakeGateway:
        servers.append(FakeGateway(**kwargs))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


def deploy_stack(name: str, outputs: dict[str, tuple[str, str]]) -> None:
    """A stack in moto's CloudFormation with the given outputs (key → (value, description))."""
    template = {
        "Resources": {"Marker": {"Type": "AWS::SSM::Parameter",
                                 "Properties": {"Name": f"/{name}/marker", "Type": "String", "Value": "smoke"}}},
        "Outputs": {key: {"Value": value, "Description": description} for key, (value, description) in outputs.items()},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName=name, TemplateBody=json.dumps(template))


def table_rows(out: str) -> dict[str, str]:
    """The verdict table's lines by route key."""
    return {" ".join(line.split()[:2]): line for line in out.splitlines() if line.startswith(("GET ", "POST "))}


@pytest.fixture
def cdk_json(tmp_path):
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": {"stackName": "OrdersApi", "routes": ROUTES}}))
    return str(path)


def test_the_api_url_comes_from_the_stack_outputs(aws):
    url = "https://a1b2.execute-api.eu-west-1.amazonaws.com/"
    deploy_stack("OrdersApi", {"ApiUrl": (url, "Base URL of the HTTP API"),
                               "AuthorizerMode": ("lambda", "lambda or jwt"),
                               "LogGroup": ("/aws/lambda/x", "where the logs go")})
    outputs = stack_outputs("OrdersApi", REGION)
    assert (outputs.api_url, outputs.authorizer_mode) == (url, "lambda")


def test_a_missing_stack_is_a_clear_error(aws):
    with pytest.raises(SmokeError, match="cannot read stack 'Nope'"):
        stack_outputs("Nope", REGION)


@pytest.mark.parametrize("outputs, key, expected", [
    ([{"OutputKey": "OrdersHttpApiApiUrl5F3A", "OutputValue": "https://x.example/"}], None, "https://x.example/"),
    ([{"OutputKey": "Endpoint", "OutputValue": "https://y.example/", "Description": "The API URL"},
      {"OutputKey": "Other", "OutputValue": "https://z.example/", "Description": "dashboard"}],
     None, "https://y.example/"),
    ([{"OutputKey": "ApiUrl", "OutputValue": "https://a.example/"},
      {"OutputKey": "Custom", "OutputValue": "https://b.example/"}], "Custom", "https://b.example/"),
])
def test_the_url_output_is_found_by_key_description_or_override(outputs, key, expected):
    assert find_outputs(outputs, key).api_url == expected


@pytest.mark.parametrize("outputs, key, message", [
    ([{"OutputKey": "Bucket", "OutputValue": "my-bucket"}], None, "no outputs look like the API URL (Bucket)"),
    ([{"OutputKey": "ApiUrl", "OutputValue": "https://a/"}, {"OutputKey": "AdminApiUrl", "OutputValue": "https://b/"}],
     None, "several outputs"),
    ([{"OutputKey": "ApiUrl", "OutputValue": "https://a/"}], "Url", "has no output 'Url'; it has: ApiUrl"),
    ([{"OutputKey": "ApiUrl", "OutputValue": "not a url"}], None, "is not a URL"),
])
def test_no_or_ambiguous_outputs_say_what_the_stack_has(outputs, key, message):
    with pytest.raises(SmokeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        find_outputs(outputs, key)


def test_path_parameters_become_concrete_values():
    assert concrete_path("/orders/{id}/items/{proxy+}") == "/orders/1/items/smoke"


def test_a_healthy_deployment_passes_every_route(aws, gateway, cdk_json, capsys, monkeypatch):
    api = gateway(allowed=("/hello", "/orders/1", "/orders"))
    deploy_stack("OrdersApi", {"ApiUrl": (api.url, "Base URL of the HTTP API"), "AuthorizerMode": ("lambda", "")})
    monkeypatch.setenv("TOKEN", GOOD)
    assert main(["smoke", "--region", REGION, "--cdk-json", cdk_json, "--token-env", "TOKEN"]) == 0
    out = capsys.readouterr().out
    assert f"API {api.url} (authorizer: lambda)" in out and "4 of 4 routes behave as expected" in out
    rows = table_rows(out)
    assert rows["GET /hello"].split()[3:5] == ["401", "rejected"] and rows["GET /hello"].endswith("PASS")
    assert "403 rejected" in rows["GET /hello"] and "200 accepted" in rows["GET /hello"]
    assert "public" in rows["GET /health"] and "200 answered" in rows["GET /health"]
    assert GOOD not in out, "the token is never printed"
    calls = {(method, path, auth) for method, path, auth in api.seen}
    assert ("GET", "/orders/1", None) in calls and ("POST", "/orders", f"Bearer {BAD_TOKEN}") in calls


def test_a_route_that_refuses_the_token_or_lets_anyone_in_fails_the_run(aws, gateway, cdk_json, capsys, monkeypatch):
    api = gateway(allowed=("/hello",), leaky=("/orders",))
    deploy_stack("OrdersApi", {"HttpApiUrl": (api.url, "")})
    monkeypatch.setattr("sys.stdin", io.StringIO(f"Bearer {GOOD}\n"))
    assert main(["smoke", "--region", REGION, "--cdk-json", cdk_json, "--token-stdin"]) == 1
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert "403 REJECTED" in rows["GET /orders/{id}"] and rows["GET /orders/{id}"].endswith("FAIL")
    assert "200 ALLOWED WITHOUT A VALID TOKEN" in rows["POST /orders"] and rows["POST /orders"].endswith("FAIL")
    assert rows["GET /hello"].endswith("PASS")
    assert "failing: GET /orders/{id}, POST /orders" in out


def test_routes_and_url_can_be_given_without_cdk_json_or_cloudformation(gateway, capsys):
    api = gateway()
    assert main(["smoke", "--url", api.url, "--public", "GET /health", "--protected", "/hello"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 routes behave as expected" in out and "your token" not in out


def descope_like(tenants: dict) -> str:
    """An unsigned token with Descope's tenants claim: the fake gateway compares it as text, smoke reads its tenants."""
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part({'sub': 'u', 'tenants': tenants})}.c2ln"


@pytest.mark.parametrize("leaky, code, verdict", [((), 0, "PASS"), (("/tenants/smoke-not-your-tenant/orders",), 1, "FAIL")])
def test_a_tenant_route_is_called_for_your_tenant_and_must_refuse_another(gateway, tmp_path, capsys, monkeypatch,
                                                                           leaky, code, verdict):
    token = descope_like({"T2acme": {"roles": ["admin"]}, "T2globex": {}})
    routes = [{"method": "GET", "path": "/tenants/{tenantId}/orders", "tenant": {"param": "tenantId", "roles": ["admin"]}}]
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": {"routes": routes}}))
    api = gateway(allowed=("/tenants/T2acme/orders",), leaky=leaky)
    monkeypatch.setitem(globals(), "GOOD", token)  # the fake gateway's valid token
    monkeypatch.setenv("TOKEN", token)
    assert main(["smoke", "--url", api.url, "--cdk-json", str(path), "--token-env", "TOKEN"]) == code
    row = table_rows(capsys.readouterr().out)["GET /tenants/{tenantId}/orders"]
    assert row.endswith(verdict) and "200 accepted" in row
    assert ("GET", "/tenants/T2acme/orders", f"Bearer {token}") in set(api.seen)
    assert ("GET", "/tenants/smoke-not-your-tenant/orders", f"Bearer {token}") in set(api.seen)
