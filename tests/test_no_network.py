"""The tests' pip reaches no package index (tests/conftest.py), and their CDK CLI no AWS endpoint (tests/offline.py):
docs/development.md, "No network in tests"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.offline import WHEELHOUSE, without_aws_credentials
from tests.synth_support import quiet_environment


def test_pip_in_a_test_takes_wheels_from_the_wheelhouse_alone(tmp_path: Path) -> None:
    assert os.environ["PIP_NO_INDEX"] == "1" and os.environ["PIP_FIND_LINKS"] == str(WHEELHOUSE)
    # A release no wheelhouse holds (requests 2.0.0, 2013): an index would have it, this pip must not find it.
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(tmp_path),
                             "requests==2.0.0"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode != 0
    assert "No matching distribution found for requests==2.0.0" in result.stderr
    assert not list(tmp_path.iterdir())


def test_the_cdk_cli_of_a_test_finds_no_aws_credentials_to_call_sts_with(monkeypatch, tmp_path: Path) -> None:
    """Every source of credentials the CLI (the AWS SDK for JavaScript) reads is gone or empty, whatever this
    machine has: variables, the files under ``~/.aws`` (or named by ``AWS_*_FILE``), and instance metadata."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = AKIAEXAMPLE\n")
    monkeypatch.setenv("HOME", str(home))
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.setenv(name, "set-on-this-machine")
    for environment in (quiet_environment(), without_aws_credentials({"HOME": str(home)})):
        aws = {name: value for name, value in environment.items() if name.startswith("AWS_")}
        assert aws == {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                       "AWS_EC2_METADATA_DISABLED": "true"}
