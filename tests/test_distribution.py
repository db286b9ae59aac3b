"""The sdist and the wheel a release publishes (built once per run by ``python -m build``, ``tests/built_distributions.py``)
as an index and a pip user see them: what each holds, the package page (``docs/pypi.md``, the long description) and
``twine check``. The page's example is synthesized and type-checked with the installed wheel in ``tests/examples/``."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tarfile
import zipfile
from email import message_from_string
from email.message import Message
from pathlib import Path

import pytest

from infra import __version__
from tests.built_distributions import Distributions, checkout_files

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "pypi.md"
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)")

pytestmark = pytest.mark.slow


def sdist_files(distributions: Distributions) -> set[str]:
    """The sdist's files, without its top folder ``apigw_jwt_authorizer-<version>/``."""
    with tarfile.open(distributions.sdist) as archive:
        return {m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile()}


def wheel_files(distributions: Distributions) -> set[str]:
    with zipfile.ZipFile(distributions.wheel) as archive:
        return set(archive.namelist())


def metadata(distributions: Distributions) -> Message:
    with zipfile.ZipFile(distributions.wheel) as archive:
        return message_from_string(archive.read(f"apigw_jwt_authorizer-{__version__}.dist-info/METADATA").decode())


def package_sources(folder: str) -> set[str]:
    """What of ``folder`` (infra/ or authorizer/) the checkout tracks: modules, py.typed, requirements files."""
    return {name for name in checkout_files() if name.startswith(f"{folder}/")}


def test_the_sdist_holds_the_sources_the_docs_and_the_changelog_and_nothing_else(
        distributions: Distributions) -> None:
    files = sdist_files(distributions)
    docs = {name for name in checkout_files() if re.fullmatch(r"docs/[^/]+\.md", name)}
    assert docs <= files and "docs/pypi.md" in docs
    assert {"CHANGELOG.md", "README.md", "LICENSE", "pyproject.toml", "MANIFEST.in"} <= files
    assert package_sources("infra") | package_sources("authorizer") <= files
    egg_info = {name for name in files if name.startswith("apigw_jwt_authorizer.egg-info/")}
    stray = files - docs - package_sources("infra") - package_sources("authorizer") - egg_info - {
        "CHANGELOG.md", "README.md", "LICENSE", "pyproject.toml", "MANIFEST.in", "PKG-INFO", "setup.cfg"}
    assert stray == set()  # no tests/test_docs.py (setuptools' default), no caches, no examples
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]


def test_the_wheel_holds_the_construct_and_the_lambdas_sources_and_nothing_else(distributions: Distributions) -> None:
    files = wheel_files(distributions)
    construct = {name.replace("infra/", "apigw_jwt_authorizer/", 1) for name in package_sources("infra")}
    lambda_sources = {name.replace("authorizer/", "apigw_jwt_authorizer_lambda/", 1)
                      for name in package_sources("authorizer")}
    dist_info = {name for name in files if name.startswith(f"apigw_jwt_authorizer-{__version__}.dist-info/")}
    assert files - dist_info == construct | lambda_sources
    assert "apigw_jwt_authorizer_lambda/requirements.lock" in files and "apigw_jwt_authorizer/py.typed" in files


def test_the_package_page_opens_with_pip_install_and_a_jwt_authorization_example(
        distributions: Distributions) -> None:
    meta = metadata(distributions)
    page = meta.get_payload()
    assert isinstance(page, str)
    assert meta["Description-Content-Type"] == "text/markdown"
    assert page.strip() == PAGE.read_text(encoding="utf-8").strip()
    blocks = FENCED.findall(page)
    (first_language, first), (second_language, example) = blocks[:2]
    assert first_language == "sh" and first.splitlines()[0].startswith("pip install apigw-jwt-authorizer ")
    assert page.index("pip install") < page.index("```python")
    assert second_language == "python" and "JwtAuthorization(" in example
    ast.parse(example)  # whole Python, not a fragment: tests/examples/ synthesizes it with the installed wheel
    links = LINK.findall(page)
    assert links and all(link.startswith("https://") for link in links), links  # relative links break on an index
    assert (meta["Name"], meta["Version"], meta["License-Expression"]) == ("apigw-jwt-authorizer", __version__,
                                                                           "Apache-2.0")
    assert meta["Requires-Python"] == ">=3.11"


def test_twine_check_passes_on_the_sdist_and_the_wheel(distributions: Distributions) -> None:
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(distributions.sdist),
                             str(distributions.wheel)], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_docs_the_sdist_carries_are_the_checkouts(distributions: Distributions) -> None:
    with tarfile.open(distributions.sdist) as archive:
        for member in archive.getmembers():
            name = member.name.split("/", 1)[1] if "/" in member.name else ""
            if member.isfile() and (name.startswith("docs/") or name == "CHANGELOG.md"):
                extracted = archive.extractfile(member)
                assert extracted is not None
                assert extracted.read() == (ROOT / name).read_bytes(), name
