"""ECR image scan findings of the serving images in the account's own private registry (R1-EP-008).

For every container image of the audited SageMaker models that lives in the model's own account's
private ECR registry (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag][@digest]`), one
`ecr:DescribeImageScanFindings` listing (all pages) per distinct image per run: by digest when the image
is pinned by one or an endpoint reports the digest it resolved the image to (`DeployedImages`), else by
tag. Basic findings (`findings`) and enhanced (Amazon Inspector) findings (`enhancedFindings`) are kept
as `{"id", "severity", "package"}`; enhanced findings whose status is `CLOSED` are dropped (fixed).
Images in other accounts' registries (the AWS Deep Learning Container accounts, public registries) are
not asked: r1policy cannot read another account's scans. A failed read (no scan, scan not complete,
repository or image not found, AccessDenied) is recorded as `error` on the image; what that means for
the rule is decided in engine/servingfacts.py.

State-v1 `ecr_image_scans`: image reference as the model names it -> that record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from r1policy.aws.errors import CALL_ERRORS, classify
from r1policy.aws.session import AccountSession

_PRIVATE_ECR = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repo>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_DONE = frozenset({"COMPLETE", "ACTIVE"})  # basic scanning says COMPLETE, enhanced ACTIVE


def own_ecr_images(
    models: Iterable[dict[str, Any]], endpoints: Iterable[dict[str, Any]], account: str
) -> dict[str, dict[str, Any]]:
    """image reference -> {"registry_id", "region", "repository", "image_id"} for the images of these
    models in `account`'s private ECR; the digest an endpoint resolved a tag to is preferred."""
    resolved: dict[str, str] = {}
    for endpoint in endpoints:
        for variant in endpoint.get("ProductionVariants") or []:
            for deployed in variant.get("DeployedImages") or []:
                found = _PRIVATE_ECR.match(str(deployed.get("ResolvedImage") or ""))
                if found and found["digest"] and deployed.get("SpecifiedImage"):
                    resolved[str(deployed["SpecifiedImage"])] = found["digest"]
    out: dict[str, dict[str, Any]] = {}
    for image in _images(models):
        found = _PRIVATE_ECR.match(image)
        if found is None or found["account"] != account or not (found["tag"] or found["digest"]):
            continue
        digest = found["digest"] or resolved.get(image)
        out[image] = {
            "registry_id": found["account"],
            "region": found["region"],
            "repository": found["repo"],
            "image_id": {"imageDigest": digest} if digest else {"imageTag": found["tag"]},
        }
    return out


def _images(models: Iterable[dict[str, Any]]) -> Iterator[str]:
    for model in models:
        containers = [model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])]
        for container in containers:
            if isinstance(container, dict) and isinstance(container.get("Image"), str):
                yield container["Image"]


def read_scans(account: AccountSession, wanted: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One DescribeImageScanFindings listing per distinct (registry, region, repository, image id)."""
    done: dict[str, dict[str, Any]] = {}
    out: dict[str, dict[str, Any]] = {}
    for image, where in sorted(wanted.items()):
        key = repr(sorted((k, str(v)) for k, v in where.items()))
        if key not in done:
            done[key] = {**where, **_scan(account, where)}
        out[image] = done[key]
    return out


def _scan(account: AccountSession, where: dict[str, Any]) -> dict[str, Any]:
    client = account.client("ecr", where["region"])
    findings: list[dict[str, str]] = []
    status, scan_type = "", "BASIC"
    pages = client.get_paginator("describe_image_scan_findings").paginate(
        registryId=where["registry_id"],
        repositoryName=where["repository"],
        imageId=where["image_id"],
        PaginationConfig={"PageSize": 1000},
    )
    try:
        for page in pages:
            status = str((page.get("imageScanStatus") or {}).get("status") or "")
            body = page.get("imageScanFindings") or {}
            findings.extend(_basic(body.get("findings") or []))
            enhanced = body.get("enhancedFindings") or []
            if enhanced:
                scan_type = "ENHANCED"
            findings.extend(_enhanced(enhanced))
    except CALL_ERRORS as exc:
        return {"error": classify(exc)}
    if status not in _DONE:
        return {"error": f"the image scan is not complete (status {status or 'missing'})", "status": status}
    if status == "ACTIVE":
        scan_type = "ENHANCED"
    return {"status": status, "scan_type": scan_type, "findings": findings}


def _basic(items: list[dict[str, Any]]) -> Iterator[dict[str, str]]:
    for item in items:
        attrs = {a.get("key"): a.get("value") for a in item.get("attributes") or [] if isinstance(a, dict)}
        package = " ".join(str(attrs[k]) for k in ("package_name", "package_version") if attrs.get(k))
        yield {
            "id": str(item.get("name") or "(unnamed finding)"),
            "severity": str(item.get("severity") or "UNDEFINED"),
            "package": package,
        }


def _enhanced(items: list[dict[str, Any]]) -> Iterator[dict[str, str]]:
    for item in items:
        if str(item.get("status") or "").upper() == "CLOSED":
            continue
        details = item.get("packageVulnerabilityDetails") or {}
        packages = ", ".join(
            " ".join(str(p[k]) for k in ("name", "version") if p.get(k))
            for p in details.get("vulnerablePackages") or []
            if isinstance(p, dict)
        )
        yield {
            "id": str(details.get("vulnerabilityId") or item.get("title") or "(unnamed finding)"),
            "severity": str(item.get("severity") or "UNTRIAGED"),
            "package": packages,
        }
