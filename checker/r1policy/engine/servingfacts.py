"""Serving-stack facts for R1-EP-008 (known vulnerabilities) and R1-EP-009 (DLC support period).

Python decides which advisories of the store affect the image's framework version, drops those below
`vulnerability_threshold` and those an unexpired advisory waiver accepts, and hands Cedar the counts; the
message names every advisory with its fixed release (or that none exists).
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
from typing import Any

from r1policy.core.record import frozen_record
from r1policy.engine.factrecord import DeploymentFacts
from r1policy.engine.imagescans import ScanVerdict, judge_scan
from r1policy.engine.imagescans import default_names as scan_default_names
from r1policy.facts.advisories import Advisory, Store, severity_at_least, version_key
from r1policy.facts.image import parse_image
from r1policy.facts.serving import ServingImage, default_names, serving_image, support_period
from r1policy.project.config import Config, Waiver

VERSION_FACT = "serving.version"
SUPPORT_FACT = "serving.support"


@frozen_record
class OpenAdvisory:
    """An advisory that affects the serving image's version, and the first release that fixes it."""

    advisory: Advisory
    fixed: str | None

    def describe(self) -> str:
        aliases = ", ".join(a for a in self.advisory.aliases if a.startswith("CVE-"))
        named = f"{self.advisory.id}" + (f" ({aliases})" if aliases else "")
        fix = f"fixed in {self.fixed}" if self.fixed else "no fixed release exists"
        return f"{named}, {self.advisory.severity}: {fix}"


def apply_serving(
    item: DeploymentFacts,
    config: Config,
    store: Store,
    today: _dt.date,
    subject_names: tuple[str, ...],
    scans: dict[str, dict[str, Any]] | None = None,
) -> None:
    """`scans`: state-v1 `ecr_image_scans` (a live audit), whose findings add to the store's (imagescans)."""
    image = item.deployment.image
    names = item.names
    names.update(default_names())
    names.update(scan_default_names())
    names.update(advisory_store_date=store.date, vulnerability_threshold=config.vulnerability_threshold)
    if not image:
        item.unavailable[VERSION_FACT] = "the container image is not known, so its serving stack is unknown"
        item.unavailable[SUPPORT_FACT] = item.unavailable[VERSION_FACT]
        return
    found = serving_image(image)
    ref = parse_image(image)
    reviewed = ref.digest is not None and ref.digest in config.image_digests_reviewed
    _support(item, found, today)
    scan = judge_scan((scans or {}).get(image), config, today, subject_names)
    names.update(scan.names())
    if scan.waived:
        names["advisory_waiver"] = scan.waived[0][1]
    if reviewed:
        names.update(serving=f"reviewed image {ref.digest}")
        item.attrs["serving"] = _attrs(found, len(scan.open), len(scan.waived), item)
        return
    version = found.engine_version if found else None
    if (found is None or version is None) and (scan.open or (scan.read and scan.enhanced)):
        # the scan judges an image the store cannot: its findings fail, a clean enhanced scan passes
        names.update(serving=f"a server whose version r1policy cannot tell from the tag ({image})")
        item.attrs["serving"] = _attrs(found, len(scan.open), len(scan.waived), item)
        return
    if found is None or version is None:
        _version_unknown(item, found, image, scan)
        return
    matched = _matching(store, found.engine, version, config.vulnerability_threshold)
    open_, waived = _waive(matched, config, today, subject_names)
    names.update(
        serving=f"{_label(found)} {found.version}"
        + (f" (vLLM {version})" if found.framework == "lmi" else ""),
        serving_version=version,
        advisories="; ".join(a.describe() for a in open_),
        advisory_count=len(open_),
        fixed_version=_highest_fix(open_),
        waived_advisories="; ".join(
            f"{a.advisory.id} (owner {w.owner}, until {w.expires})" for a, w in waived
        ),
    )
    if waived:
        names["advisory_waiver"] = waived[0][1]
    if found.note:
        names["serving"] += f"; {found.note}"
    if scan.problem:
        names["serving"] += f"; {scan.problem}, so only the advisory store judged it"
    item.attrs["serving"] = _attrs(found, len(open_) + len(scan.open), len(waived) + len(scan.waived), item)


def _version_unknown(
    item: DeploymentFacts, found: ServingImage | None, image: str, scan: ScanVerdict
) -> None:
    what = (
        f"{found.framework.upper()} {found.version} ships a vLLM release r1policy does not know "
        "(policies/data/serving-images.json)"
        if found
        else f"r1policy cannot tell the serving framework and version of image {image} from its tag"
    )
    item.unavailable[VERSION_FACT] = (
        f"{what}"
        + (f", and {scan.problem}" if scan.problem else "")
        + (", and its basic ECR scan covers operating-system packages only" if scan.read else "")
        + ": use a version tag of a known server (TGI, vLLM, LMI), or pin the image by digest and "
        "list the digest in image_digests_reviewed after reviewing it"
    )
    item.attrs["serving"] = _attrs(found, 0, 0, item)


def _label(found: ServingImage) -> str:
    return {"tgi": "TGI", "vllm": "vLLM", "lmi": "LMI"}[found.framework]


def _attrs(found: ServingImage | None, open_count: int, waived: int, item: DeploymentFacts) -> dict[str, Any]:
    return {
        "framework": found.framework if found else "reviewed",
        "version": found.version if found else "",
        "open_advisories": open_count,
        "waived_advisories": waived,
        "dlc": bool(found and found.dlc),
        "support_ended": bool(item.names.get("_support_ended")),
    }


# (package, version, threshold) -> the open advisories, for the store of the run (`_MATCHED_IN`):
# deployments share a few serving images, and each is matched against the store once.
_MATCHED: dict[tuple[str, str, str], tuple[OpenAdvisory, ...]] = {}
_MATCHED_IN: list[Store] = []


def _matching(store: Store, package: str, version: str, threshold: str) -> list[OpenAdvisory]:
    if not _MATCHED_IN or _MATCHED_IN[0] is not store:
        _MATCHED.clear()
        _MATCHED_IN[:] = [store]
    key = (package, version, threshold)
    hit = _MATCHED.get(key)
    if hit is None:
        hit = _MATCHED[key] = tuple(_matching_uncached(store, package, version, threshold))
    return list(hit)


def _matching_uncached(store: Store, package: str, version: str, threshold: str) -> list[OpenAdvisory]:
    out = []
    for adv in store.advisories:
        if adv.record.get("withdrawn"):
            continue
        hit, fixed = adv.affected(package, version)
        if hit and severity_at_least(adv.severity, threshold):
            out.append(OpenAdvisory(adv, fixed))
    return out


def _waive(
    matched: list[OpenAdvisory], config: Config, today: _dt.date, subject_names: tuple[str, ...]
) -> tuple[list[OpenAdvisory], list[tuple[OpenAdvisory, Waiver]]]:
    open_: list[OpenAdvisory] = []
    waived: list[tuple[OpenAdvisory, Waiver]] = []
    for item in matched:
        ids = {item.advisory.id, *item.advisory.aliases}
        waiver = next(
            (
                w
                for w in config.waivers
                if w.advisory in ids
                and w.expires >= today
                and fnmatch.fnmatchcase("R1-EP-008", w.rule)
                and any(fnmatch.fnmatchcase(n, w.subject) for n in subject_names)
            ),
            None,
        )
        if waiver is None:
            open_.append(item)
        else:
            waived.append((item, waiver))
    return open_, waived


def _highest_fix(open_: list[OpenAdvisory]) -> str:
    fixes = [a.fixed for a in open_ if a.fixed]
    return max(fixes, key=version_key(fixes)) if fixes else ""


def _support(item: DeploymentFacts, found: ServingImage | None, today: _dt.date) -> None:
    image = item.deployment.image or ""
    if found is None or not found.dlc:
        from r1policy.facts.serving import is_dlc

        if not is_dlc(parse_image(image)):
            item.not_applicable[SUPPORT_FACT] = f"image {image} is not an AWS Deep Learning Container"
            return
    period = support_period(found.base) if found and found.base else None
    if period is None:
        item.unavailable[SUPPORT_FACT] = (
            f"the support period of Deep Learning Container {image} is not in r1policy's table "
            "(policies/data/dlc-support.json, from the AWS DLC framework support policy)"
        )
        return
    assert found is not None and found.base is not None
    end = _dt.date.fromisoformat(period["end_of_patch"])
    item.names.update(
        support_end=period["end_of_patch"],
        support_base=f"{found.base[0]} {found.base[1]}",
        _support_ended=end < today,
    )
