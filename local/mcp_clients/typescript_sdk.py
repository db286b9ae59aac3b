"""The official TypeScript MCP SDK clients, run in one Node process per batch of flows (``typescript_client.mjs``).

``"1.x"`` is ``@modelcontextprotocol/sdk`` (protocol 2025-11-25: no ``Mcp-Method``/``Mcp-Name`` headers), ``"2.x"``
``@modelcontextprotocol/client`` with version negotiation (2026-07-28: it sends them); both pinned in
package-lock.json, installed by ``npm ci``. A flow is one client application; its steps run in order, each recorded
with what went over HTTP (never a token):

    flows = [typescript_flow("reader", "1.x", stack, [connect(), list_tools(), call("list_orders")])]
    result = run_flows(flows)["reader"]
    result.steps[-1].ok, result.steps[-1].statuses()
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.stack import PROJECT_ROOT, LocalStack, dev_authorization_server

SCRIPT = Path(__file__).with_name("typescript_client.mjs")
PACKAGES = {"1.x": "@modelcontextprotocol/sdk", "2.x": "@modelcontextprotocol/client"}


class TypeScriptClientError(RuntimeError):
    """Node is missing, the packages are not installed (``npm ci``), or the script failed; the message says which."""


def installed_version(sdk: str) -> str:
    """The version of ``sdk`` ("1.x" or "2.x") that ``npm ci`` installed."""
    manifest = PROJECT_ROOT / "node_modules" / PACKAGES[sdk] / "package.json"
    if not manifest.exists():
        raise TypeScriptClientError(f"{PACKAGES[sdk]} is not installed: run npm ci (make setup)")
    return str(json.loads(manifest.read_text())["version"])


def connect() -> dict[str, Any]:
    return {"do": "connect"}


def list_tools() -> dict[str, Any]:
    return {"do": "list_tools"}


def call(tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"do": "call", "tool": tool, "arguments": arguments or {}}


def swap_token(*, expires_in: int = 300, audience: str | None = None, keep_refresh: bool = True) -> dict[str, Any]:
    """Replace the access token the client holds by one the dev issuer mints for the same user, client and scope:
    ``expires_in`` negative for an expired one, ``audience`` for another resource's; the refresh token is kept."""
    return {"do": "swap_token", "expires_in": expires_in, "audience": audience, "keep_refresh": keep_refresh}


def typescript_flow(name: str, sdk: str, stack: LocalStack, steps: Sequence[dict[str, Any]],
                    path: str = "/mcp") -> dict[str, Any]:
    """One client application of ``sdk`` against ``stack``'s MCP endpoint at ``path``."""
    if sdk not in PACKAGES:
        raise ValueError(f"sdk must be one of {sorted(PACKAGES)}, got {sdk!r}")
    return {"name": name, "sdk": sdk, "url": stack.url + path, "issuer": stack.dev_issuer.root,
            "mint": dev_authorization_server(stack.mode, stack.native), "steps": list(steps)}


@dataclass(frozen=True)
class Step:
    """One step of a flow: its result or its error (``name``, ``code``: an HTTP status for the SDKs'
    ``StreamableHTTPError``, ``message``), and its exchanges (``method``, ``url``, ``status``, ``challenge``,
    ``authorization``, ``grant_type``, ``resource``, ``scope``, ``code_challenge_method``, ``code_verifier``,
    ``mcp_method``, ``mcp_name``, ``protocol_version``, ``failure``: a request that got no answer)."""

    do: str
    ok: bool
    result: Any
    error: dict[str, Any] | None
    exchanges: list[dict[str, Any]]

    def to(self, url: str) -> list[dict[str, Any]]:
        return [exchange for exchange in self.exchanges if exchange["url"] == url]

    def statuses(self, url: str | None = None) -> list[int | None]:
        return [exchange["status"] for exchange in self.exchanges if url is None or exchange["url"] == url]

    def grants(self) -> list[str]:
        return [exchange["grant_type"] for exchange in self.exchanges if exchange.get("grant_type")]


@dataclass(frozen=True)
class FlowResult:
    """A flow's steps, the claims of every token it was issued, and how many authorizations it went through."""

    steps: list[Step]
    tokens: list[dict[str, Any]]
    authorizations: int

    def step(self, index: int) -> Step:
        return self.steps[index]


def run_flows(flows: Sequence[dict[str, Any]], *, timeout: float = 120) -> dict[str, FlowResult]:
    """Run ``flows`` in one Node process, in order; each flow's result by name."""
    node = shutil.which("node")
    if node is None:
        raise TypeScriptClientError("node is not on PATH (Node 20 or later runs the TypeScript clients)")
    for sdk in {flow["sdk"] for flow in flows}:
        installed_version(sdk)
    done = subprocess.run([node, str(SCRIPT)], input=json.dumps({"flows": list(flows)}), capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})
    if done.returncode != 0:
        raise TypeScriptClientError(f"{SCRIPT.name} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    answer = json.loads(done.stdout)
    return {name: FlowResult([Step(step["do"], step["ok"], step.get("result"), step.get("error"), step["exchanges"])
                              for step in flow["steps"]], flow["tokens"], flow["authorizations"])
            for name, flow in answer["flows"].items()}
