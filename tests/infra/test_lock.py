"""The authorizer's lock (``make lock``): exact pins with hashes for its Lambda platform, within the ranges of its
requirements, without python-jose's pure-Python backends; and bundling installs from it alone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import aws_lambda as lambda_
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.bundling import LOCK_FILE, SUPPORTED_ARCHITECTURES, SUPPORTED_RUNTIMES, PipBundler
from infra.lambda_sources import AUTHORIZER_DIR, PACKAGE

AUTHORIZER = AUTHORIZER_DIR
LEFT_OUT = {"ecdsa", "rsa", "pyasn1", "six"}
_ENTRY = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)")


def locked() -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes) for each entry of the lock."""
    entries: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (AUTHORIZER / LOCK_FILE).read_text().splitlines():
        if match := _ENTRY.match(line):
            name = canonicalize_name(match[1])
            entries[name] = (match[2], 0)
        elif "--hash=sha256:" in line:
            version, hashes = entries[name]
            entries[name] = (version, hashes + 1)
    return entries


def test_every_locked_package_is_pinned_with_hashes() -> None:
    entries = locked()
    assert entries and all(hashes >= 1 for _, hashes in entries.values()), entries


def test_the_lock_satisfies_the_authorizers_requirements() -> None:
    entries = locked()
    for line in (AUTHORIZER / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            version, _ = entries[canonicalize_name(requirement.name)]
            assert requirement.specifier.contains(version), (requirement, version)
    assert "cryptography" in entries  # python-jose[cryptography]: the one backend the authorizer runs with


def test_joses_pure_python_backends_are_left_out_of_the_lock() -> None:
    assert not LEFT_OUT & set(locked())
    assert "make lock" in (AUTHORIZER / LOCK_FILE).read_text().splitlines()[1]


def test_a_lock_is_installed_with_hashes_and_nothing_resolved(tmp_path: Path) -> None:
    command = PipBundler(PACKAGE, AUTHORIZER / LOCK_FILE, locked=True).pip_command(str(tmp_path), no_deps=True,
                                                                                 require_hashes=True)
    assert {"--no-deps", "--require-hashes", "--only-binary=:all:"} <= set(command)
    assert command[command.index("-r") + 1].endswith(LOCK_FILE)


@pytest.mark.parametrize("architecture", SUPPORTED_ARCHITECTURES, ids=lambda a: a.name)
@pytest.mark.parametrize("runtime", SUPPORTED_RUNTIMES, ids=lambda r: r.name)
def test_the_lock_holds_a_hashed_wheel_of_every_package_for_every_runtime_and_architecture_offered(
        tmp_path: Path, runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> None:
    """What ``runtime=`` and ``architecture=`` accept, the lock must cover: pip finds, for that platform, a wheel of
    each locked version whose hash the lock lists (``--require-hashes``), as bundling would. The wheels come from the
    wheelhouse the set-up downloaded (no index: tests/conftest.py); a lock without such a wheel fails here."""
    bundler = PipBundler(PACKAGE, AUTHORIZER / LOCK_FILE, runtime=runtime, architecture=architecture, locked=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
               "--require-hashes", "-r", str(AUTHORIZER / LOCK_FILE), "--dest", str(tmp_path),
               *[arg for platform in bundler.platforms for arg in ("--platform", platform)],
               "--implementation", "cp", "--python-version", bundler.python_version, "--only-binary=:all:"]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    wheels = {canonicalize_name(path.name.split("-")[0]) for path in tmp_path.glob("*.whl")}
    assert wheels == set(locked())
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture.name]
    binary = [path.name for path in tmp_path.glob("*.whl") if not path.name.endswith("-none-any.whl")]
    assert binary and all(machine in name for name in binary), binary


def test_the_wheelhouse_downloads_for_exactly_the_platforms_bundling_installs_for() -> None:
    """``tests/wheelhouse.py`` runs before the venv exists, so it cannot import ``infra.bundling``: it repeats the
    runtimes, glibc tags, machines and tracing extras, and must agree, or the tests' bundling finds no wheel."""
    from infra.bundling import RUNTIME, TRACING_REQUIREMENTS, python_version
    from tests import wheelhouse

    assert wheelhouse.LAMBDA_PYTHONS == tuple(python_version(runtime) for runtime in SUPPORTED_RUNTIMES)
    assert wheelhouse.LAMBDA_PYTHONS[-1] == python_version(RUNTIME)
    for runtime in SUPPORTED_RUNTIMES:
        for architecture in SUPPORTED_ARCHITECTURES:
            bundler = PipBundler(PACKAGE, None, runtime=runtime, architecture=architecture)
            (machine,) = {platform.removeprefix(f"{tag}_")
                          for tag, platform in zip(wheelhouse.GLIBC_TAGS, bundler.platforms, strict=True)}
            assert machine in wheelhouse.MACHINES
            downloaded = wheelhouse.lambda_platform(machine, bundler.python_version)
            installed = bundler.pip_command("out")
            assert [v for k, v in zip(downloaded, downloaded[1:], strict=False) if k == "--platform"] == bundler.platforms
            for flag in ("--implementation", "--python-version"):
                assert downloaded[downloaded.index(flag) + 1] == installed[installed.index(flag) + 1]
            assert "--only-binary=:all:" in downloaded and "--only-binary=:all:" in installed
    assert "".join(f"{requirement}\n" for requirement in wheelhouse.TRACING) == TRACING_REQUIREMENTS
