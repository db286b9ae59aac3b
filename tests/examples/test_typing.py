"""The installed construct under ``mypy --strict``, as a user's CI would run it: the package itself, a file that uses
the whole public API, the package page's example and the example app (nothing reported), and a file of deliberate
mistakes (each reported by mypy, and refused at synthesis with a ``ConfigError`` naming the argument). mypy runs once,
from the development venv against the fresh venv the wheel was installed into (``--python-executable``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import EXAMPLE, Installed, package_page_example

pytestmark = pytest.mark.slow

TYPING = Path(__file__).parent / "typing"
#: examples/existing-app's modules
EXAMPLE_MODULES = ("app", "orders_stack")
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


@dataclass
class MypyReport:
    returncode: int
    output: str

    def errors(self, path: str) -> set[int]:
        """The lines of ``path`` (as mypy names it) that mypy reports an error on."""
        return {int(m[1]) for m in re.finditer(rf"^{re.escape(path)}:(\d+): error:", self.output, re.MULTILINE)}

    def error_files(self) -> set[str]:
        """Every file mypy reports an error in."""
        return set(re.findall(r"^(.+?):\d+: error:", self.output, re.MULTILINE))


@pytest.fixture(scope="module")
def mypy_strict(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> MypyReport:
    """One ``mypy --strict`` over the package, the consumer, the mistakes and the package page's example, as in a
    user's project: run from a directory outside this checkout, so no configuration of ours (which declares
    ``_IN_CHECKOUT``) is found. One process: mypy reads aws-cdk-lib's modules (most of its minute) once."""
    project = tmp_path_factory.mktemp("typing-project")
    shutil.copytree(TYPING, project, dirs_exist_ok=True)
    (project / "package_page.py").write_text(package_page_example())
    for module in EXAMPLE_MODULES:  # the separate CDK app itself, as its own CI would check it
        shutil.copy2(EXAMPLE / f"{module}.py", project / f"{module}.py")
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-executable", str(installed.python),
                             "--cache-dir", os.devnull, "--no-error-summary",  # one run: a cache would only be written
                             "-p", "apigw_jwt_authorizer", "-m", "consumer", "-m", "mistakes", "-m", "package_page",
                             *(f"-m{module}" for module in EXAMPLE_MODULES)],
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=project, timeout=600)
    assert not result.stderr, result.stderr  # a crash, or a package or file mypy could not find
    return MypyReport(result.returncode, result.stdout)


def test_mypy_strict_finds_nothing_in_the_package_or_in_a_consumer_of_its_whole_api(mypy_strict: MypyReport) -> None:
    # every line mypy printed (errors and their notes) is about mistakes.py: none about the package, consumer.py, ...
    assert {line.split(":", 1)[0] for line in mypy_strict.output.splitlines()} == {"mistakes.py"}, mypy_strict.output


def test_the_package_pages_example_passes_mypy_strict(mypy_strict: MypyReport) -> None:
    assert "package_page.py" not in mypy_strict.output
    assert mypy_strict.error_files() == {"mistakes.py"}  # so mypy did run, and found the mistakes


def test_the_example_app_passes_mypy_strict(mypy_strict: MypyReport) -> None:
    assert not [name for name in EXAMPLE_MODULES if f"{name}.py" in mypy_strict.output], mypy_strict.output
    assert mypy_strict.error_files() == {"mistakes.py"}  # so mypy did run, and found the mistakes


def test_mypy_strict_reports_every_deliberate_mistake_on_its_line(mypy_strict: MypyReport) -> None:
    lines = (TYPING / "mistakes.py").read_text().splitlines()
    expected = {number: m[1] for number, line in enumerate(lines, start=1) if (m := MISTAKE.search(line))}
    assert set(expected.values()) == set(REFUSED)
    reported = mypy_strict.errors("mistakes.py")
    assert mypy_strict.returncode == 1
    assert {expected[n] for n in reported if n in expected} == set(REFUSED), mypy_strict.output
    assert reported <= set(expected), mypy_strict.output  # nothing else in the file is an error


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
