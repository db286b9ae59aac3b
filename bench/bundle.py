"""The authorizer's deployment bundle: the synthesized Lambda asset, unzipped and zipped.

``npx cdk synth`` (bundling on, as for ``cdk deploy``) writes a cloud assembly to a temporary directory; the
authorizer's function is the ``AWS::Lambda::Function`` whose ``Handler`` is ``authorizer.handler.handler``, and its
asset directory is named by the resource's ``aws:asset:path`` metadata (or ``<Code.S3Key hash>`` in
``<Stack>.assets.json``). The zipped size is what ``cdk deploy`` would upload (deflate, level 9, like CDK's zip).
An existing assembly can be measured instead with ``--assembly DIR``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from .coldstart import PROJECT_ROOT

HANDLER = "authorizer.handler.handler"
SYNTH_TIMEOUT_SECONDS = 600


class Skipped(Exception):
    """The measurement cannot run here; the message says why."""


def synthesize(outdir: Path) -> None:
    """``npx cdk synth`` with bundling into ``outdir``. The app command (``python3 app.py``) runs in the venv."""
    if shutil.which("npx") is None:
        raise Skipped("npx is not installed")
    if not (PROJECT_ROOT / "app.py").is_file() or not (PROJECT_ROOT / "cdk.json").is_file():
        raise Skipped("the CDK app (app.py, cdk.json) is not in this checkout")
    environment = dict(os.environ)
    venv_bin = PROJECT_ROOT / ".venv" / "bin"
    environment["PATH"] = f"{venv_bin}{os.pathsep}{environment.get('PATH', '')}"
    environment["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    try:
        result = subprocess.run(["npx", "cdk", "synth", "--quiet", "-o", str(outdir)], cwd=PROJECT_ROOT,
                                env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=SYNTH_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise Skipped(f"cdk synth took longer than {SYNTH_TIMEOUT_SECONDS} s") from None
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise Skipped(f"cdk synth failed: {' | '.join(last)[:400]}")


def authorizer_asset(assembly: Path) -> tuple[str, Path]:
    """The stack name and asset directory of the authorizer function in a cloud assembly."""
    for template_path in sorted(assembly.glob("*.template.json")):
        template = json.loads(template_path.read_text())
        for resource in template.get("Resources", {}).values():
            properties = resource.get("Properties", {})
            if resource.get("Type") != "AWS::Lambda::Function" or properties.get("Handler") != HANDLER:
                continue
            stack = template_path.name.removesuffix(".template.json")
            asset_path = resource.get("Metadata", {}).get("aws:asset:path")
            if asset_path is None:
                asset_path = _asset_from_manifest(assembly, stack, properties.get("Code", {}).get("S3Key", ""))
            directory = assembly / asset_path
            if not directory.is_dir():
                raise Skipped(f"the authorizer asset {asset_path} is not a directory in {assembly}")
            return stack, directory
    raise Skipped(f"no function with handler {HANDLER} in {assembly}")


def _asset_from_manifest(assembly: Path, stack: str, s3_key: Any) -> str:
    manifest = assembly / f"{stack}.assets.json"
    if not isinstance(s3_key, str) or not manifest.is_file():
        raise Skipped("the authorizer's code is not a file asset of this assembly")
    asset = json.loads(manifest.read_text()).get("files", {}).get(s3_key.removesuffix(".zip"))
    if asset is None:
        raise Skipped(f"asset {s3_key} is not in {manifest.name}")
    return asset["source"]["path"]


def measure_directory(directory: Path, top: int = 8) -> dict[str, Any]:
    files = [path for path in directory.rglob("*") if path.is_file()]
    unzipped = sum(path.stat().st_size for path in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(files):
            archive.write(path, path.relative_to(directory).as_posix())
    by_entry: dict[str, int] = {}
    for path in files:
        entry = path.relative_to(directory).parts[0]
        by_entry[entry] = by_entry.get(entry, 0) + path.stat().st_size
    largest = sorted(by_entry.items(), key=lambda item: -item[1])[:top]
    zipped = len(buffer.getvalue())
    return {"files": len(files), "unzipped_bytes": unzipped, "zipped_bytes": zipped,
            "unzipped_mb": round(unzipped / 1e6, 2), "zipped_mb": round(zipped / 1e6, 2),
            "bundled_dependencies": (directory / "jose").is_dir(),
            "largest_mb": {name: round(size / 1e6, 2) for name, size in largest}}


def measure_bundle(assembly: str | Path | None = None) -> dict[str, Any]:
    """Sizes of the authorizer asset, or ``{"skipped": reason}`` when it cannot be synthesized here."""
    try:
        if assembly is not None:
            stack, directory = authorizer_asset(Path(assembly))
            result = {"assembly": str(assembly), "stack": stack, **measure_directory(directory)}
        else:
            result = _synthesize_and_measure()
    except Skipped as reason:
        return {"skipped": str(reason)}
    if not result["bundled_dependencies"]:
        return {**result, "skipped": "the asset holds the package without its dependencies (bundling was skipped)"}
    return result


def _synthesize_and_measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        synthesize(Path(outdir))
        stack, directory = authorizer_asset(Path(outdir))
        return {"assembly": "npx cdk synth (bundling on)", "stack": stack, **measure_directory(directory)}
