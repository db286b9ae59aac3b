"""What the benchmarks share: the development issuer on 127.0.0.1, tokens it signs, and API Gateway events.

The latency contenders must all verify the *same* tokens, and Powertools' ``JWTVerifier`` accepts only an https
``iss``; so the benchmark issuer's tokens carry ``https://issuer.bench.example/oidc`` as ``iss`` while their keys are
served by the dev issuer's ``oidc`` JWKS on loopback (``jwks_uri`` configured explicitly, as for any IdP whose
discovery document is not used).

    with BenchIssuer() as issuer:
        tokens = issuer.mint_many("RS256", 1000)
        os.environ.update(issuer.environment())     # AUTH_ISSUERS for authorizer.handler
"""

from __future__ import annotations

import json
from typing import Any

import requests

from local.idp.issuer import DevIssuer

BENCH_ISSUER = "https://issuer.bench.example/oidc"
BENCH_AUDIENCE = "bench-api"
ALGORITHMS = ("RS256", "ES256")  # RSA-2048 and P-256: what the dev issuer signs with
TOKEN_LIFETIME = 3600  # outlives any benchmark run
STAGE_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default"
ROUTE_KEY = "GET /orders"


class BenchIssuer:
    """A started ``DevIssuer`` and the one trusted issuer of the latency and cold-start benchmarks."""

    profile = "oidc"

    def __init__(self) -> None:
        self.dev = DevIssuer()
        self.issuer = BENCH_ISSUER
        self.audience = BENCH_AUDIENCE

    def start(self) -> BenchIssuer:
        self.dev.start()
        return self

    def stop(self) -> None:
        self.dev.stop()

    def __enter__(self) -> BenchIssuer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def jwks_url(self) -> str:
        return self.dev.jwks_url(self.profile)

    def jwks(self) -> dict[str, Any]:
        """The JWKS document as a client would fetch it (counted by the dev issuer like any fetch)."""
        response = requests.get(self.jwks_url, timeout=5)
        response.raise_for_status()
        return response.json()

    def mint(self, alg: str, **claims: Any) -> str:
        return self.dev.mint(self.profile, alg=alg, audience=self.audience, expires_in=TOKEN_LIFETIME,
                             claims={"iss": self.issuer, **claims})

    def mint_many(self, alg: str, count: int, **claims: Any) -> list[str]:
        """``count`` distinct tokens (each has its own ``jti``), with ``claims`` set in each."""
        return [self.mint(alg, **claims) for _ in range(count)]

    def issuers_config(self) -> list[dict[str, Any]]:
        return [{"issuer": self.issuer, "audience": self.audience, "jwks_uri": self.jwks_url,
                 "algorithms": list(ALGORITHMS)}]

    def environment(self) -> dict[str, str]:
        """The function's environment as the stack would set it, pointed at this issuer."""
        return {"AUTH_ISSUERS": json.dumps(self.issuers_config()),
                "AUTH_ROUTES": json.dumps({"DELETE /orders/{id}": ["orders:admin"]}),
                "POWERTOOLS_SERVICE_NAME": "jwt-authorizer-bench",
                "POWERTOOLS_METRICS_NAMESPACE": "JwtAuthorizerBench"}


REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"  # an AWS-shaped request id, like no header value


def http_api_event(token: str, route_key: str = ROUTE_KEY, path_parameters: dict[str, str] | None = None,
                   per_request: bool = False) -> dict[str, Any]:
    """An HTTP API payload 2.0 REQUEST authorizer event, as API Gateway sends it.

    With ``path_parameters``, the request's path is the route's with each ``{name}`` filled in, and the event carries
    them as ``pathParameters`` (what API Gateway matched the route with). ``per_request``: the identity sources hold
    ``$context.routeKey`` and ``$context.requestId`` too, as the construct sets up its tenant routes' authorizer.
    """
    method, path = route_key.split(" ", 1)
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"{STAGE_ARN}/{method}{path}",
        "identitySource": [f"Bearer {token}", route_key, REQUEST_ID] if per_request else [f"Bearer {token}"],
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {token}", "host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
                    "user-agent": "bench", "accept": "*/*"},
        "requestContext": {"accountId": "123456789012", "apiId": "a1b2c3d4e5", "domainName": "localhost",
                           "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "bench"},
                           "requestId": REQUEST_ID, "routeKey": route_key, "stage": "$default",
                           "time": "01/Jan/2030:00:00:00 +0000", "timeEpoch": 1893456000000},
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


class LambdaContext:
    """The attributes of a Lambda context object the handler reads."""

    function_name = "jwt-authorizer-bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:jwt-authorizer-bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
