"""A function's code from a CDK cloud assembly: the stack's template and asset manifest, and the directory
(or extracted zip) a ``Code`` property points at.

``manifest.json`` (when present) names the stack's template and asset manifest, else ``<Stack>.template.json`` and
``<Stack>.assets.json`` are used; a function's ``Code.S3Key`` is ``<asset hash>.zip``.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.cloudformation.intrinsics import IntrinsicResolver, TemplateError, Unresolvable

_extracted_dirs: list[str] = []


@atexit.register
def _remove_extracted_dirs() -> None:
    for directory in _extracted_dirs:
        shutil.rmtree(directory, ignore_errors=True)


def _temporary_code_dir(prefix: str) -> Path:
    directory = tempfile.mkdtemp(prefix=f"local-lambda-{prefix}-")
    _extracted_dirs.append(directory)
    return Path(directory)


def stack_files(assembly_dir: Path, stack_name: str) -> tuple[Path, Path | None]:
    """The template and asset manifest of ``stack_name`` in the assembly."""
    manifest_path = assembly_dir / "manifest.json"
    known: list[str] = []
    if manifest_path.is_file():
        artifacts = json.loads(manifest_path.read_text()).get("artifacts", {})
        for artifact_id, artifact in artifacts.items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            properties = artifact.get("properties", {})
            names = {artifact_id, properties.get("stackName"), artifact.get("displayName")}
            known.append(artifact_id)
            if stack_name not in names:
                continue
            template = assembly_dir / properties.get("templateFile", f"{artifact_id}.template.json")
            assets = None
            for dependency in artifact.get("dependencies", []):
                dependency_artifact = artifacts.get(dependency, {})
                if dependency_artifact.get("type") == "cdk:asset-manifest":
                    assets = assembly_dir / dependency_artifact.get("properties", {}).get("file", "")
            return template, assets
    template = assembly_dir / f"{stack_name}.template.json"
    if not template.is_file():
        available = ", ".join(sorted(known)) or ", ".join(
            sorted(p.name.removesuffix(".template.json") for p in assembly_dir.glob("*.template.json"))
        )
        raise TemplateError(f"stack {stack_name!r} not found in {assembly_dir} (stacks there: {available or 'none'})")
    assets = assembly_dir / f"{stack_name}.assets.json"
    return template, assets if assets.is_file() else None


def function_code_dir(
    assembly_dir: Path,
    assets: Mapping[str, Any],
    resolver: IntrinsicResolver,
    logical_id: str,
    resource: Mapping[str, Any],
) -> tuple[Path | None, str | None]:
    """(the code directory of function ``logical_id``, None) or (None, why it cannot run locally).

    ``assets``: the ``files`` of the stack's asset manifest. An inline ``ZipFile`` becomes ``index.py`` in a
    temporary directory; a zip asset is extracted to one (both removed at exit).
    """
    properties = resource.get("Properties", {}) or {}
    code = properties.get("Code") or {}
    if "ZipFile" in code:
        directory = _temporary_code_dir(logical_id)
        (directory / "index.py").write_text(resolver.resolve_string(code["ZipFile"]))
        return directory, None
    if "ImageUri" in code:
        return None, "container image functions cannot run locally"
    source: Path | None = None
    try:
        key = resolver.resolve_string(code.get("S3Key", ""))
    except Unresolvable as error:
        key, problem = "", str(error)
    else:
        problem = f"Code.S3Key {key!r} is not an asset of this assembly"
    asset_hash = key.rsplit("/", 1)[-1].split(".", 1)[0]
    entry = assets.get(asset_hash)
    if entry is not None:
        source = assembly_dir / entry.get("source", {}).get("path", "")
    else:
        metadata_path = (resource.get("Metadata") or {}).get("aws:asset:path")
        if metadata_path:
            source = assembly_dir / metadata_path
    if source is None:
        return None, problem
    if source.is_dir():
        return source.resolve(), None
    if source.is_file() and zipfile.is_zipfile(source):
        directory = _temporary_code_dir(logical_id)
        with zipfile.ZipFile(source) as archive:
            archive.extractall(directory)
        return directory, None
    return None, f"asset {source} does not exist"
