"""The embedded local stack: the development OIDC issuer plus the *synthesized* CDK stack, served on 127.0.0.1.

``LocalStack`` starts the issuer (unless given another issuer URL), synthesizes the real app (``python app.py``
with ``CDK_CONTEXT_JSON``, exactly what ``cdk synth -c ...`` runs) with bundling skipped and the issuer as
configuration, then serves the template with ``local.apigateway.service.LocalHttpApi``, each Lambda in warm worker
processes. What runs here is what ``cdk deploy`` would deploy with that configuration.

    with LocalStack("lambda") as stack:
        token = stack.client_token("orders-oidc-reader")
        requests.get(stack.url + "/orders", headers={"Authorization": f"Bearer {token}"})
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests

from local.apigateway.service import LocalHttpApi
from local.idp.clients import (
    DEV_COGNITO_POOL,
    DEV_DESCOPE_PROJECT,
    DEV_ENTRA_TENANT,
    DEV_ORDERS_AUDIENCE,
    DEV_PASSAGE_APP,
    default_clients,
)
from local.idp.issuer import DevIssuer
from local.idp.profiles import DEFAULT_AGENTIC_SERVER
from local.idp.shapes import DEV_ENTRA_API_CLIENT_ID, DEV_ENTRA_API_ID_URI

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "JwtAuthorizerLocal"
MODES = ("lambda", "jwt")
#: What a local run cannot emulate is off, whatever cdk.json says: SSM Parameter Store and X-Ray.
LOCAL_CONTEXT = {"configParameter": False, "tracing": False}


def free_port() -> int:
    """A port 127.0.0.1 is free on now, for the local API to bind in a moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SynthError(RuntimeError):
    """``python app.py`` refused the configuration or failed; the message holds its output."""


def dev_issuers(issuer: DevIssuer, mode: str, native: str = "oidc") -> list[dict[str, Any]]:
    """The ``issuers`` context (cdk.json's shape) for the dev issuer. Lambda mode trusts every provider shape at
    once, through the same presets a deployment uses, pointed at the local stand-in (``base_url``); native JWT
    mode takes exactly one: the ``native`` profile's entry."""
    def clients(profile: str) -> list[str]:
        return [c.client_id for c in default_clients() if c.profile == profile]

    entries: dict[str, dict[str, Any]] = {
        "oidc": {"provider": "oidc", "issuer": issuer.issuer_url("oidc"), "audience": DEV_ORDERS_AUDIENCE},
        "descope": {"provider": "descope", "project_id": DEV_DESCOPE_PROJECT, "base_url": issuer.base_url("descope")},
        "passage": {"provider": "passage", "app_id": DEV_PASSAGE_APP, "base_url": issuer.base_url("passage")},
        "wso2": {"provider": "wso2", "base_url": issuer.base_url("wso2"), "audience": clients("wso2")},
        "cognito": {"provider": "cognito", "user_pool_id": DEV_COGNITO_POOL, "client_ids": clients("cognito"),
                    "base_url": issuer.base_url("cognito")},
        "entra": {"provider": "entra", "tenant_id": DEV_ENTRA_TENANT, "base_url": issuer.base_url("entra"),
                  "audience": [DEV_ENTRA_API_CLIENT_ID, DEV_ENTRA_API_ID_URI]},
    }
    if native not in entries:
        raise ValueError(f"native must be one of {sorted(entries)}, got {native!r}")
    return [entries[native]] if mode == "jwt" else list(entries.values())


#: An MCP endpoint's rules per method and per tool, resource or prompt name: the Lambda authorizer's only.
MCP_RULE_KINDS = ("methods", "tools", "resources", "prompts")


def jwt_routes(routes: Sequence[Any]) -> tuple[list[Any], list[str]]:
    """The routes a local jwt-mode stack can serve, and what it leaves out, described. API Gateway's native
    authorizer can neither check a path's tenant nor read an MCP request's headers, so a deployment refuses tenant
    rules and MCP per-tool rules at synthesis, naming the route: tenant routes are left out, and MCP endpoints keep
    their route without the per-tool rules (the sample MCP server checks its tools' scopes itself)."""
    kept: list[Any] = []
    left_out: list[str] = []
    for route in routes:
        if not isinstance(route, dict):
            kept.append(route)
            continue
        key = f"{route.get('method')} {route.get('path')}"
        mcp = route.get("mcp")
        if "tenant" in route:
            left_out.append(f"{key} (a tenant rule)")
        elif isinstance(mcp, dict) and any(kind in mcp for kind in MCP_RULE_KINDS):
            kept.append({**route, "mcp": {k: v for k, v in mcp.items() if k not in MCP_RULE_KINDS}})
            left_out.append(f"{key}'s per-tool rules")
        else:
            kept.append(route)
    return kept, left_out


def dev_authorization_server(mode: str, native: str = "oidc") -> dict[str, str]:
    """Which of the dev issuer's authorization servers an MCP endpoint names, as ``DevIssuer.issuer_url``/``mint``
    keywords: Descope's agentic issuer for the sample MCP server (lambda mode, and jwt mode trusting the Descope
    preset), else the generic OIDC one (the one issuer a jwt-mode stack trusts)."""
    if mode == "lambda" or native == "descope":
        return {"profile": "descope", "issuer_form": "agentic", "server_id": DEFAULT_AGENTIC_SERVER}
    return {"profile": "oidc"}


def with_dev_authorization_server(routes: Sequence[Any], issuer: DevIssuer, mode: str, native: str) -> list[Any]:
    """``routes`` with each MCP endpoint that names no authorization server served by the dev issuer's
    (``dev_authorization_server``): every configured issuer would be listed otherwise, and only these grant MCP
    clients."""
    server = issuer.issuer_url(**dev_authorization_server(mode, native))
    return [{**route, "mcp": {**route["mcp"], "authorization_servers": [server]}}
            if isinstance(route, dict) and isinstance(route.get("mcp"), dict)
            and "authorization_servers" not in route["mcp"] else route
            for route in routes]


def cdk_json_routes() -> Any:
    """cdk.json's ``routes`` as written (read as JSON: the CDK app is not imported here)."""
    return json.loads((PROJECT_ROOT / "cdk.json").read_text()).get("context", {}).get("routes")


def synthesize(context: dict[str, Any], outdir: Path) -> Path:
    """Run the CDK app as the CLI would, bundling skipped (dependencies come from this venv). Returns ``outdir``."""
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
           "CDK_CONTEXT_JSON": json.dumps({"aws:cdk:bundling-stacks": [], "stackName": STACK_NAME, **context})}
    result = subprocess.run([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=600)
    if result.returncode != 0:
        raise SynthError((result.stderr or result.stdout).strip()[-4000:])
    return outdir


def synthesize_in_process(context: dict[str, Any], outdir: Path) -> Path:
    """What ``synthesize`` makes, built by ``app.py``'s own ``build_app`` in this process (``infra/cdk_app.py`` merges
    ``context`` over ``cdk.json`` exactly as ``CDK_CONTEXT_JSON`` would). For a process that has already started the
    CDK's node runtime, such as a test worker, a synth then takes a fraction of a second instead of the seconds a new
    Python and node spend loading aws-cdk-lib. Configuration errors are a ``SynthError`` worded as ``app.py``'s."""
    from infra import ConfigError, build_app

    try:
        build_app({"aws:cdk:bundling-stacks": [], "stackName": STACK_NAME, **context}, outdir=str(outdir)).synth()
    except ConfigError as problem:
        raise SynthError(f"Invalid configuration (cdk.json context or -c): {problem}") from None
    return outdir


class LocalStack:
    """Issuer + synthesized stack + local HTTP API. Use as a context manager, or ``start()``/``stop()``.

    ``concurrency``: worker processes per function at most (default: ``LOCAL_LAMBDA_CONCURRENCY``, else one per core,
    2 to 8); each starts on demand with its own cold start and caches, and a function's
    ``ReservedConcurrentExecutions`` throttles calls beyond it, as Lambda does (``local/awslambda/pool.py``).
    ``synthesizer``: ``synthesize`` (``python app.py``, as the CLI runs it) or ``synthesize_in_process``.
    """

    def __init__(self, mode: str = "lambda", *, issuer: DevIssuer | None = None, issuer_url: str | None = None,
                 audience: str | Sequence[str] | None = None, context: dict[str, Any] | None = None,
                 workdir: str | os.PathLike[str] | None = None, port: int = 0, issuer_port: int = 0,
                 log_sink: Any = None, concurrency: int | None = None,
                 env_overrides: dict[str, Any] | None = None, native: str = "oidc",
                 synthesizer: Callable[[dict[str, Any], Path], Path] = synthesize) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if issuer_url is not None and audience is None:
            raise ValueError("an external issuer needs its audience")
        self.mode = mode
        self.native = native  # jwt mode: which dev issuer profile the native authorizer trusts
        self._own_issuer = issuer is None and issuer_url is None
        self.issuer = issuer if issuer is not None else (
            DevIssuer(clients=default_clients(), port=issuer_port, admin=True) if self._own_issuer else None)
        self.issuer_url = issuer_url
        self.audience = audience
        self.context = dict(context or {})
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir:
            self.workdir = Path(workdir)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="local-stack-")
            self.workdir = Path(self._tmp.name)
        self.port = port
        self.log_sink = log_sink
        self.concurrency = concurrency
        self.env_overrides = env_overrides
        self.synthesizer = synthesizer
        self.api: LocalHttpApi | None = None

    @property
    def dev_issuer(self) -> DevIssuer:
        """The development issuer this stack runs (none when it trusts another ``issuer_url``)."""
        if self.issuer is None:
            raise RuntimeError("this local stack trusts an external issuer, not the development one")
        return self.issuer

    @property
    def url(self) -> str:
        if self.api is None:
            raise RuntimeError("the local stack is not started")
        return self.api.url

    def issuers_context(self) -> list[dict[str, Any]]:
        if self.issuer_url is not None:  # any issuer, e.g. a real IdP on a private network
            return [{"provider": "oidc", "issuer": self.issuer_url, "audience": self.audience}]
        return dev_issuers(self.dev_issuer, self.mode, self.native)

    def start(self) -> LocalStack:
        if self.issuer is not None and self._own_issuer:
            self.issuer.start()
        outdir = self.workdir / f"cdk.out-{self.mode}"
        context = {**LOCAL_CONTEXT, "authorizer": self.mode, "issuers": self.issuers_context(), **self.context}
        routes = context["routes"] if "routes" in context else cdk_json_routes()
        if self.issuer is not None and isinstance(routes, list):
            context["routes"] = with_dev_authorization_server(routes, self.issuer, self.mode, self.native)
        # The port first: the API's own URL is in the template (an MCP endpoint's resource, its metadata).
        self.port = self.port or free_port()
        try:
            self.synthesizer(context, outdir)
            self.api = LocalHttpApi.from_assembly(outdir, STACK_NAME, port=self.port, log_sink=self.log_sink,
                                                  concurrency=self.concurrency,
                                                  env_overrides=self.env_overrides).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.api is not None:
            self.api.close()
            self.api = None
        if self.issuer is not None and self._own_issuer:
            self.issuer.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def routes(self) -> list[str]:
        """The served routes as the template has them: ``GET /orders (CUSTOM)``."""
        if self.api is None:
            raise RuntimeError("the local stack is not started")
        return [f"{route.route_key} ({route.authorization_type})" for route in self.api.api.routes]

    def client_token(self, client_id: str, scope: str | None = None) -> str:
        """An access token from the dev issuer's token endpoint, by the client-credentials grant."""
        client = next(c for c in default_clients() if c.client_id == client_id)
        data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = requests.post(self.dev_issuer.token_url(client.profile), data=data,
                                 auth=(client.client_id, client.client_secret), timeout=5)
        response.raise_for_status()
        return response.json()["access_token"]
