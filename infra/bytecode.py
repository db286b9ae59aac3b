"""Bytecode for a Lambda bundle, compiled by the function runtime's own Python version (the ``bytecode`` option).

Bundles hold sources only, by default, and Lambda's ``/var/task`` is read-only: every cold start compiles each module
it imports from the bundle, most of an authorizer's import time (docs/performance.md, "Cold start"). With
``bytecode=True`` the bundler compiles them once, at synthesis:

- by an interpreter of **exactly the runtime's minor version** (``python3.14`` for ``Runtime.PYTHON_3_14``):
  bytecode is specific to one, and Python ignores a ``cpython-313`` file on 3.14. Local bundling uses the one
  running the synthesis if it is that version, else ``python3.X`` on ``PATH``; without one, CDK's Docker bundling,
  in the runtime's own image, compiles instead; without either, synthesis stops, saying so;
- as ``unchecked-hash`` files: no timestamp in them (the CDK CLI zips assets with a fixed mtime, so a timestamp
  file would look stale in Lambda), and never checked against their source (the bundle cannot change under them),
  so Python loads them without reading the source twice; every module is compiled afresh (``-f``), whatever
  bytecode an install left beside it, and without optimization, whatever the environment says (``-o 0``, and no
  ``PYTHON*`` variable of this machine reaches the compiler: ``PYTHONPYCACHEPREFIX`` would put the files
  elsewhere);
- recording the paths the code will have in Lambda (``/var/task/...``), not this machine's build directory, and with
  a fixed hash seed: the same lock and the same Python version give the same bundle, so the asset hash is stable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

#: Where Lambda puts a function's code: what the compiled files record as their sources' paths.
TASK_ROOT = "/var/task"


def compileall_arguments(target: str) -> list[str]:
    """``python -m compileall``'s arguments for the bundle in ``target``."""
    return ["-m", "compileall", "-q", "-f", "-o", "0", "-j", "0", "--invalidation-mode", "unchecked-hash",
            "-s", target, "-p", TASK_ROOT, target]


def docker_command(target: str = "/asset-output") -> str:
    """The same compilation as a shell step of Docker bundling, by the runtime image's ``python``."""
    return "PYTHONHASHSEED=0 python " + " ".join(compileall_arguments(target))


def compiler_for(version: str) -> str | None:
    """An interpreter of exactly ``version`` (``"3.14"``): this one, or ``python3.14`` on ``PATH`` if it runs and
    is that version (a pyenv shim for a version not selected is on ``PATH`` and does not run)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    return found if found is not None and runs_as(found, version) else None


def runs_as(interpreter: str, version: str) -> bool:
    """Whether ``interpreter`` runs, and is Python ``version`` (``"3.14"``)."""
    try:
        reported = subprocess.run([interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return reported.returncode == 0 and reported.stdout.strip() == version


def compile_bundle(target: Path, compiler: str, version: str, package: str) -> None:
    """Compile every module of ``package``'s bundle in ``target`` with ``compiler`` (Python ``version``); a module
    that does not compile, or one left without its compiled file, stops synthesis saying which."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    result = subprocess.run([compiler, *compileall_arguments(str(target))], capture_output=True, text=True,
                            env={**environment, "PYTHONHASHSEED": "0"}, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"bytecode=True: Python {version} ({compiler}) could not compile {package}'s bundle:\n"
                           f"{(result.stdout + result.stderr).strip()[-3000:]}")
    tag = f"cpython-{version.replace('.', '')}"
    missing = [source.relative_to(target).as_posix() for source in sorted(target.rglob("*.py"))
               if not (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").is_file()]
    if missing:
        raise RuntimeError(f"bytecode=True: {len(missing)} module(s) of {package}'s bundle were left without "
                           f"{tag} bytecode, {', '.join(missing[:5])} among them")
