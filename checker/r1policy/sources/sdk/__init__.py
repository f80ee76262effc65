"""SageMaker Python SDK code (`.py` files and Jupyter notebooks) → deployments, read as a syntax tree and
never executed or imported (docs/inputs/sagemaker-sdk.md lists what is resolved and what is `error`).

`load_sdk_python(path, text)` and `load_notebook(path, text)` return `Loaded`, or None when the code
neither imports `sagemaker` nor calls boto3's `create_model` / `create_endpoint_config` /
`create_endpoint` (not a deployment). Code that does not parse is an input error (exit 2) naming the
file and line (notebooks: the cell and the line in it).
"""

from __future__ import annotations

import ast
import dataclasses
import re

from r1policy.core.errors import InputError, Position
from r1policy.core.model import (
    FIELD_MODEL,
    FIELD_REPO,
    FIELD_REVISION,
    FIELD_S3_URI,
    Deployment,
    Loaded,
    ModelSource,
    SourceKind,
)
from r1policy.sources.cloudformation.shapes import ApiBridge
from r1policy.sources.cloudformation.values import Unknown
from r1policy.sources.sdk.program import Walker
from r1policy.sources.sdk.shapes import JumpStart, ShapeBuilder
from r1policy.sources.sdk.values import Source

# A cheap first look before parsing: code that mentions neither is not a deployment.
_MENTIONS = re.compile(r"sagemaker|create_model|create_endpoint")


def might_deploy(text: str) -> bool:
    return _MENTIONS.search(text) is not None


def load_sdk_python(path: str, text: str) -> Loaded | None:
    if not might_deploy(text):
        return None
    walker = Walker()
    walker.run(_parse(text, path, None), Source(path, text))
    return _finish(walker, path)


def load_notebook(path: str, text: str) -> Loaded | None:
    from r1policy.sources.sdk.notebook import code_cells

    cells = code_cells(path, text)
    if not any(might_deploy(source) for _, source in cells):
        return None
    walker = Walker()
    for number, source in cells:
        walker.run(_parse(source, path, number), Source(path, source, number))
    return _finish(walker, path)


def _parse(text: str, path: str, cell: int | None) -> ast.Module:
    def where(line: int | None, column: int | None) -> tuple[Position, str]:
        if cell is None:
            return Position(path, line, column), ""
        return Position(path), f"cell {cell}, line {line}: "

    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    try:
        tree = compile(text, path, "exec", flags=flags, dont_inherit=True)
    except SyntaxError as exc:
        position, prefix = where(exc.lineno, exc.offset)
        raise InputError(position, f"{prefix}Python syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError):
        position, prefix = where(None, None)
        raise InputError(position, f"{prefix}the code is nested too deeply to be read") from None
    except ValueError as exc:  # NUL bytes
        position, prefix = where(None, None)
        raise InputError(position, f"{prefix}not Python source: {exc}") from None
    assert isinstance(tree, ast.Module)
    return tree


def _finish(walker: Walker, path: str) -> Loaded | None:
    program = walker.program
    if not program.uses_sagemaker and not program.requests:
        return None
    loaded = Loaded()
    builder = ShapeBuilder(program)
    builder.requests()
    builder.deploys()
    if not builder.shapes:
        loaded.notes.append(
            f"{path}: SageMaker SDK code without a deployment (no deploy() or create_endpoint): "
            "nothing to judge"
        )
        return loaded
    bridge = ApiBridge(path)
    for shape in builder.shapes:
        name = shape.body.get(f"{shape.kind}Name")
        if name is None or "__unknown__" in shape.body:
            why = name.why if isinstance(name, Unknown) else f"{shape.kind}Name is missing"
            raise InputError(
                Position(shape.origin.path, shape.origin.line, shape.origin.column),
                f"the {shape.kind} request cannot be read: {why}",
            )
        bridge.add(shape.kind, shape.key, shape.body, shape.locate)
    for dep, involved in bridge.convert():
        js = next((builder.jumpstart[k] for k in sorted(involved) if k in builder.jumpstart), None)
        loaded.append(_jumpstart(dep, js) if js is not None else dep)
    return loaded


def _jumpstart(dep: Deployment, js: JumpStart) -> Deployment:
    """The model of a JumpStart deployment is the JumpStart model id at its model_version."""
    model_id = js.model_id if isinstance(js.model_id, str) else None
    version = js.version if isinstance(js.version, str) else None
    model = ModelSource(kind=SourceKind.JUMPSTART, repo=model_id, revision=version)
    locations = {
        **dep.locations,
        FIELD_MODEL: js.model_id_at.location(),
        FIELD_REPO: js.model_id_at.location(),
    }
    locations[FIELD_REVISION] = js.version_at.location()
    locations.pop(FIELD_S3_URI, None)
    unknown = {
        k: v
        for k, v in dep.unknown.items()
        if k not in (FIELD_MODEL, FIELD_REPO, FIELD_REVISION, FIELD_S3_URI)
    }
    if isinstance(js.model_id, Unknown):
        unknown[FIELD_MODEL] = unknown[FIELD_REPO] = js.model_id.why
    elif model_id is None:
        unknown[FIELD_MODEL] = unknown[FIELD_REPO] = f"{js.model_id_at}: JumpStartModel without model_id"
    if isinstance(js.version, Unknown):
        unknown[FIELD_REVISION] = js.version.why
    return dataclasses.replace(dep, model=model, locations=locations, unknown=unknown)
