"""Safer deploys: the sample ``cdk.json``'s placeholder issuer is refused for deployment (``make deploy`` before
synthesis, ``cdk deploy`` by a CloudFormation rule), and a misspelt top-level context key names the key meant."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from infra import ConfigError
from infra.bundling import PROJECT_ROOT
from infra.cdk_app import build_app
from infra.deploy_guard import CONTEXT_KEYS
from tests.synth_support import CliSynth, quiet_environment

from .conftest import DESCOPE, SKIP_BUNDLING


@pytest.mark.parametrize(("key", "meant"), [("cacheTTLSeconds", "cacheTtlSeconds"), ("issuer", "issuers"),
                                             ("logRetention", "logRetentionDays"), ("Authorizer", "authorizer")])
def test_a_misspelt_context_key_is_named_with_the_key_meant(tmp_path: Path, key: str, meant: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_app({**SKIP_BUNDLING, key: 60}, outdir=str(tmp_path))
    assert caught.value.field == key and caught.value.problem.endswith(f"did you mean {meant}?")


def test_an_unknown_context_key_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        build_app({**SKIP_BUNDLING, "colour": "blue"}, outdir=str(tmp_path))
    assert caught.value.field == "colour" and ", ".join(CONTEXT_KEYS) in caught.value.problem


def test_deploying_the_placeholder_issuer_is_refused_saying_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        build_app({**SKIP_BUNDLING, "deploy": "true"}, outdir=str(tmp_path))
    assert caught.value.field == "issuers"
    assert "https://idp.example.com is the sample cdk.json's placeholder" in caught.value.problem
    assert 'set "issuers" in cdk.json' in caught.value.problem


def test_deploying_a_real_issuer_synthesizes_without_the_rule(tmp_path: Path) -> None:
    app = build_app({**SKIP_BUNDLING, "deploy": True, "issuers": [DESCOPE]}, outdir=str(tmp_path))
    (stack,) = app.synth().stacks
    assert "Rules" not in stack.template or "RefusePlaceholderIssuer" not in stack.template["Rules"]


@pytest.mark.slow
def test_a_bundled_synth_of_the_placeholder_carries_a_rule_that_fails_cloudformation(lambda_synth: CliSynth,
                                                                                      jwt_synth: CliSynth) -> None:
    rule = lambda_synth.template["Rules"]["RefusePlaceholderIssuer"]
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Contains": [["the issuer of a real identity provider"],
                                                    "https://idp.example.com"]}
    assert 'placeholder issuer: set "issuers" in cdk.json' in assertion["AssertDescription"]
    assert "RefusePlaceholderIssuer" not in jwt_synth.template.get("Rules", {})  # a real (Descope) issuer


@pytest.mark.slow
def test_make_deploy_stops_before_synthesis_on_the_placeholder(tmp_path: Path) -> None:
    dry_run = subprocess.run(["make", "-n", "deploy"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=60)
    (deploy_line,) = [line for line in dry_run.stdout.splitlines() if "cdk deploy" in line]
    assert "-c deploy=true" in deploy_line
    npx = shutil.which("npx")
    assert npx is not None
    result = subprocess.run([npx, "--no-install", "cdk", "deploy", "-c", "deploy=true", "-o", str(tmp_path),
                             "--no-notices", "--require-approval", "never"], cwd=PROJECT_ROOT,
                            env=quiet_environment(), capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=300)
    assert result.returncode != 0
    assert "issuers: https://idp.example.com is the sample cdk.json's placeholder" in result.stdout + result.stderr
    assert not (tmp_path / "manifest.json").exists()
    assert json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]["issuers"][0]["issuer"] == \
        "https://idp.example.com"
