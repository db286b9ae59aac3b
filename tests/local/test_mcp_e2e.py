"""The official MCP clients against the local stack, both authorizer modes, no mocks: the Python SDK
(``mcp.Client`` + ``OAuthClientProvider``, 2026-07-28), the TypeScript SDK 1.x (``@modelcontextprotocol/sdk``,
2025-11-25: no ``Mcp-Method``/``Mcp-Name``) and 2.x (``@modelcontextprotocol/client``, 2026-07-28), and the MCP
Inspector's CLI. Each discovers the authorization server from the 401, registers, authorizes with PKCE and
``resource`` (the dev user consents headless), and calls the sample MCP server through the synthesized stack.

What each mode answers, and what each client then does, is asserted as it really happens:

- lambda mode: the authorizer decides per tool from ``Mcp-Name``; its refusals are API Gateway's bare 403 (no
  challenge: HTTP APIs have no gateway responses), so no SDK steps up or refreshes on them. A client of an earlier
  revision (TypeScript 1.x) must meet every rule of the endpoint (``mcp_older_client_denied``).
- jwt mode: API Gateway's JWT authorizer checks issuer and audience (401 ``invalid_token``, with ``scope=""``); the
  sample server checks tool scopes (403 with the ``insufficient_scope`` challenge).

One stack per mode serves the whole module; the TypeScript flows run in two Node processes (a reader, then a user
with both scopes). Users get unique subjects, so each denial is found in the authorizer's log by ``sub``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from mcp.shared.exceptions import MCPError

from infra.config import DEFAULT_ROUTES
from local.awslambda.log_watch import LogWatch
from local.cli import mcp_paths
from local.idp.authorization_settings import DevUser
from local.mcp_clients.python_sdk import CALLBACK, AuthorizationRefused, PythonClient, reissued, sdk_clock_ahead
from local.mcp_clients.typescript_sdk import (
    call,
    connect,
    list_tools,
    run_flows,
    swap_token,
    typescript_flow,
)
from local.stack import (
    PROJECT_ROOT,
    LocalStack,
    dev_authorization_server,
    free_port,
    jwt_routes,
    synthesize_in_process,
)
from tests.local.idp.client_metadata_server import DocumentServer

pytestmark = pytest.mark.slow

MCP_PATH = mcp_paths(list(DEFAULT_ROUTES))[0]
CONTEXTS = {"lambda": {"routes": list(DEFAULT_ROUTES)}, "jwt": {"routes": jwt_routes(DEFAULT_ROUTES)[0]}}
READ, WRITE = "orders:read", "orders:write"
ORDER = {"item": "widget", "quantity": 1}
STEP_UP = ('Bearer error="insufficient_scope", scope="orders:write", resource_metadata="{prm}", '
           'error_description="create_order needs the scope orders:write"')
EXPIRED = 'Bearer scope="" error="invalid_token" error_description="the token has expired"'
NOT_OURS = 'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'


@dataclass
class McpStack:
    """One local stack, its MCP endpoint and what that endpoint advertises."""

    stack: LocalStack
    logs: LogWatch

    @property
    def mode(self) -> str:
        return self.stack.mode

    @property
    def url(self) -> str:
        return self.stack.url + MCP_PATH

    @property
    def metadata_url(self) -> str:
        return self.stack.url + "/.well-known/oauth-protected-resource" + MCP_PATH

    @property
    def server(self) -> dict[str, str]:
        return dev_authorization_server(self.mode, self.stack.native)

    @property
    def authorization_server(self) -> str:
        return self.stack.dev_issuer.issuer_url(**self.server)

    @property
    def other_resource(self) -> str:
        return self.stack.url + "/other-mcp"

    def endpoint(self, name: str) -> str:
        """An endpoint of the authorization server: ``metadata`` (RFC 8414), ``register``, ``token``."""
        if name == "metadata":
            return self.stack.dev_issuer.root + "/.well-known/oauth-authorization-server" + urlsplit(
                self.authorization_server).path
        return f"{self.authorization_server}/{name}"


@pytest.fixture(scope="module")
def stacks() -> Iterator[dict[str, McpStack]]:
    with ExitStack() as opened:
        served = {}
        for mode in ("lambda", "jwt"):
            logs = LogWatch(io.StringIO())
            stack = LocalStack(mode, synthesizer=synthesize_in_process, log_sink=logs, context=CONTEXTS[mode])
            served[mode] = McpStack(opened.enter_context(stack), logs)
        yield served


def denied(mcp: McpStack, sub: str, reason: str) -> bool:
    """Whether the authorizer logged a denial of ``sub``'s token for ``reason`` (waiting for its line if need be)."""
    return mcp.logs.wait_for(lambda r: r.get("message") == "denied" and r.get("sub") == sub
                             and r.get("reason") == reason) is not None


@contextlib.contextmanager
def user(stacks: dict[str, McpStack], *scopes: str) -> Iterator[str]:
    """A new user of both stacks' authorization servers who may grant ``scopes``; their subject."""
    sub = f"user-{uuid.uuid4().hex[:8]}"
    for mcp in stacks.values():
        mcp.stack.dev_issuer.authorization.configure(user=DevUser(sub=sub, scopes=scopes))
    try:
        yield sub
    finally:
        for mcp in stacks.values():
            mcp.stack.dev_issuer.authorization.configure(user=DevUser())


# --- the Python SDK ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_python_sdk_discovers_registers_authorizes_with_pkce_and_resource_and_calls_the_read_tool(stacks, mode):
    mcp = stacks[mode]
    with user(stacks, READ, WRITE) as sub:
        client = PythonClient(mcp.url)
        listed = client.attempt(lambda session: session.list_tools())
        called = client.attempt(lambda session: session.call_tool("list_orders", {}))
    metadata = requests.get(mcp.metadata_url, timeout=10).json()
    assert (metadata["resource"], metadata["authorization_servers"]) == (mcp.url, [mcp.authorization_server])
    assert listed.ok and {tool.name for tool in listed.result.tools} == {"list_orders", "create_order"}
    # No token: API Gateway's 401 without a challenge; the SDK probes the well-known metadata URLs instead.
    assert [(e.method, e.url, e.status, e.challenge) for e in listed.exchanges[:5]] == [
        ("POST", mcp.url, 401, None), ("GET", mcp.metadata_url, 200, None),
        ("GET", mcp.endpoint("metadata"), 200, None), ("POST", mcp.endpoint("register"), 201, None),
        ("POST", mcp.endpoint("token"), 200, None)]
    [authorization] = client.browser.requests
    assert (authorization["code_challenge_method"], authorization["resource"]) == ("S256", mcp.url)
    [code] = [e for e in listed.exchanges if e.grant_type]
    assert (code.grant_type, code.resource, code.code_verifier) == ("authorization_code", mcp.url, True)
    claims = client.claims
    assert (claims["iss"], claims["aud"], claims["sub"]) == (mcp.authorization_server, mcp.url, sub)
    assert called.ok and called.result.structured_content["caller"] == {
        "principal": sub, "client": claims["azp"], "authorizer": mode, "scopes": [READ, WRITE]}
    calls = [e.mcp_name for e in called.to(mcp.url) if e.mcp_method == "tools/call"]
    assert calls == ["list_orders"]  # 2026-07-28: the tool named in Mcp-Name (then tools/list: its output schema)


def test_python_sdk_identifies_itself_by_a_client_id_metadata_document(stacks, tmp_path):
    mcp = stacks["lambda"]
    issuer = mcp.stack.dev_issuer
    with DocumentServer(tmp_path) as documents, user(stacks, READ) as sub:
        url = documents.publish("/oauth/orders-agent.json", {
            "client_name": "orders-agent", "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"]})
        issuer.authorization.configure(client_metadata_ca_bundle=documents.ca)
        try:
            called = PythonClient(mcp.url, client_metadata_url=url).attempt(
                lambda session: session.call_tool("list_orders", {}))
        finally:
            issuer.authorization.configure(client_metadata_ca_bundle=None)
    assert called.ok and called.result.structured_content["caller"]["client"] == url
    assert called.result.structured_content["caller"]["principal"] == sub
    assert mcp.endpoint("register") not in [e.url for e in called.exchanges]  # no registration: the URL is the id
    assert documents.fetched == ["/oauth/orders-agent.json"]


def test_python_sdk_reader_gets_the_read_tool_and_the_authorizers_bare_403_for_the_write_tool(stacks):
    mcp = stacks["lambda"]
    with user(stacks, READ) as sub:
        client = PythonClient(mcp.url)
        read = client.attempt(lambda session: session.call_tool("list_orders", {}))
        write = client.attempt(lambda session: session.call_tool("create_order", ORDER))
    assert read.ok and read.result.structured_content["caller"]["scopes"] == [READ]
    [refused] = write.to(mcp.url)
    assert (refused.status, refused.challenge, refused.mcp_method, refused.mcp_name) == (
        403, None, "tools/call", "create_order")
    assert isinstance(write.error, MCPError)  # returned as is: no challenge, so no step-up
    assert client.browser.visits == 1 and write.grants() == []
    assert mcp.logs.denial(sub)["reason"] == "mcp_name_denied"


def test_python_sdk_steps_up_on_the_servers_insufficient_scope_challenge_and_is_refused_again(stacks):
    mcp = stacks["jwt"]
    with user(stacks, READ):
        client = PythonClient(mcp.url)
        write = client.attempt(lambda session: session.call_tool("create_order", ORDER))
    first, again = write.to(mcp.url)[-2:]
    assert first.status == again.status == 403
    assert first.challenge == again.challenge == STEP_UP.format(prm=mcp.metadata_url)
    # Step-up: a new authorization for the union of what it held and what the challenge names...
    assert client.browser.visits == 2 and client.browser.requests[1]["scope"] == f"{READ} {WRITE}"
    assert write.grants() == ["authorization_code", "authorization_code"]
    # ...which this user cannot grant: the same token scope, the same 403, and the SDK stops there.
    assert client.claims["scope"] == READ and isinstance(write.error, MCPError)


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_python_sdk_holding_a_token_for_another_resource_is_refused(stacks, mode):
    mcp = stacks[mode]
    with user(stacks, READ, WRITE) as sub:
        client = PythonClient(mcp.url)
        assert client.attempt(lambda session: session.list_tools()).ok
        client.restart_holding(reissued(mcp.stack.dev_issuer, mcp.server, client.claims, audience=mcp.other_resource))
        outcome = client.attempt(lambda session: session.call_tool("list_orders", {}))
    refused = outcome.to(mcp.url)[0]
    if mode == "lambda":
        assert (refused.status, refused.challenge) == (403, None) and isinstance(outcome.error, MCPError)
        assert client.browser.visits == 1  # nothing to recover from a bare 403
        assert mcp.logs.denial(sub)["reason"] == "resource_mismatch"
    else:
        assert (refused.status, refused.challenge) == (401, NOT_OURS)
        # The SDK authorizes again, asking for the scope it read from scope="": the two characters "".
        assert_reauthorization_asks_for_the_empty_quotes(client, outcome)


def assert_reauthorization_asks_for_the_empty_quotes(client: PythonClient, outcome) -> None:
    assert outcome.grants() == []  # no refresh on a 401, though it holds a refresh token
    assert client.browser.visits == 2 and client.browser.requests[1]["scope"] == '""'
    assert isinstance(outcome.error, AuthorizationRefused) and outcome.error.error == "invalid_scope"


def test_python_sdk_refreshes_ahead_of_expires_in_and_the_call_goes_through(stacks):
    mcp = stacks["lambda"]
    with user(stacks, READ) as sub:
        client = PythonClient(mcp.url)
        assert client.attempt(lambda session: session.list_tools()).ok
        held = client.storage.tokens
        with sdk_clock_ahead(3601):  # expires_in is 3600: in the SDK's view the token has expired
            called = client.attempt(lambda session: session.call_tool("list_orders", {}))
    [refresh] = [e for e in called.exchanges if e.grant_type]
    assert (refresh.url, refresh.grant_type, refresh.resource, refresh.status) == (
        mcp.endpoint("token"), "refresh_token", mcp.url, 200)
    assert {e.status for e in called.to(mcp.url)} == {200}  # the call, and tools/list for its output schema
    assert called.result.structured_content["caller"]["principal"] == sub
    renewed = client.storage.tokens is not held and client.storage.tokens.refresh_token != held.refresh_token
    assert renewed and client.browser.visits == 1  # refreshed (the refresh token rotated), not authorized again


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_python_sdk_sending_an_expired_token(stacks, mode):
    """Restarted with an access token that has expired, the SDK cannot know it (it keeps no expiry) and sends it."""
    mcp = stacks[mode]
    with user(stacks, READ) as sub:
        client = PythonClient(mcp.url)
        assert client.attempt(lambda session: session.list_tools()).ok
        client.restart_holding(reissued(mcp.stack.dev_issuer, mcp.server, client.claims, expires_in=-600))
        outcome = client.attempt(lambda session: session.call_tool("list_orders", {}))
    refused = outcome.to(mcp.url)[0]
    if mode == "lambda":  # a documented limitation: the authorizer's 403 carries nothing a client can act on
        assert (refused.status, refused.challenge) == (403, None) and isinstance(outcome.error, MCPError)
        assert outcome.grants() == [] and client.browser.visits == 1
        assert mcp.logs.denial(sub)["reason"] == "expired"
    else:
        assert (refused.status, refused.challenge) == (401, EXPIRED)
        assert_reauthorization_asks_for_the_empty_quotes(client, outcome)


# --- the TypeScript SDKs -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def typescript(stacks):
    """Two Node runs: every flow of a reader, then every flow of a user with both scopes; (results, subjects)."""
    lam, jwt = stacks["lambda"].stack, stacks["jwt"].stack
    with user(stacks, READ) as reader:
        read = run_flows([
            typescript_flow("1.x lambda", "1.x", lam, [connect(), list_tools(), call("list_orders")]),
            typescript_flow("1.x jwt", "1.x", jwt, [connect(), call("list_orders"), call("create_order", ORDER)]),
            typescript_flow("2.x lambda", "2.x", lam, [connect(), list_tools(), call("list_orders"),
                                                      call("create_order", ORDER)]),
            typescript_flow("2.x jwt", "2.x", jwt, [connect(), call("create_order", ORDER)]),
        ])
    with user(stacks, READ, WRITE) as writer:
        both = run_flows([
            typescript_flow("1.x lambda", "1.x", lam, [
                connect(), list_tools(), call("list_orders"), call("create_order", ORDER),
                swap_token(expires_in=-600), call("list_orders"),
                swap_token(audience=stacks["lambda"].other_resource), call("list_orders")]),
            typescript_flow("1.x jwt", "1.x", jwt, [
                connect(), swap_token(expires_in=-600), call("list_orders"),
                swap_token(audience=stacks["jwt"].other_resource), call("list_orders"),
                swap_token(audience=stacks["jwt"].other_resource, keep_refresh=False), call("list_orders")]),
            typescript_flow("2.x jwt", "2.x", jwt, [
                connect(), swap_token(expires_in=-600), call("list_orders"),
                swap_token(expires_in=-600, keep_refresh=False), call("list_orders")]),
        ])
    return {"reader": read, "both": both, "subs": {"reader": reader, "both": writer}}


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_typescript_sdk_1x_discovers_registers_and_authorizes_with_pkce_and_resource(stacks, typescript, mode):
    mcp = stacks[mode]
    flow = typescript["both"][f"1.x {mode}"]
    connected = flow.step(0)
    assert connected.ok and connected.result == {"protocol_version": "2025-11-25"}
    seen = [(e["method"], e["url"], e["status"]) for e in connected.exchanges]
    assert seen[0] == ("POST", mcp.url, 401) and connected.exchanges[0]["challenge"] is None
    assert seen.index(("GET", mcp.metadata_url, 200)) < seen.index(("GET", mcp.endpoint("metadata"), 200))
    assert ("POST", mcp.endpoint("register"), 201) in seen
    [authorize] = connected.to(mcp.endpoint("authorize"))
    assert (authorize["status"], authorize["code_challenge_method"], authorize["resource"]) == (302, "S256", mcp.url)
    [code] = [e for e in connected.exchanges if e["grant_type"]]
    assert (code["grant_type"], code["resource"], code["code_verifier"]) == ("authorization_code", mcp.url, True)
    claims = flow.tokens[0]
    assert (claims["iss"], claims["aud"], claims["sub"]) == (mcp.authorization_server, mcp.url,
                                                            typescript["subs"]["both"])


def test_typescript_sdk_1x_with_both_scopes_lists_and_calls_both_tools_in_lambda_mode(stacks, typescript):
    flow = typescript["both"]["1.x lambda"]
    listed, read, write = flow.steps[1:4]
    assert listed.ok and set(listed.result["tools"]) == {"list_orders", "create_order"}
    assert read.ok and read.result["structured"]["caller"]["principal"] == typescript["subs"]["both"]
    assert write.ok and write.result["structured"]["order"]["owner"] == typescript["subs"]["both"]
    sent = [e for step in flow.steps[:4] for e in step.to(stacks["lambda"].url)]
    assert sent and all(e["mcp_method"] is None and e["mcp_name"] is None for e in sent)  # 1.x: no MCP headers


def test_typescript_sdk_1x_reader_is_refused_everything_in_lambda_mode_as_an_older_client(stacks, typescript):
    mcp = stacks["lambda"]
    connected, listed, read = typescript["reader"]["1.x lambda"].steps
    refused = connected.to(mcp.url)[-1]
    assert (refused["status"], refused["challenge"], refused["authorization"]) == (403, None, True)
    assert (connected.error["name"], connected.error["code"]) == ("StreamableHTTPError", 403)
    assert not listed.ok and not read.ok  # never connected: initialize itself was refused
    assert denied(mcp, typescript["subs"]["reader"], "mcp_older_client_denied")


def test_typescript_sdk_1x_steps_up_by_refreshing_and_gives_up_on_the_same_challenge(stacks, typescript):
    mcp = stacks["jwt"]
    flow = typescript["reader"]["1.x jwt"]
    read, write = flow.steps[1:]
    assert read.ok and read.result["structured"]["caller"]["scopes"] == [READ]
    first, again = write.to(mcp.url)
    assert first["challenge"] == again["challenge"] == STEP_UP.format(prm=mcp.metadata_url)
    # auth() prefers the refresh token: the old grant again (no scope asked), so the same 403.
    assert write.grants() == ["refresh_token"] and flow.authorizations == 1
    assert [e["scope"] for e in write.exchanges if e["grant_type"]] == [None]
    assert write.error["code"] == 403 and "Server returned 403 after trying upscoping" in write.error["message"]


def test_typescript_sdk_2x_sends_mcp_name_and_the_authorizer_decides_per_tool(stacks, typescript):
    mcp = stacks["lambda"]
    connected, listed, read, write = typescript["reader"]["2.x lambda"].steps
    assert connected.result == {"protocol_version": "2026-07-28"} and listed.ok
    assert read.ok and [(e["mcp_method"], e["mcp_name"], e["protocol_version"]) for e in read.to(mcp.url)] == [
        ("tools/call", "list_orders", "2026-07-28")]
    assert [e["mcp_method"] for e in listed.to(mcp.url)] == ["tools/list"]
    [refused] = write.to(mcp.url)
    assert (refused["status"], refused["challenge"], refused["mcp_method"], refused["mcp_name"]) == (
        403, None, "tools/call", "create_order")
    assert not write.ok and denied(mcp, typescript["subs"]["reader"], "mcp_name_denied")
    # The same reader on TypeScript 1.x (no headers) was refused at initialize: one denial each, no more.
    assert mcp.logs.denials(typescript["subs"]["reader"]) == ["mcp_older_client_denied", "mcp_name_denied"]


def test_typescript_sdk_2x_steps_up_with_the_union_scope_and_authorizes_again_on_the_same_challenge(stacks,
                                                                                                   typescript):
    mcp = stacks["jwt"]
    write = typescript["reader"]["2.x jwt"].step(1)
    assert [(e["status"], e["challenge"]) for e in write.to(mcp.url)] == [(403, STEP_UP.format(prm=mcp.metadata_url))] * 2
    # A forced re-authorization for the union scope, the call retried, the same 403: it starts another one.
    assert [e["scope"] for e in write.to(mcp.endpoint("authorize"))] == [f"{READ} {WRITE}", f"{READ} {WRITE}"]
    assert write.error["name"] == "UnauthorizedError"  # this application finishes one authorization per call


def test_typescript_sdk_1x_holding_an_expired_or_foreign_token(stacks, typescript):
    lam, jwt = stacks["lambda"], stacks["jwt"]
    lambda_flow, jwt_flow = typescript["both"]["1.x lambda"], typescript["both"]["1.x jwt"]
    expired, foreign = lambda_flow.step(5), lambda_flow.step(7)
    for step in (expired, foreign):  # bare 403s: it throws, neither refreshing nor authorizing again
        assert [(e["status"], e["challenge"]) for e in step.exchanges] == [(403, None)]
        assert (step.error["name"], step.error["code"]) == ("StreamableHTTPError", 403)
    assert denied(lam, typescript["subs"]["both"], "resource_mismatch")
    assert lam.logs.denials(typescript["subs"]["both"]) == ["expired", "resource_mismatch"]
    # jwt mode: the 401 sends it to its refresh token, which was issued for this resource: the call goes through.
    for index, challenge in ((2, EXPIRED), (4, NOT_OURS)):
        step = jwt_flow.step(index)
        assert step.ok and [(e["status"], e["challenge"]) for e in step.to(jwt.url)] == [(401, challenge), (200, None)]
        assert step.grants() == ["refresh_token"] and step.to(jwt.endpoint("token"))[0]["resource"] == jwt.url
    # Without a refresh token it authorizes again, asking for the scope it read from scope="": refused.
    again = jwt_flow.step(6)
    assert [e["scope"] for e in again.to(jwt.endpoint("authorize"))] == ['""']
    assert not again.ok and "invalid_scope" in again.error["message"]


def test_typescript_client_2x_refreshes_on_the_401_and_without_a_refresh_token_asks_for_the_empty_quotes(stacks,
                                                                                                        typescript):
    jwt = stacks["jwt"]
    flow = typescript["both"]["2.x jwt"]
    refreshed, stuck = flow.step(2), flow.step(4)
    assert refreshed.ok and [(e["status"], e["challenge"]) for e in refreshed.to(jwt.url)] == [(401, EXPIRED), (200, None)]
    assert refreshed.grants() == ["refresh_token"]
    assert [e["scope"] for e in stuck.to(jwt.endpoint("authorize"))] == ['""']
    assert not stuck.ok and "invalid_scope" in stuck.error["message"]


# --- the MCP Inspector's CLI -------------------------------------------------------------------------------------

BROWSER = '''#!{python}
"""What a browser does for the Inspector: GET the authorization URL, follow the redirect to its loopback callback."""
import sys
import urllib.request

open(sys.argv[0] + ".visited", "a").write("x")
urllib.request.build_opener(urllib.request.ProxyHandler({{}})).open(sys.argv[1], timeout=10).read()
'''


def test_mcp_inspector_cli_authorizes_headless_and_calls_the_read_tool_with_mcp_name(stacks, tmp_path):
    """MCP_AUTO_OPEN_ENABLED=true makes the CLI open the authorization URL without a TTY; BROWSER is what opens it."""
    mcp = stacks["lambda"]
    browser = tmp_path / "browser"
    browser.write_text(BROWSER.format(python=sys.executable))
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    cli = PROJECT_ROOT / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
    env = {**os.environ, "HOME": str(tmp_path), "MCP_AUTO_OPEN_ENABLED": "true", "BROWSER": str(browser),
           "MCP_INSPECTOR_SECRET_STORE": "memory", "NO_COLOR": "1"}
    with user(stacks, READ) as sub:
        done = subprocess.run(
            ["node", str(cli), "--cli", "--server-url", mcp.url, "--protocol-era", "modern", "--method", "tools/call",
             "--tool-name", "list_orders", "--format", "json", "--callback-url",
             f"http://127.0.0.1:{free_port()}/oauth/callback"],
            env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    caller = json.loads(done.stdout)["result"]["structuredContent"]["caller"]
    assert (caller["principal"], caller["authorizer"], caller["scopes"]) == (sub, "lambda", [READ])
    assert (tmp_path / "browser.visited").read_text() == "x"  # one authorization, through the "browser"
