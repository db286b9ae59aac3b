"""The installed construct under ``mypy --strict``, as a user's CI would run it: the package itself, a file that uses
the whole public API (nothing reported), and a file of deliberate mistakes (each reported by mypy, and refused at
synthesis with a ``ConfigError`` naming the argument). mypy runs from the development venv against the fresh venv
the wheel was installed into (``--python-executable``)."""

from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Installed

pytestmark = pytest.mark.slow

TYPING = Path(__file__).parent / "typing"
MISTAKE = re.compile(r"# mistake: (\w+)")
#: What each mistake's error must name, at synthesis: the argument and what it accepts.
REFUSED = {
    "mode_lambda": "mode: must be AuthorizerMode.LAMBDA or AuthorizerMode.JWT",
    "issuers_nope": "issuers: must be a list of Issuer, ProviderIssuer or issuer dicts",
    "routes_42": "routes: must be a list of RouteSpec or route dicts",
    "scopes_x": "scopes: must be a list or tuple of strings, got the string 'x'",
    "cache_ttl_duration": "cache_ttl_seconds: must be a whole number of seconds from 0 to 3600, got a Duration "
                          "(5 minutes): pass a Duration as results_cache_ttl instead",
    "timeout_5": "timeout: must be an aws_cdk.Duration such as Duration.seconds(5), got 5",
    "settings_dict": "settings: must be the AuthorizationSettings that AuthorizationSettings.create(...) returns, "
                     "got a dict",
}


def mypy(installed: Installed, tmp_path: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    """mypy as in a user's project: run from a directory outside this checkout, so no configuration of ours (which
    declares ``_IN_CHECKOUT``) is found; with the typing files copied there."""
    project = tmp_path / "project"
    shutil.copytree(TYPING, project, dirs_exist_ok=True)
    # One cache for the three runs (under a lock: one run at a time): mypy reads aws-cdk-lib's modules once.
    cache = installed.venv.parent / "mypy-cache"
    with open(installed.venv.parent / "mypy.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-executable",
                               str(installed.python), "--cache-dir", str(cache), "--no-error-summary", *targets],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=project, timeout=600)


def test_mypy_strict_finds_nothing_in_the_package_or_in_a_consumer_of_its_whole_api(installed: Installed,
                                                                                    tmp_path: Path) -> None:
    package = mypy(installed, tmp_path, "-p", "apigw_jwt_authorizer")
    assert package.returncode == 0, package.stdout + package.stderr
    consumer = mypy(installed, tmp_path, "consumer.py")
    assert consumer.returncode == 0, consumer.stdout + consumer.stderr


def test_mypy_strict_reports_every_deliberate_mistake_on_its_line(installed: Installed, tmp_path: Path) -> None:
    lines = (TYPING / "mistakes.py").read_text().splitlines()
    expected = {number: m[1] for number, line in enumerate(lines, start=1) if (m := MISTAKE.search(line))}
    assert set(expected.values()) == set(REFUSED)
    result = mypy(installed, tmp_path, "mistakes.py")
    reported = {int(m[1]) for m in re.finditer(r"^mistakes\.py:(\d+): error:", result.stdout, re.MULTILINE)}
    assert result.returncode == 1
    assert {expected[n] for n in reported if n in expected} == set(REFUSED), result.stdout
    assert reported <= set(expected), result.stdout  # nothing else in the file is an error


def test_each_mistake_is_refused_at_synthesis_naming_the_argument(installed: Installed) -> None:
    result = subprocess.run([str(installed.python), "mistakes.py"], capture_output=True, text=True, cwd=TYPING,
                            stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    said = dict(line.split(" -> ", 1) for line in result.stdout.splitlines() if " -> " in line)
    assert set(said) == set(REFUSED)
    for name, start in REFUSED.items():
        assert said[name].startswith(start), (name, said[name])
        assert "object at 0x" not in said[name] and "cdk.json" not in said[name]
    assert "Traceback" not in result.stderr
