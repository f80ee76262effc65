"""CycloneDX 1.6 JSON for the judged models, written with cyclonedx-python-lib (imported lazily).

Per model: a `machine-learning-model` component (name, version = the pinned commit, purl
`pkg:huggingface/<org>/<name>@<commit>`, licences — SPDX ids as ids, others as names — the lineage as
`pedigree.ancestors`, parameter count / dtype / architecture / gate decision / findings / the scan
verdict the lock records as `properties`, an external reference to the Hub), each locked file as a
`file` sub-component with its SHA-256 from the lock, and the serving image as a `container` component
(its digest when pinned).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from r1policy.core import jsonsafe
from r1policy.core.errors import OutputError
from r1policy.core.licenceids import is_spdx

if TYPE_CHECKING:
    from r1policy.engine.bom import BomModel
    from r1policy.licences.lineage import Node
    from r1policy.project.lockfile import LockedFile

PREFIX = "r1policy:"


def render_bom(
    models: list[BomModel], decision: str, tool_version: str, verdicts: list[str] | None = None
) -> str:
    """The BOM text; `verdicts`: the run's findings, one line each (metadata properties)."""
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    bom = Bom()
    bom.metadata.properties.add(_prop("decision", decision))
    for number, line in enumerate(verdicts or [], start=1):
        bom.metadata.properties.add(_prop(f"finding:{number:04d}", line))
    gate = Component(
        type=ComponentType.APPLICATION, name="r1policy", version=tool_version, bom_ref="r1policy"
    )
    bom.metadata.component = gate
    judged = []
    for entry in models:
        component = _model_component(entry, decision)
        bom.components.add(component)
        judged.append(component)
        image = entry.deployment.image
        if image:
            container = _container(image)
            bom.components.add(container)
            bom.register_dependency(container, [component])
            judged.append(container)
    bom.register_dependency(gate, judged)
    # The library escapes every non-ASCII character; the file is UTF-8 JSON, readable as written.
    value = jsonsafe.loads(JsonV1Dot6(bom).output_as_string())
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def validate(text: str) -> None:
    """Validate against the official CycloneDX 1.6 JSON schema (the library's validator): the tests do
    it for every BOM shape r1policy writes; a run does not (it costs more than writing the BOM)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise OutputError(f"the CycloneDX BOM does not validate against CycloneDX 1.6: {error}")


def _prop(name: str, value: object) -> Any:
    from cyclonedx.model import Property

    return Property(name=PREFIX + name, value=str(value))


def _scan_verdict(entry: BomModel) -> str | None:
    """`r1policy scan`'s verdict on the locked files, as `scan --write-lock` recorded it in the lock."""
    if entry.locked is None:
        return None
    scan = entry.locked.scan
    if scan is None:
        return "not recorded (the lock entry was not written by `r1policy scan --write-lock`)"
    blocking = f": {', '.join(scan.blocking)}" if scan.blocking else ""
    return (
        f"{scan.decision}{blocking} (r1policy {scan.r1policy}, on the {len(entry.locked.files)} locked files)"
    )


def _model_component(entry: BomModel, decision: str) -> Any:
    from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, XsUri
    from cyclonedx.model.component import Component, ComponentType, Pedigree

    dep = entry.deployment
    model = dep.model
    name = entry.repo or model.uri
    component = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=name,
        version=entry.commit or None,
        bom_ref=f"model:{dep.name}:{model.uri}",
        purl=_purl(entry.repo, entry.commit),
    )
    node = entry.licence.node if entry.licence is not None else None
    if node is not None:
        component.licenses.update(_licences(sorted(node.effective())))
        ancestors = [_ancestor(p) for p in node.parents]
        if ancestors:
            component.pedigree = Pedigree(ancestors=ancestors)
    props = {
        "deployment": dep.name,
        "source": model.uri,
        "parameters": f"{model.parameters:.0f}" if model.parameters else None,
        "dtype": model.dtype,
        "architecture": entry.architecture,
        "gate-decision": decision,
        "lock-key": entry.lock_key,
        "scan-verdict": _scan_verdict(entry),
        "licence-chain": node.chain() if node is not None else None,
        "licence-problem": entry.licence.problem if entry.licence is not None and node is None else None,
        "findings": ", ".join(f"{rule} {status}" for rule, status in entry.findings) or "none",
    }
    for key, value in props.items():
        if value:
            component.properties.add(_prop(key, value))
    if entry.repo:
        url = f"https://huggingface.co/{entry.repo}" + (f"/tree/{entry.commit}" if entry.commit else "")
        component.external_references.add(
            ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION, url=XsUri(url), comment="Hugging Face Hub"
            )
        )
    if entry.locked is not None:
        for path, locked in sorted(entry.locked.files.items()):
            component.components.add(
                Component(
                    type=ComponentType.FILE,
                    name=path,
                    bom_ref=f"file:{dep.name}:{path}",
                    hashes=[HashType(alg=HashAlgorithm.SHA_256, content=locked.sha256)]
                    if locked.sha256 is not None
                    else [],
                    properties=_file_props(locked),
                )
            )
    return component


def _file_props(locked: LockedFile) -> list[Any]:
    """The file's size and, for a file locked by its parts (lock schema 2), the part digests."""
    props = [_prop("size", locked.size)]
    if locked.parts:
        props.append(_prop("sha256-parts", ",".join(digest for _, digest in locked.parts)))
    return props


def _ancestor(node: Node) -> Any:
    from cyclonedx.model.component import Component, ComponentType, Pedigree

    component = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=node.repo,
        version=node.commit or None,
        purl=_purl(node.repo, node.commit or None),
    )
    component.licenses.update(_licences([node.licence]))
    component.properties.add(_prop("licence-source", node.source))
    if node.relation:
        component.properties.add(_prop("relation", node.relation))
    if node.parents:
        component.pedigree = Pedigree(ancestors=[_ancestor(p) for p in node.parents])
    return component


def _licences(ids: list[str]) -> list[Any]:
    from cyclonedx.model.license import DisjunctiveLicense

    return [DisjunctiveLicense(id=i) if is_spdx(i) else DisjunctiveLicense(name=i) for i in ids]


def _purl(repo: str | None, commit: str | None) -> Any:
    if not repo:
        return None
    from packageurl import PackageURL

    namespace, _, name = repo.partition("/")
    return PackageURL(type="huggingface", namespace=namespace, name=name, version=commit or None)


def _container(image: str) -> Any:
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType

    from r1policy.facts.image import parse_image

    ref = parse_image(image)
    name = f"{ref.registry}/{ref.repository}"
    hashes = []
    if ref.digest and ref.digest.startswith("sha256:"):
        hashes.append(HashType(alg=HashAlgorithm.SHA_256, content=ref.digest.removeprefix("sha256:")))
    component = Component(
        type=ComponentType.CONTAINER,
        name=name,
        version=ref.digest or ref.tag or None,
        bom_ref=f"container:{image}",
        hashes=hashes,
    )
    component.properties.add(_prop("image", image))
    return component
