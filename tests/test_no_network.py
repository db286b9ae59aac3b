"""The tests' pip reaches no package index (tests/conftest.py), and their CDK CLI no AWS endpoint (tests/offline.py):
docs/development.md, "No network in tests"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from infra.bundling import PROJECT_ROOT
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


def _account_lookup(environment: dict[str, str], cwd: Path) -> str:
    """What the real CDK CLI logs of finding the default account, for an app that synthesizes nothing."""
    cli = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
    ran = subprocess.run([str(cli), "ls", "-vv", "--no-notices", "--app", f"{sys.executable} -c pass"], cwd=cwd,
                         env=environment, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    return "\n".join(line for line in (ran.stdout + ran.stderr).splitlines() if "account" in line)


def test_the_cdk_cli_of_a_test_finds_no_aws_credentials_to_call_sts_with(monkeypatch, tmp_path: Path) -> None:
    """With credentials on this machine (variables, ``~/.aws``) the CLI asks STS who the caller is before it runs
    an app; the environment a test gives it (``quiet_environment``, and the docs-commands' plain shell) holds none.
    STS is pointed at a closed loopback port throughout, so neither run can leave this machine."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = AKIAEXAMPLE\n"
                                               "aws_secret_access_key = example\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = {"AWS_ENDPOINT_URL_STS": f"http://127.0.0.1:{probe.getsockname()[1]}"}
    as_found = _account_lookup({**os.environ, "PATH": quiet_environment()["PATH"], **closed}, tmp_path)
    assert "Looking up default account ID from STS" in as_found  # what the stripping is for
    for environment in (quiet_environment(), without_aws_credentials({"PATH": os.environ["PATH"], "HOME": str(home)})):
        logged = _account_lookup({**environment, **closed}, tmp_path)
        assert "STS" not in logged and "Could not load credentials from any providers" in logged, logged
