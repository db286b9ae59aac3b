"""Where the local stack's events differ from AWS's samples on purpose, and why (docs/local-stack.md repeats it).

``REASONS`` names each reason once; ``DIFFERENCES`` lists, per sample case of ``test_events.py``, each difference
``(path, kind)`` that ``shapes.compare`` reports and the reason it stays. Nothing else may differ, and nothing
listed may stop differing (``test_events.py`` fails either way).
"""

from __future__ import annotations

REASONS = {
    "no_mtls": "Mutual TLS: API Gateway adds the client certificate (requestContext.authentication.clientCert in 2.0, "
               "requestContext.identity.clientCert in 1.0) only on a custom domain with mutual TLS; the local API "
               "is plain HTTP on 127.0.0.1, so there is no certificate to describe.",
    "abridged_1_0_sample": "The docs' (and aws-lambda-go's copy of the docs') payload 1.0 authorizer sample is "
                           "abridged: Powertools' 1.0 authorizer event, whose ids and times have API Gateway's "
                           "formats, has every one of these fields, and so does the captured 1.0 integration event.",
    "cognito_amr": "identity.cognitoAmr (null) is in Powertools' 1.0 authorizer event and in the captured 1.0 "
                   "integration event, not in the docs' abridged samples: the captured event decides.",
    "no_api_keys": "HTTP APIs have no API keys: identity.apiKey is null locally; the samples' \"...\" is a "
                   "placeholder, not a value API Gateway sends.",
    "docs_1_0_claims_null": "The docs' 1.0 integration sample shows a JWT authorizer's claims as null; a request "
                            "that passed a JWT authorizer has claims (the 2.0 samples and every capture carry them), "
                            "so the local stack hands them on.",
    "docs_1_0_resource_id_null": "The docs' 1.0 integration sample has resourceId null; the captured 1.0 event has "
                                 "the route key (\"ANY /handler/{proxy+}\"), as Powertools' 1.0 event has: the "
                                 "captured event decides.",
}

_MTLS_2_0 = {("requestContext.authentication", "missing"): REASONS["no_mtls"]}
_ABRIDGED = {(path, "extra"): REASONS["abridged_1_0_sample"] for path in (
    "multiValueHeaders", "requestContext.domainName", "requestContext.domainPrefix",
    "requestContext.extendedRequestId", "requestContext.protocol", "requestContext.requestTime",
    "requestContext.requestTimeEpoch", *(f"requestContext.identity.{field}" for field in (
        "accessKey", "accountId", "caller", "cognitoAuthenticationProvider", "cognitoAuthenticationType",
        "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId", "user", "userAgent", "userArn")))}
_DOCS_1_0_AUTHORIZER = {
    **_ABRIDGED,
    ("requestContext.identity.cognitoAmr", "extra"): REASONS["cognito_amr"],
    ("requestContext.identity.clientCert", "missing"): REASONS["no_mtls"],
    ("requestContext.identity.apiKey", "type"): REASONS["no_api_keys"],
}

DIFFERENCES: dict[str, dict[tuple[str, str], str]] = {
    "docs-authorizer-2.0": _MTLS_2_0,
    "go-authorizer-2.0": _MTLS_2_0,
    "powertools-authorizer-2.0": _MTLS_2_0,
    "powertools-authorizer-2.0-merchants": _MTLS_2_0,
    "docs-authorizer-1.0": _DOCS_1_0_AUTHORIZER,
    "go-authorizer-1.0": _DOCS_1_0_AUTHORIZER,
    "powertools-authorizer-1.0": {
        ("requestContext.identity.clientCert", "missing"): REASONS["no_mtls"],
        ("requestContext.identity.apiKey", "type"): REASONS["no_api_keys"],
    },
    "docs-integration-2.0": _MTLS_2_0,
    "go-integration-2.0-jwt": _MTLS_2_0,
    "go-integration-2.0-lambda": _MTLS_2_0,
    "go-integration-2.0-captured": _MTLS_2_0,
    "docs-integration-1.0": {
        ("requestContext.identity.clientCert", "missing"): REASONS["no_mtls"],
        ("requestContext.identity.cognitoAmr", "extra"): REASONS["cognito_amr"],
        ("requestContext.authorizer.claims", "type"): REASONS["docs_1_0_claims_null"],
        ("requestContext.resourceId", "type"): REASONS["docs_1_0_resource_id_null"],
    },
}


def for_sample(case_id: str) -> dict[tuple[str, str], str]:
    return DIFFERENCES.get(case_id, {})
