"""The local stack stays readable: no module over 500 lines, no function over 60 (issue 12)."""

from __future__ import annotations

import ast
from pathlib import Path

LOCAL = Path(__file__).resolve().parents[2] / "local"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(LOCAL.rglob("*.py"))


def test_no_module_of_the_local_stack_is_over_500_lines() -> None:
    too_long = {str(path.relative_to(LOCAL)): lines for path in _modules()
                if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert len(_modules()) > 20  # the walk found the subpackages
    assert too_long == {}


def test_no_function_of_the_local_stack_is_over_60_lines() -> None:
    too_long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long[f"{path.relative_to(LOCAL)}:{node.lineno} {node.name}"] = lines
    assert too_long == {}


def test_the_gateway_shim_is_gone() -> None:
    assert not (LOCAL / "gateway.py").exists()
    assert sorted(p.name for p in LOCAL.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == [
        "apigateway", "awslambda", "cloudformation", "idp", "mcp_clients"]


def test_the_issuer_http_server_uses_only_the_issuers_public_members() -> None:
    tree = ast.parse((LOCAL / "idp" / "server.py").read_text())
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = node.value
            named = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if named == "issuer":
                used.add(node.attr)
    assert {"serves", "discovery", "jwks_request", "jwks", "client_credentials_grant", "mint"} <= used
    assert {name for name in used if name.startswith("_")} == set()
