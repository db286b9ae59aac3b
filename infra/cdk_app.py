"""Build the CDK app: configuration from context, the sample stack, cdk-nag's AwsSolutions checks.

The CDK CLI hands the app its context (``cdk.json`` merged with ``-c``) in ``CDK_CONTEXT_JSON``. ``python app.py``
run directly gets the same result: ``cdk.json``'s context and the CLI's defaults are the base, and
``CDK_CONTEXT_JSON`` (read by ``cdk.App`` itself) overrides them, exactly as ``-c`` does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations

from .config import bundling_skipped, load_stack_config
from .context_values import boolean
from .deploy_guard import add_placeholder_rule, check_context_keys, refuse_placeholder
from .lambda_sources import parse_json
from .stack import JwtAuthorizerStack

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: What the CDK CLI puts in every synth's context; a direct ``python app.py`` starts from the same.
CLI_CONTEXT_DEFAULTS: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}


def cdk_json_context(path: Path = PROJECT_ROOT / "cdk.json") -> dict[str, Any]:
    """``cdk.json``'s context. A key given twice in one object is an error naming it: the CDK CLI would keep the
    last copy, and a second route object without the first one's tenant rule would silently drop the check."""
    return dict(parse_json(path.read_text(), "cdk.json").get("context", {}))


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None, nag: bool = True) -> App:
    """The app with its one stack. ``context`` overrides ``cdk.json`` (as ``-c`` would); the environment's
    ``CDK_CONTEXT_JSON`` overrides both. Raises ``ConfigError`` naming the key on invalid configuration, on an
    unknown key (suggesting the known one), and, with ``-c deploy=true`` (``make deploy``), on the sample's
    placeholder issuer; a synthesis for deployment carries a rule that makes CloudFormation refuse it too."""
    app = App(
        context={**CLI_CONTEXT_DEFAULTS, **cdk_json_context(), **(context or {})},
        outdir=outdir or os.environ.get("CDK_OUTDIR") or "cdk.out",
    )
    check_context_keys(app.node.get_all_context())
    config = load_stack_config(app.node.try_get_context)
    refuse_placeholder(config.authorization, boolean(app.node.try_get_context("deploy") or False, "deploy"))
    stack = JwtAuthorizerStack(app, config.stack_name, config=config)
    if not bundling_skipped(app.node.try_get_context("aws:cdk:bundling-stacks")):
        add_placeholder_rule(stack, config.authorization)
    if nag:
        # a development dependency (the `nag` extra) of the installed construct
        from cdk_nag import AwsSolutionsChecks  # type: ignore[import-not-found, unused-ignore]

        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
