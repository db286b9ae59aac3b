"""Cold start: importing and configuring ``authorizer.handler`` in a fresh process, against its dependencies alone.

Each run is a fresh ``python -c`` child whose stdout and stderr are first wrapped as Lambda's runtime wraps them
(``lambda_stdout.CHILD_PRELUDE``: every write flushed). It times one import with ``perf_counter`` (interpreter
start-up is the same for both and left out) and reports its peak RSS (``VmHWM``: ``getrusage``'s ``maxrss`` of a
child also counts the parent's pages that ``fork`` copied before ``exec``). The two children alternate, after one
untimed run of each (bytecode compilation), and the medians of ``runs`` are compared:

- ``dependencies``: the modules of the three runtime dependencies the handler imports at cold start — python-jose's
  ``jwk`` (which loads ``cryptography``), ``requests``, and Powertools' ``Logger`` and ``Metrics``;
- ``handler``: ``import authorizer.handler`` with ``AUTH_ISSUERS`` pointing at the loopback issuer, which also
  validates the configuration, builds the verifier and prefetches the JWKS over HTTP, as in Lambda. The prefetch
  waits on the issuer: the handler reports how long (``PREFETCH_MS``), and the target compares import and
  configuration without that wait; the ratio with it is reported too.

Both pairs run twice: **with bytecode** (the checkout's and the venv's ``__pycache__``, written by one untimed run
of each), and **without**, as Lambda runs the bundle today: ``infra/bundling.py`` installs with ``pip --no-compile``
and skips ``__pycache__``, and Lambda's ``/var/task`` is read-only, so every cold start compiles each module it
imports from the bundle (the runtime's own standard library comes compiled). The bytecode-free children import from
a copy of the authorizer's sources and of the installed files of the dependencies the lock names, without
bytecode, and write none (``PYTHONDONTWRITEBYTECODE``).

One more child runs with ``-X importtime`` to show where the handler's own time goes. Whether the rest of the
machine was idle during the timed runs is recorded (``idle``); a busy run is reported, not judged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from .idle import IdleWatch
from .lambda_stdout import CHILD_PRELUDE
from .scenario import BenchIssuer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEPENDENCY_IMPORTS = ("from jose import jwk", "import requests", "from aws_lambda_powertools import Logger",
                      "from aws_lambda_powertools.metrics import Metrics")
HANDLER_IMPORTS = ("import authorizer.handler",)
_MARK = "BENCH-COLDSTART "
_CHILD = CHILD_PRELUDE + """
import json, time
began = time.perf_counter()
{imports}
elapsed = time.perf_counter() - began
try:  # the peak RSS of this process image: getrusage's maxrss also counts the parent's pages copied by fork
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    import resource
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
prefetch_ms = getattr(sys.modules.get("authorizer.handler"), "PREFETCH_MS", 0.0)
sys.__stdout__.write({mark!r} + json.dumps({{"seconds": elapsed, "peak_kb": peak_kb, "prefetch_ms": prefetch_ms}}) + "\\n")
"""


def _child_environment(extra: dict[str, str], root: Path = PROJECT_ROOT, bytecode: bool = True) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("AUTH_", "POWERTOOLS_", "PYTHON")) and k != "LAMBDA_TASK_ROOT"}
    environment.update(extra)
    environment["PYTHONPATH"] = str(root)
    environment["PYTHONDONTWRITEBYTECODE"] = "0" if bytecode else "1"
    return environment


_LOCKED = re.compile(r"^([A-Za-z0-9_.\-]+==[^\s\\;]+(?:[ \t]*;[^\\\n]*)?)", re.MULTILINE)
LOCK = PROJECT_ROOT / "authorizer" / "requirements.lock"


def bytecode_free_tree(destination: Path, lock: Path = LOCK) -> Path:
    """What the authorizer's bundle holds, without bytecode: its sources, and the installed files (this venv's) of
    every distribution its lock names for this interpreter. Returns ``destination``, to put first on ``PYTHONPATH``.
    A distribution the lock names for this interpreter that is not installed stops the bench: timed without it, the
    child would import it compiled from elsewhere, or not at all."""
    for line in _LOCKED.findall(lock.read_text()):
        requirement = Requirement(line.strip())
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # locked for another platform or Python only (a backport): not imported here either
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise RuntimeError(f"{lock.name} names {requirement.name}, which this venv lacks: run make setup") from None
        if distribution.files is None:
            raise RuntimeError(f"{requirement.name} is installed without a RECORD of its files: reinstall it")
        for file in distribution.files:
            if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue  # console scripts outside site-packages; bytecode
            target = destination / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(str(distribution.locate_file(file)), target)
    shutil.copytree(PROJECT_ROOT / "authorizer", destination / "authorizer",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return destination


def run_child(imports: tuple[str, ...], environment: dict[str, str], *flags: str,
              cwd: Path = PROJECT_ROOT) -> dict[str, Any]:
    """One fresh interpreter: seconds spent in ``imports``, peak RSS, and the whole process's wall time."""
    import time

    code = _CHILD.format(imports="\n".join(imports), mark=_MARK)
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, *flags, "-c", code], cwd=cwd, env=environment,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = child.stdout.read(), child.stderr.read()  # type: ignore[union-attr]
    returncode = child.wait()
    wall = time.perf_counter() - started
    marked = [line for line in stdout.splitlines() if line.startswith(_MARK)]
    if returncode != 0 or not marked:
        raise RuntimeError(f"cold-start child failed ({returncode}): {(stderr or stdout).strip()[-1500:]}")
    reported = json.loads(marked[-1][len(_MARK):])
    return {"import_s": reported["seconds"], "prefetch_s": reported["prefetch_ms"] / 1000, "wall_s": wall,
            "max_rss_kb": reported["peak_kb"], "stderr": stderr}


def importtime_breakdown(stderr: str, top: int = 12) -> dict[str, Any]:
    """``-X importtime`` lines → the slowest modules by self time, and the total of the authorizer's own."""
    modules: list[dict[str, Any]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[len("import time:"):].split("|"))
        modules.append({"module": name.strip(), "self_ms": int(self_us) / 1000,
                        "cumulative_ms": int(cumulative_us) / 1000})
    ours = [m for m in modules if m["module"].startswith("authorizer")]
    return {
        "authorizer_self_ms": round(sum(m["self_ms"] for m in ours), 2),
        "authorizer_modules": sorted(ours, key=lambda m: -m["self_ms"]),
        "slowest_self": sorted(modules, key=lambda m: -m["self_ms"])[:top],
    }


def _medians(measured: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "import_ms_median": round(statistics.median(r["import_s"] for r in measured) * 1000, 1),
        # The JWKS prefetch waits on the issuer (here a loopback server, in Lambda the IdP over the network):
        # I/O, not import or configuration, so the target leaves it out; it is reported beside.
        "prefetch_ms_median": round(statistics.median(r["prefetch_s"] for r in measured) * 1000, 1),
        "import_without_prefetch_ms_median": round(
            statistics.median(r["import_s"] - r["prefetch_s"] for r in measured) * 1000, 1),
        "import_ms_min": round(min(r["import_s"] for r in measured) * 1000, 1),
        "process_wall_ms_median": round(statistics.median(r["wall_s"] for r in measured) * 1000, 1),
        "peak_rss_mb_median": round(statistics.median(r["max_rss_kb"] for r in measured) / 1024, 1),
    }


def _ratios(dependencies: dict[str, Any], handler: dict[str, Any]) -> dict[str, Any]:
    return {"ratio": round(handler["import_without_prefetch_ms_median"] / dependencies["import_ms_median"], 3),
            "ratio_with_prefetch": round(handler["import_ms_median"] / dependencies["import_ms_median"], 3),
            "handler_over_dependencies_ms": round(handler["import_ms_median"] - dependencies["import_ms_median"], 1)}


def measure_cold_start(issuer: BenchIssuer, *, runs: int = 25) -> dict[str, Any]:
    """The judged ratio is the bytecode-free one (``without_bytecode``): what Lambda runs today. The pair with
    bytecode is reported beside it: what shipping bytecode compiled by the runtime's Python would give."""
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as scratch:
        bundle = bytecode_free_tree(Path(scratch))
        children = {
            "dependencies": (DEPENDENCY_IMPORTS, _child_environment({}), PROJECT_ROOT),
            "handler": (HANDLER_IMPORTS, _child_environment(issuer.environment()), PROJECT_ROOT),
            "dependencies_without_bytecode": (DEPENDENCY_IMPORTS, _child_environment({}, bundle, False), bundle),
            "handler_without_bytecode": (HANDLER_IMPORTS, _child_environment(issuer.environment(), bundle, False),
                                         bundle),
        }
        for imports, environment, cwd in children.values():
            run_child(imports, environment, cwd=cwd)  # untimed: writes the checkout's bytecode (the others write none)
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in children}
        with IdleWatch() as idle:  # the children are reaped before the last sample: their CPU time counts as ours
            for _ in range(runs):
                for name, (imports, environment, cwd) in children.items():
                    results[name].append(run_child(imports, environment, cwd=cwd))
    summary: dict[str, Any] = {"runs": runs, "dependency_imports": list(DEPENDENCY_IMPORTS),
                               "handler_imports": list(HANDLER_IMPORTS), "idle": idle.verdict}
    for name, measured in results.items():
        summary[name] = _medians(measured)
    summary["with_bytecode"] = _ratios(summary["dependencies"], summary["handler"])
    summary["without_bytecode"] = _ratios(summary["dependencies_without_bytecode"],
                                          summary["handler_without_bytecode"])
    summary.update(summary["without_bytecode"])  # the judged ratio: as Lambda runs the bundle
    profiled = run_child(HANDLER_IMPORTS, _child_environment(issuer.environment()), "-X", "importtime")
    summary["importtime"] = importtime_breakdown(profiled["stderr"])
    return summary
