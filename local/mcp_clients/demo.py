"""``make demo``'s MCP section: the official MCP clients against the stack's MCP endpoint, in each authorizer mode.

The Python SDK runs in this process, the TypeScript SDK 1.x (and 2.x, which sends ``Mcp-Name``) in Node. Each case
prints what the endpoint answered (status, challenge, the authorizer's reason from its log) and what the client
did next, and gives one row of the demo's summary: the status the case expects of the MCP endpoint, and the one it
got. Tokens are described by their claims, never printed.

| mode   | what the cases show                                                                                |
|--------|----------------------------------------------------------------------------------------------------|
| lambda | discovery and authorization; the read tool; the write tool refused per tool (no challenge); a     |
|        | TypeScript 1.x reader refused at initialize (no headers: every rule applies); a token for another |
|        | resource and an expired one refused (403: nothing a client can act on); refresh ahead of expiry  |
| jwt    | the same discovery; the server's ``insufficient_scope`` challenge and each SDK's step-up; the      |
|        | JWT authorizer's 401 to an expired token or another resource's: TypeScript refreshes and retries, |
|        | the Python SDK authorizes again and asks for the scope ``""`` it read from ``scope=""``          |
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, TextIO
from urllib.parse import urlsplit

from local.awslambda.log_watch import LogWatch
from local.idp.authorization_settings import DevUser
from local.mcp_clients.python_sdk import Outcome, PythonClient, reissued, sdk_clock_ahead
from local.mcp_clients.typescript_sdk import (
    FlowResult,
    Step,
    call,
    connect,
    list_tools,
    run_flows,
    swap_token,
    typescript_flow,
)
from local.stack import LocalStack, dev_authorization_server

READ, WRITE = "orders:read", "orders:write"
ORDER = {"item": "demo", "quantity": 1}
Row = tuple[str, int, int | None]  # case, expected status, got


class McpDemo:
    """The MCP cases of one run: ``stack`` (its log sink a ``LogWatch``), printed to ``out``."""

    def __init__(self, stack: LocalStack, logs: LogWatch, out: TextIO, path: str = "/mcp") -> None:
        self.stack, self.logs, self.out = stack, logs, out
        self.url = stack.url + path
        self.server = dev_authorization_server(stack.mode, stack.native)
        self.rows: list[Row] = []

    @contextlib.contextmanager
    def user(self, sub: str, *scopes: str) -> Iterator[str]:
        """The dev authorization server consents as ``sub``, who may grant ``scopes``."""
        self.stack.dev_issuer.authorization.configure(user=DevUser(sub=sub, scopes=scopes))
        try:
            yield sub
        finally:
            self.stack.dev_issuer.authorization.configure(user=DevUser())

    def case(self, name: str, expected: int, got: int | None, *notes: str) -> None:
        mark = "ok" if got == expected else "UNEXPECTED"
        print(f"MCP  {name}\n     → {got} (expected {expected}, {mark}) {'; '.join(n for n in notes if n)}",
              file=self.out, flush=True)
        self.rows.append((f"MCP {name}", expected, got))

    def reason(self, sub: str, reason: str) -> str:
        """The authorizer's log line for this denial, if it came (lambda mode only)."""
        found = self.logs.denial(sub, timeout=5, reason=reason)
        return f"authorizer: {found['reason']}" if found else f"no '{reason}' denial in the authorizer's log"

    def python(self) -> PythonClient:
        return PythonClient(self.url, client_name="make-demo")

    def reissued(self, client: PythonClient, **changes: Any) -> str:
        return reissued(self.stack.dev_issuer, self.server, client.claims, **changes)

    def run(self) -> list[Row]:
        print(f"--- MCP endpoint {self.url}: the official clients (authorization server "
              f"{self.stack.dev_issuer.issuer_url(**self.server)}) ---", file=self.out, flush=True)
        with quiet_sdk_logs():
            discovery_and_tools(self)
            (lambda_cases if self.stack.mode == "lambda" else jwt_cases)(self)
        return self.rows


def last(outcome: Outcome, url: str) -> int | None:
    """The status of the last exchange with ``url`` (the MCP endpoint): the answer the client ended with."""
    answers = outcome.to(url)
    return answers[-1].status if answers else None


def described(outcome: Outcome) -> str:
    """What the client did after the refusal, in a few words."""
    grants = outcome.grants()
    error = f"the SDK raised {type(outcome.error).__name__}" if outcome.error is not None else "the call succeeded"
    return f"token requests after it: {', '.join(grants) or 'none'}; {error}"


def ts_status(step: Step, url: str) -> int | None:
    """The answer to the step's last POST (a 1.x client's GET for its event stream may still be under way)."""
    statuses = [exchange["status"] for exchange in step.to(url) if exchange["method"] == "POST"]
    return statuses[-1] if statuses else None


def ts_described(step: Step) -> str:
    grants = step.grants()
    ending = f"threw {step.error['name']}: {step.error['message'][:90]}" if step.error else "the call succeeded"
    return f"token requests: {', '.join(grants) or 'none'}; {ending}"


def discovery_and_tools(demo: McpDemo) -> None:
    """A reader's Python SDK client: from the first 401 to a token, the read tool, and the write tool refused."""
    with demo.user("mcp-demo-reader", READ) as sub:
        client = demo.python()
        listed = client.attempt(lambda session: session.list_tools())
        claims = client.claims
        path = " → ".join(f"{e.method} {urlsplit(e.url).path} {e.status}" for e in listed.exchanges[:5])
        demo.case("Python SDK: discover, register, authorize (PKCE, resource), list tools", 200,
                  last(listed, demo.url), path,
                  f"token: iss {claims.get('iss')}, aud {claims.get('aud')}, scope {claims.get('scope')!r}")
        read = client.attempt(lambda session: session.call_tool("list_orders", {}))
        caller = read.result.structured_content["caller"] if read.ok else {}
        demo.case("Python SDK, reader: call list_orders", 200, last(read, demo.url),
                  f"the server names the caller: {caller.get('principal')} via {caller.get('client')}")
        write = client.attempt(lambda session: session.call_tool("create_order", ORDER))
        refused = write.to(demo.url)
        challenge = refused[0].challenge if refused else None
        demo.case("Python SDK, reader: call create_order", 403, last(write, demo.url),
                  f"WWW-Authenticate: {challenge}" if challenge else "no WWW-Authenticate",
                  demo.reason(sub, "mcp_name_denied") if demo.stack.mode == "lambda" else "",
                  f"authorizations: {client.browser.visits}", described(write))


@contextlib.contextmanager
def quiet_sdk_logs() -> Iterator[None]:
    """The Python SDK logs a traceback when an authorization fails; the case says it in a line instead."""
    logger = logging.getLogger("mcp.client.auth")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def typescript(demo: McpDemo, flows: list[dict[str, Any]]) -> dict[str, FlowResult]:
    return run_flows([typescript_flow(flow["name"], flow["sdk"], demo.stack, flow["steps"]) for flow in flows])


def lambda_cases(demo: McpDemo) -> None:
    with demo.user("mcp-demo-ts-reader", READ) as reader:
        ran = typescript(demo, [{"name": "1.x", "sdk": "1.x", "steps": [connect()]},
                                {"name": "2.x", "sdk": "2.x", "steps": [connect(), call("create_order", ORDER)]}])
    demo.case("TypeScript SDK 1.x, reader: initialize (no Mcp-Method header)", 403,
              ts_status(ran["1.x"].step(0), demo.url), demo.reason(reader, "mcp_older_client_denied"),
              ts_described(ran["1.x"].step(0)))
    demo.case("TypeScript client 2.x, reader: call create_order (Mcp-Name)", 403,
              ts_status(ran["2.x"].step(1), demo.url), demo.reason(reader, "mcp_name_denied"),
              ts_described(ran["2.x"].step(1)))
    with demo.user("mcp-demo-ts-writer", READ, WRITE) as writer:
        ran = typescript(demo, [{"name": "1.x", "sdk": "1.x", "steps": [
            connect(), list_tools(), call("create_order", ORDER), swap_token(expires_in=-600), call("list_orders")]}])
    created = ran["1.x"].step(2)
    demo.case("TypeScript SDK 1.x, both scopes: list tools, call create_order", 200, ts_status(created, demo.url),
              "an older client is served when its token meets every rule of the endpoint")
    expired = ran["1.x"].step(4)
    demo.case("TypeScript SDK 1.x: an expired token sent", 403, ts_status(expired, demo.url),
              demo.reason(writer, "expired"), f"not recovered: {ts_described(expired)}")
    with demo.user("mcp-demo-python", READ) as sub:
        client = demo.python()
        client.attempt(lambda session: session.list_tools())
        with sdk_clock_ahead(3601):
            refreshed = client.attempt(lambda session: session.call_tool("list_orders", {}))
        demo.case("Python SDK: its clock past expires_in, so it refreshes first", 200, last(refreshed, demo.url),
                  f"token requests: {', '.join(refreshed.grants())}")
        client.restart_holding(demo.reissued(client, audience=demo.stack.url + "/other-mcp"))
        foreign = client.attempt(lambda session: session.call_tool("list_orders", {}))
        demo.case("Python SDK: a token for another resource", 403, last(foreign, demo.url),
                  demo.reason(sub, "resource_mismatch"), described(foreign))


def jwt_cases(demo: McpDemo) -> None:
    with demo.user("mcp-demo-ts-reader", READ):
        ran = typescript(demo, [{"name": "1.x", "sdk": "1.x", "steps": [connect(), call("create_order", ORDER)]}])
    step_up = ran["1.x"].step(1)
    demo.case("TypeScript SDK 1.x, reader: call create_order (step-up)", 403, ts_status(step_up, demo.url),
              ts_described(step_up))
    with demo.user("mcp-demo-ts-writer", READ, WRITE):
        ran = typescript(demo, [{"name": "1.x", "sdk": "1.x", "steps": [
            connect(), swap_token(expires_in=-600), call("list_orders"),
            swap_token(audience=demo.stack.url + "/other-mcp"), call("list_orders")]}])
    for index, name in ((2, "an expired token"), (4, "a token for another resource")):
        step = ran["1.x"].step(index)
        first = step.to(demo.url)[0] if step.to(demo.url) else {}
        demo.case(f"TypeScript SDK 1.x: {name}, refreshed on the 401", 200, ts_status(step, demo.url),
                  f"first answer {first.get('status')} {first.get('challenge')}", ts_described(step))
    with demo.user("mcp-demo-python", READ):
        client = demo.python()
        client.attempt(lambda session: session.list_tools())
        client.restart_holding(demo.reissued(client, expires_in=-600))
        expired = client.attempt(lambda session: session.call_tool("list_orders", {}))
        asked = client.browser.requests[-1].get("scope") if client.browser.visits > 1 else None
        demo.case("Python SDK: an expired token (authorizes again on the 401)", 401, last(expired, demo.url),
                  f"it asked for scope {asked!r}", f"not recovered: {described(expired)}"
                  f" ({getattr(expired.error, 'error', '')})")
