"""The conformance corpus: other people's artifacts, loaded once, and the harness that replays them.

Nothing here was minted by this project's own development issuer, so these tests see what real providers and
real API Gateway fixtures look like, not our reading of them. ``SOURCES.md`` names every artifact's repository,
commit, path and licence. Three kinds of data:

- real signed tokens with the public keys that verify them: Descope's python-sdk and go-sdk test suites, and
  awslabs/aws-jwt-verify's generic OIDC test tokens;
- real authorizer events: Powertools for AWS Lambda (Python) and aws-lambda-go test fixtures, vendored verbatim;
- ``built_provider_shapes.json``: WSO2, Cognito, Entra ID and Descope agentic tokens BUILT BY US from the
  providers' documented shapes (no real signed token of theirs is public), signed here with keys made here.

Every token's time claims are judged at a fixed instant (``replay_at`` of its source), so a token that expired
years ago replays as it did when it was minted. Keys are served by a real HTTP server on 127.0.0.1; reasons are read
from the ``observe`` callback, never from message text. Expected outcomes follow ``shared/DESIGN.md``.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from authorizer.authorize import Authorizer
from tests.authorizer.support import SigningKey

DATA = Path(__file__).parent / "data"
CLOCK = 1_700_000_000  # 2023-11-14T22:13:20Z: after every real token's iat, before the long-lived ones' exp
CONTEXT = SimpleNamespace(aws_request_id="conformance-1", function_name="authorizer")


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


DESCOPE_PY = load("descope_python_sdk.json")
DESCOPE_GO = load("descope_go_sdk.json")
BUILT = load("built_provider_shapes.json")
AJV_TOKENS = load("aws_jwt_verify/token-data.json")
AJV_JWKS = load("aws_jwt_verify/example-JWKS.json")
AJV_MS = load("aws_jwt_verify/ms-token-data.json")
AJV_AT = load("aws_jwt_verify/manifest.json")["replay_at"]


def descope_token(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in manifest["tokens"] if t["name"] == name)


PY_SESSION = descope_token(DESCOPE_PY, "session")
PY_REFRESH = descope_token(DESCOPE_PY, "refresh")
PY_EXPIRED = descope_token(DESCOPE_PY, "expired_session")
PY_AK_REFRESH = descope_token(DESCOPE_PY, "access_key_refresh")
PY_COOKIE_2022 = descope_token(DESCOPE_PY, "cookie_session_2022")
GO_SESSION = descope_token(DESCOPE_GO, "session")
GO_REFRESH = descope_token(DESCOPE_GO, "refresh")
GO_TENANTS = descope_token(DESCOPE_GO, "session_with_tenants")


# --- the replay harness -------------------------------------------------------------------------------------
@dataclass
class Replay:
    """One authorizer at a fixed instant, and every decision it reported through ``observe``."""

    authorizer: Authorizer
    decisions: list[tuple[str, str | None, str]] = field(default_factory=list)

    def authorize(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.authorizer.authorize(copy.deepcopy(event), "conformance-1")

    @property
    def outcome(self) -> str:
        return self.decisions[-1][0]

    @property
    def reason(self) -> str | None:
        return self.decisions[-1][1]


def descope_issuer(server, project_id: str, keys: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The ``descope`` preset for a project, its keys served where Descope's SDKs fetch them (``/v2/keys/<P>``)."""
    jwks_uri = server.put("/v2/keys/" + project_id, {"keys": keys})
    return {"provider": "descope", "project_id": project_id, "jwks_uri": jwks_uri, **extra}


def decode_segment(segment: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def stage_allowed(response: dict[str, Any], prefix: str) -> bool:
    """The response Allows exactly the stage ``prefix`` (``.../<api>/<stage>``), and nothing outside it."""
    allows = [s for s in response["policyDocument"]["Statement"] if s["Effect"] == "Allow"]
    resources = [r for s in allows for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    return resources == [prefix + "/*"]


def stage_denied(response: dict[str, Any], prefix: str) -> bool:
    statements = response["policyDocument"]["Statement"]
    return (not any(s["Effect"] == "Allow" for s in statements)
            and any(s["Effect"] == "Deny" and s["Resource"] in (prefix + "/*", [prefix + "/*"]) for s in statements))



def built_token(key: SigningKey, shape: dict[str, Any], at: float = CLOCK, **changes: Any) -> str:
    """Sign a documented shape with a test key, adding time claims around ``at``. ``None`` removes a claim."""
    claims = {**shape["claims"], "iat": int(at) - 60, "nbf": int(at) - 60, "exp": int(at) + 3600, **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {k: v for k, v in shape["header"].items() if k != "alg"}
    return key.sign(claims, shape["header"]["alg"], **header)


def agentic_issuer(server, built_keys, **extra: Any) -> dict[str, Any]:
    shape = BUILT["descope_agentic"]
    return descope_issuer(server, shape["project_id"], [PY_SESSION["jwk"], built_keys["agentic"].public_jwk],
                          audience=[shape["project_id"], shape["mcp_audience"]], **extra)
