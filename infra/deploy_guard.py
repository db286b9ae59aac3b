"""What keeps the sample app from deploying something that cannot work: ``cdk.json``'s placeholder issuer, and
context keys nobody reads (a misspelt ``cacheTTLSeconds`` would silently leave the default in force).

The placeholder is any issuer on an RFC 2606 example domain (``https://idp.example.com`` in the shipped
``cdk.json``): no identity provider can ever issue tokens there. ``cdk synth`` still works with it (tests and a
first look need that), but a deployment is refused twice over: ``make deploy`` sets ``-c deploy=true`` and the app
stops before synthesizing; and ``cdk deploy`` run directly meets a CloudFormation rule in the template, whose
assertion fails before any resource is created, with the same instructions.

    >>> check_context_keys({"issuers": [], "cacheTTLSeconds": 60})
    Traceback (most recent call last):
    ...
    authorizer.errors.ConfigError: cacheTTLSeconds: is not a configuration key; did you mean cacheTtlSeconds?
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aws_cdk import CfnRule, CfnRuleAssertion, Fn, Stack

from .config import AuthorizationSettings
from .lambda_sources import ConfigError

#: The sample app's context keys (``infra/config.py`` reads them), and ``deploy`` (set by ``make deploy``).
CONTEXT_KEYS = ("authorizer", "issuers", "routes", "cacheTtlSeconds", "lambdaResponse", "configParameter",
                "configMaxAgeSeconds", "tokenCookie", "stackName", "throttle", "logRetentionDays", "tracing", "deploy")
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
SET_ISSUERS = ('set "issuers" in cdk.json (or -c issuers=\'[...]\') to your identity provider, e.g. '
               '[{"provider": "descope", "project_id": "P2..."}] or [{"provider": "oidc", "issuer": '
               '"https://login.your-company.com", "audience": "your-api"}] (docs/providers.md)')


def check_context_keys(context: Mapping[str, Any]) -> None:
    """Every plain top-level key must be one the app reads; CDK's own (``@aws-cdk/...``, ``aws:cdk:...``, lookups)
    all hold ``:`` and pass."""
    for key in context:
        if ":" in key or key in CONTEXT_KEYS:
            continue
        by_lower = {known.lower(): known for known in CONTEXT_KEYS}
        close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
        hint = f"did you mean {by_lower[close[0]]}?" if close else f"the keys are {', '.join(CONTEXT_KEYS)}"
        raise ConfigError(key, f"is not a configuration key; {hint}")


def placeholder_issuers(settings: AuthorizationSettings) -> list[str]:
    """The trusted issuers on an example domain, unless the issuers come from an existing SSM parameter."""
    if settings.config_parameter is not None and not settings.config_parameter.created:
        return []
    return [i.issuer for i in settings.trusted_issuers if _is_example(urlsplit(i.issuer).hostname)]


def refuse_placeholder(settings: AuthorizationSettings, deploying: bool) -> None:
    """``make deploy`` (``-c deploy=true``): stop before synthesizing when an issuer is a placeholder."""
    found = placeholder_issuers(settings)
    if deploying and found:
        raise ConfigError("issuers", f"{found[0]} is the sample cdk.json's placeholder, not a deployable issuer: "
                                     f"{SET_ISSUERS}")


def add_placeholder_rule(stack: Stack, settings: AuthorizationSettings) -> CfnRule | None:
    """A template rule that fails ``cdk deploy`` at CloudFormation's validation while an issuer is a placeholder."""
    found = placeholder_issuers(settings)
    if not found:
        return None
    return CfnRule(stack, "RefusePlaceholderIssuer", assertions=[CfnRuleAssertion(
        # Always false while the placeholder is configured (Fn::Contains: cfn-lint rightly flags a constant Equals)
        assert_=Fn.condition_contains(["the issuer of a real identity provider"], found[0]),
        assert_description=f"{found[0]} is the sample cdk.json's placeholder issuer: {SET_ISSUERS}",
    )])


def _is_example(host: str | None) -> bool:
    return bool(host) and any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)  # type: ignore[union-attr]
