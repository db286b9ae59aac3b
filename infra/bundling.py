"""Lambda code for a Python package of this project, bundled without Docker.

``package_code(scope, "authorizer")`` is an asset whose root holds the ``authorizer/`` package (its handler uses
package-relative imports) and, when bundled, its requirements installed by ``pip --platform`` for the function's
architecture: ``--only-binary=:all:`` so pip never builds a wheel for this machine instead, e.g. a ``cryptography``
for x86_64 when Lambda runs arm64 (python-jose would then fall back to pure Python without a word).

The asset's source is a copy of the package alone under ``<outdir>/lambda-src/<package>/``: when bundling is skipped
(``-c aws:cdk:bundling-stacks=[]``) CDK points the asset at that source as it is, and the local stack then runs
exactly the package that would be bundled, without the rest of the project.
Docker is only a fallback, used if this machine has no pip (or, with ``bytecode``, no interpreter of the runtime's
Python version: ``infra/bytecode.py``).

``extra_sources`` adds single files of other packages of the project, at the same paths (with their packages'
``__init__.py``), so that they import under the same names in the bundle as in the checkout: the sample MCP server
imports ``authorizer.mcp_headers`` (one source for the authorizer and the server) and ``sample_backend.handler``.

A package with a ``requirements.lock`` (the authorizer's, written by ``make lock`` with the hashes of every wheel for
each offered platform: arm64 and x86_64, Python 3.12 to 3.14) is installed from it alone: ``--require-hashes --no-deps``, exactly the pinned files and nothing resolved, so what is
left out of the lock on purpose (python-jose's pure-Python backends) stays out of the bundle.

The asset hash is the bundle's (``AssetHashType.OUTPUT``): where the requirements are ranges, the same sources can
resolve to new releases (a ``cryptography`` fix), and only a hash of what pip installed makes ``cdk deploy`` upload
and update the function then; from a lock, the same lock gives the same bundle and hash. The price: every synthesis runs pip (from its download cache) instead of reusing a
bundle of unchanged sources. With bundling skipped CDK hashes the asset's construct path instead, so a local
stack's asset never has a real bundle's hash.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling, Stage
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .arguments import describe
from .bytecode import compile_bundle, compiler_for, docker_command
from .lambda_sources import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The newest Python runtime aws-cdk-lib 2.275 and Lambda offer; cdk-nag's L1 checks it stays the latest.
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
#: The runtimes a function may choose: those ``requirements.lock`` covers (``make lock`` resolves from 3.12 on, with
#: every wheel's hash) and that run on Amazon Linux 2023 (glibc 2.34, below).
SUPPORTED_RUNTIMES = (lambda_.Runtime.PYTHON_3_12, lambda_.Runtime.PYTHON_3_13, lambda_.Runtime.PYTHON_3_14)
SUPPORTED_ARCHITECTURES = (lambda_.Architecture.ARM_64, lambda_.Architecture.X86_64)
# Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34), so wheels up to manylinux_2_34 load there.
_GLIBC_TAGS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")
_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
_SKIPPED = ("__pycache__", "*.pyc", "*.pyo", "py.typed")  # py.typed: for type checkers of the installed package
#: Installed files no function here ever loads: Powertools' Swagger UI (1.7 MB of JavaScript and CSS, served only by
#: its REST event handler's ``enable_swagger``). Dropped from every bundle after pip.
UNUSED_FILES = ("aws_lambda_powertools/event_handler/openapi/swagger_ui",)
#: With tracing, Powertools' Tracer needs the X-Ray SDK. Installed with --no-deps: its botocore dependency
#: (~25 MB) is already in the Lambda runtime, so the bundle grows ~2 MB instead of doubling.
TRACING_REQUIREMENTS = "aws-xray-sdk>=2.14,<3\nwrapt>=1.14,<3\n"
TRACING_REQUIREMENTS_FILE = "requirements-tracing.txt"
#: Exact pins with hashes, used instead of ``requirements.txt`` when the package has one.
LOCK_FILE = "requirements.lock"


def python_version(runtime: lambda_.Runtime) -> str:
    """``python3.14`` → ``3.14``."""
    name = runtime.name
    if not name.startswith("python3."):
        raise ValueError(f"{name} is not a Python runtime")
    return name.removeprefix("python")


def checked_platform(runtime: lambda_.Runtime | None,
                     architecture: lambda_.Architecture) -> tuple[lambda_.Runtime, lambda_.Architecture]:
    """``runtime`` (None: the newest) and ``architecture``, if the lock covers them; else a ``ConfigError`` naming
    the argument and what it accepts."""
    runtimes = ", ".join(f"Runtime.{r.name.replace('python3.', 'PYTHON_3_')}" for r in SUPPORTED_RUNTIMES)
    if runtime is None:
        runtime = RUNTIME
    elif not isinstance(runtime, lambda_.Runtime) or runtime.name not in {r.name for r in SUPPORTED_RUNTIMES}:
        got = f"Runtime {runtime.name!r}" if isinstance(runtime, lambda_.Runtime) else describe(runtime)
        raise ConfigError("runtime", f"must be one of {runtimes} (the Python versions the bundle's lock covers), "
                                     f"got {got}")
    if not isinstance(architecture, lambda_.Architecture) or architecture.name not in {
            a.name for a in SUPPORTED_ARCHITECTURES}:
        raise ConfigError("architecture", "must be Architecture.ARM_64 or Architecture.X86_64, got "
                                          f"{describe(architecture)}")
    return runtime, architecture


def pip_platforms(architecture: lambda_.Architecture) -> list[str]:
    machine = _MACHINES[architecture.name]
    return [f"{tag}_{machine}" for tag in _GLIBC_TAGS]


@jsii.implements(ILocalBundling)
class PipBundler:
    """Local bundling: ``pip install --target`` for the Lambda platform, then the package's sources."""

    def __init__(self, package: str, requirements: Path | None, *, runtime: lambda_.Runtime = RUNTIME,
                 architecture: lambda_.Architecture = ARCHITECTURE, source_root: Path = PROJECT_ROOT,
                 no_deps_requirements: Path | None = None, locked: bool = False,
                 extra_packages: Sequence[str] = (), bytecode: bool = False) -> None:
        """``locked``: ``requirements`` is a lock file, installed with ``--require-hashes --no-deps``;
        ``extra_packages``: more directories of ``source_root`` copied in beside the package (staged extra sources);
        ``bytecode``: the bundle's modules compiled by the runtime's Python version (``infra.bytecode``)."""
        self.package = package
        self.extra_packages = tuple(extra_packages)
        self.requirements = requirements
        self.locked = locked
        self.no_deps_requirements = no_deps_requirements
        self.python_version = python_version(runtime)
        self.platforms = pip_platforms(architecture)
        self.source_root = source_root
        self.bytecode = bytecode

    def pip_command(self, output_dir: str, requirements: Path | None = None, no_deps: bool = False,
                    require_hashes: bool = False) -> list[str]:
        command = [sys.executable, "-m", "pip", "install", "-r", str(requirements or self.requirements),
                   "--target", output_dir] + (["--no-deps"] if no_deps else [])
        command += ["--require-hashes"] if require_hashes else []
        for platform in self.platforms:
            command += ["--platform", platform]
        # pip's download cache is left on, so repeated synths reuse the wheels.
        return command + ["--implementation", "cp", "--python-version", self.python_version,
                          "--only-binary=:all:", "--no-compile", "--disable-pip-version-check", "--quiet"]

    def try_bundle(self, output_dir: str, options: object = None) -> bool:
        if importlib.util.find_spec("pip") is None:
            return False  # no pip here: let CDK fall back to Docker bundling
        compiler = compiler_for(self.python_version) if self.bytecode else None
        if self.bytecode and compiler is None:
            if shutil.which(os.environ.get("CDK_DOCKER") or "docker"):
                return False  # Docker bundling compiles in the runtime's own image
            raise RuntimeError(
                f"bundling {self.package} with bytecode=True: its bytecode must be compiled by Python "
                f"{self.python_version}, the function's runtime, and neither python{self.python_version} (on PATH) "
                "nor Docker (which bundles in the runtime's image; CDK_DOCKER names another engine) is on this "
                "machine; install one, or leave bytecode off")
        installs = [(self.requirements, self.locked, self.locked), (self.no_deps_requirements, True, False)]
        for requirements, no_deps, require_hashes in installs:
            if requirements is None:
                continue
            result = subprocess.run(self.pip_command(output_dir, requirements, no_deps, require_hashes),
                                    capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                raise RuntimeError(
                    f"bundling {self.package}: pip could not install {requirements.name} for "
                    f"{'/'.join(self.platforms)} (Python {self.python_version}, binary wheels only):\n"
                    f"{(result.stderr or result.stdout).strip()[-3000:]}"
                )
        shutil.rmtree(Path(output_dir) / "bin", ignore_errors=True)  # console scripts for this machine
        forget_console_scripts(Path(output_dir))
        for unused in UNUSED_FILES:
            shutil.rmtree(Path(output_dir) / unused, ignore_errors=True)
        for directory in (self.package, *self.extra_packages):
            shutil.copytree(self.source_root / directory, Path(output_dir) / directory,
                            ignore=shutil.ignore_patterns(*_SKIPPED), dirs_exist_ok=True)
        if compiler is not None:
            compile_bundle(Path(output_dir), compiler, self.python_version, self.package)
        return True


def forget_console_scripts(target: Path) -> None:
    """Drop the ``bin/`` lines from the installed packages' ``RECORD`` files, as ``bin/`` itself is dropped.

    Their hashes are of scripts whose shebang names the interpreter that ran pip (``.venv/bin/python3`` under the
    CDK CLI, ``.venv/bin/python`` otherwise): kept, the bundle — and so its asset hash — would differ from one
    machine or virtualenv to the next with nothing changed, and every deploy would update the function.
    """
    for record in target.glob("*.dist-info/RECORD"):
        lines = record.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith("../../bin/")]
        if len(kept) != len(lines):
            record.write_text("".join(kept))


def stage_package(scope: Construct, package: str, source_root: Path = PROJECT_ROOT,
                  package_dir: Path | None = None, extra_sources: Sequence[str] = ()) -> Path:
    """Copy ``package/`` (no caches) to ``<outdir>/lambda-src/<package>/<package>``; return the directory above it.
    ``package_dir``: where the package's files are, when that directory has another name (the installed authorizer).
    ``extra_sources``: files of ``source_root`` (relative paths such as ``authorizer/mcp_headers.py``) staged at the
    same paths, each with the ``__init__.py`` of every package directory above it.

    That directory is the asset's source: it holds the package and nothing else of the project, so the asset is
    right even when bundling is skipped and CDK uses the source as it is (it applies no ``exclude`` then).
    """
    package_dir = package_dir or source_root / package
    if not (package_dir / "__init__.py").is_file():
        raise FileNotFoundError(f"{package_dir} is not a Python package")
    stage = Stage.of(scope)
    if stage is None:
        raise ValueError("bundling needs the construct to be inside a Stage (an App)")
    staging = Path(stage.outdir).resolve() / "lambda-src" / package
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(package_dir, staging / package, ignore=shutil.ignore_patterns(*_SKIPPED))
    for source in extra_sources:
        relative = Path(source)
        if relative.is_absolute() or ".." in relative.parts or len(relative.parts) < 2 or relative.parts[0] == package:
            raise ValueError(f"extra source {source!r} must be a file inside another package of the project, "
                             "as a relative path such as 'authorizer/mcp_headers.py'")
        if not (source_root / relative).is_file():
            raise FileNotFoundError(f"extra source {source_root / relative} is not a file")
        for depth in range(1, len(relative.parts)):
            init = Path(*relative.parts[:depth], "__init__.py")
            if (source_root / init).is_file() and not (staging / init).exists():
                (staging / init).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source_root / init, staging / init)
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source_root / relative, staging / relative)
    return staging


def extra_packages(extra_sources: Sequence[str]) -> list[str]:
    """The top-level directories ``extra_sources`` lie in: ``["authorizer"]`` for ``["authorizer/mcp_headers.py"]``."""
    return sorted({Path(source).parts[0] for source in extra_sources})


def package_code(scope: Construct, package: str, *, runtime: lambda_.Runtime = RUNTIME,
                 architecture: lambda_.Architecture = ARCHITECTURE, source_root: Path = PROJECT_ROOT,
                 tracing: bool = False, package_dir: Path | None = None,
                 extra_sources: Sequence[str] = (), bytecode: bool = False) -> lambda_.Code:
    """The Lambda code for ``package`` (a directory of ``source_root``) with its ``requirements.lock`` or else its
    ``requirements.txt``, if any, and, with ``tracing``, the X-Ray SDK; ``extra_sources``: see ``stage_package``;
    ``bytecode``: compiled by the runtime's Python version (``infra.bytecode``)."""
    staging = stage_package(scope, package, source_root, package_dir, extra_sources)
    extras = extra_packages(extra_sources)
    locked = (staging / package / LOCK_FILE).is_file()
    requirements = staging / package / (LOCK_FILE if locked else "requirements.txt")
    has_requirements = requirements.is_file()
    pip_options = "--no-deps --require-hashes " if locked else ""
    install = (f"pip install --no-cache-dir --no-compile {pip_options}-r {package}/{requirements.name} "
               "-t /asset-output && "
               if has_requirements else "")
    tracing_requirements = None
    if tracing:
        # Written into the staged source, where both the local bundler and the Docker fallback find it.
        tracing_requirements = staging / TRACING_REQUIREMENTS_FILE
        tracing_requirements.write_text(TRACING_REQUIREMENTS)
        install += (f"pip install --no-cache-dir --no-compile --no-deps -r {TRACING_REQUIREMENTS_FILE} "
                    "-t /asset-output && ")
    return lambda_.Code.from_asset(
        str(staging),
        # The bundle's hash, not the source's: it changes when pip resolves a new release of a dependency.
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            image=runtime.bundling_image,
            platform=architecture.docker_platform,
            command=["bash", "-c", f"{install}rm -rf {' '.join('/asset-output/' + u for u in UNUSED_FILES)} && "
                                   f"cp -r {' '.join([package, *extras])} /asset-output/"
                                   + (f" && {docker_command()}" if bytecode else "")],
            local=PipBundler(package, requirements if has_requirements else None, runtime=runtime,
                             architecture=architecture, source_root=staging,
                             no_deps_requirements=tracing_requirements, locked=locked,
                             extra_packages=extras, bytecode=bytecode),  # type: ignore[arg-type]  # jsii hands try_bundle the options struct positionally
        ),
    )
