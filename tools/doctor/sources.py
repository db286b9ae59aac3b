"""Where the doctor reads what to check against: the CDK app's ``cdk.json``, or a deployed HTTP API.

``setup_from_cdk_json`` validates the context as the app does (``infra.deploy_guard.check_context_keys``, then the
stack's own loader ``infra.config.load_stack_config``) in both modes, so the doctor explains exactly the routes, native issuer and rules ``cdk synth`` would build, and says
why synthesis refuses a mode (``Setup.refused``, the stack's ``ConfigError``). A configuration valid only for local
runs (a loopback issuer) is explained as the local stack synthesizes it (bundling skipped), with a note.
``setup_from_api`` reads a deployed API's routes and authorizers, and a Lambda authorizer's ``AUTH_*`` environment
(or its SSM parameter), through the authorizer's own ``load_config``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authorizer.config import AuthorizerConfig, load_config, parse_routes
from authorizer.errors import ConfigError

if TYPE_CHECKING:  # infra/ loads the CDK (a node process): imported only when a cdk.json is read
    from infra.config import StackConfig

from .model import LAMBDA, NATIVE, DoctorError, LambdaSetup, NativeSetup, Route, Setup

_LOCAL_PROFILE: dict[str, Any] = {"aws:cdk:bundling-stacks": []}  # what the local stack synthesizes with: nothing is deployed


def setup_from_cdk_json(path: str | Path) -> Setup:
    """``cdk.json`` context (``authorizer``, ``issuers``, ``routes``...), read as ``cdk synth`` reads it."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as problem:
        raise DoctorError(f"cannot read {path}: {problem}") from None
    context = document.get("context", {}) if isinstance(document, dict) else {}
    if not isinstance(context, dict):
        raise DoctorError(f"{path}: context must be an object")
    from infra.config import MODES
    from infra.deploy_guard import check_context_keys

    try:
        check_context_keys(context)  # cdk synth's first check: a misspelt key would silently keep a default
    except ConfigError as problem:
        raise DoctorError(f"{path}: {problem}") from None
    configured = context.get("authorizer", LAMBDA)
    loaded: dict[str, StackConfig] = {}
    refused: dict[str, ConfigError] = {}
    notes: list[str] = []
    for mode in dict.fromkeys((configured, *MODES)):
        label = _label(mode, configured)
        try:
            loaded[mode], local_only = load_for_doctor(context, mode)
        except ConfigError as problem:
            refused[mode] = problem
            if mode in MODES:
                notes.append(f"{label}: cdk synth refuses it: {problem}")
            continue
        if local_only is not None:
            refused[mode] = local_only
            notes.append(f"{label}: valid for local runs only (cdk synth for a deployment refuses it: {local_only})")
        notes += [f"{label}: {note}" for note in loaded[mode].authorization.notes]
    if not loaded or configured not in MODES:
        raise DoctorError(f"{path}: {refused[configured]}")
    authorizers: dict[str, NativeSetup | LambdaSetup] = {}
    routes: list[Route] = []
    for mode, stack in loaded.items():
        settings = stack.authorization
        if settings.native_issuer is not None:
            native = settings.native_issuer
            authorizers[mode] = NativeSetup(native.issuer, native.audiences, _label(mode, configured))
        else:
            config = AuthorizerConfig(issuers=settings.trusted_issuers,
                                      routes=parse_routes(settings.auth_routes(), "routes"))
            authorizers[mode] = LambdaSetup(_label(mode, configured), config)
        routes += [Route(r.route_key, mode, r.scopes) for r in settings.protected_routes]
    public = next(iter(loaded.values())).authorization.routes
    routes[:0] = [Route(r.route_key, None) for r in public if r.public]
    return Setup(f"{path} (authorizer={configured})", authorizers, routes, {configured} & set(authorizers), notes,
                 refused)


def load_for_doctor(context: Mapping[str, Any], mode: str) -> tuple[StackConfig, ConfigError | None]:
    """The stack configuration ``cdk synth`` builds from ``context`` with ``authorizer`` set to ``mode``.

    When synthesis for a deployment refuses it but the local stack's synthesis (bundling skipped) accepts it, that
    is returned with the deployment's refusal; otherwise a refusal is the stack's ``ConfigError``.
    """
    from infra.config import bundling_skipped, load_stack_config

    lookup = _lookup({**context, "authorizer": mode})
    try:
        return load_stack_config(lookup), None
    except ConfigError as refusal:
        if bundling_skipped(context.get("aws:cdk:bundling-stacks")):
            raise
        try:
            return load_stack_config(_lookup({**context, "authorizer": mode, **_LOCAL_PROFILE})), refusal
        except ConfigError:
            raise refusal from None


def _lookup(context: Mapping[str, Any]) -> Callable[[str], Any]:
    return context.get


def _label(mode: str, configured: str) -> str:
    name = "native JWT authorizer" if mode == NATIVE else "Lambda authorizer"
    return f"{name} (configured)" if mode == configured else f"{name} (if authorizer={mode})"


def setup_from_api(api_id: str, region: str, session: Any = None) -> Setup:
    """A deployed HTTP API: ``get_routes``, ``get_authorizer`` per route, and a Lambda authorizer's environment."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = session or boto3.session.Session()
    apigw = session.client("apigatewayv2", region_name=region)
    try:
        items, token = [], None
        while True:
            page = apigw.get_routes(ApiId=api_id, **({"NextToken": token} if token else {}))
            items += page.get("Items", [])
            token = page.get("NextToken")
            if not token:
                break
        authorizers: dict[str, NativeSetup | LambdaSetup] = {}
        routes: list[Route] = []
        notes: list[str] = []
        for item in sorted(items, key=lambda i: i.get("RouteKey", "")):
            kind, authorizer_id = item.get("AuthorizationType", "NONE"), item.get("AuthorizerId")
            if kind in ("JWT", "CUSTOM") and authorizer_id:
                if authorizer_id not in authorizers:
                    described = apigw.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)
                    authorizers[authorizer_id] = _deployed_authorizer(described, session, region, notes)
                routes.append(Route(item["RouteKey"], authorizer_id, tuple(item.get("AuthorizationScopes") or ())))
            elif kind == "NONE":
                routes.append(Route(item["RouteKey"], None))
            else:
                notes.append(f"{item['RouteKey']}: authorization type {kind} is not a JWT or Lambda authorizer")
    except (BotoCoreError, ClientError) as problem:
        raise DoctorError(f"reading API {api_id} in {region} failed: {problem}") from None
    return Setup(f"API {api_id} ({region})", authorizers, routes, {r.authorizer for r in routes if r.authorizer},
                 notes)


def _deployed_authorizer(described: Mapping[str, Any], session: Any, region: str,
                         notes: list[str]) -> NativeSetup | LambdaSetup:
    name = described.get("Name") or described.get("AuthorizerId", "?")
    if described.get("AuthorizerType") == "JWT":
        jwt = described.get("JwtConfiguration", {})
        return NativeSetup(jwt.get("Issuer", ""), tuple(jwt.get("Audience", [])), f"native JWT authorizer {name!r}")
    uri = described.get("AuthorizerUri", "")
    match = re.search(r"functions/(arn:[^/]+:function:[^/]+)/invocations", uri)
    if match is None:
        raise DoctorError(f"authorizer {name!r}: its URI {uri!r} names no Lambda function")
    function = match.group(1)
    environment = session.client("lambda", region_name=region).get_function_configuration(
        FunctionName=function).get("Environment", {}).get("Variables", {})
    try:
        config = load_config(environment)
        if config.config_parameter:
            config = _parameter_config(session, region, config)
    except ConfigError as problem:
        raise DoctorError(f"Lambda authorizer {name!r} ({function}): its configuration is invalid: {problem}") from None
    if described.get("AuthorizerResultTtlInSeconds"):
        notes.append(f"Lambda authorizer {name!r} caches results for {described['AuthorizerResultTtlInSeconds']} s:"
                     " a changed configuration reaches cached tokens only after that")
    return LambdaSetup(f"Lambda authorizer {name!r} ({function.rsplit(':', 1)[-1]})", config)


def _parameter_config(session: Any, region: str, base: AuthorizerConfig) -> AuthorizerConfig:
    from authorizer.remote_config import parse_parameter

    text = session.client("ssm", region_name=region).get_parameter(Name=base.config_parameter)["Parameter"]["Value"]
    try:
        value = json.loads(text)
    except ValueError as problem:
        raise ConfigError(str(base.config_parameter), f"is not JSON ({problem})") from None
    return parse_parameter(value, base)
