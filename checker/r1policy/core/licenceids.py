"""Licence ids: SPDX ids where one exists (`MIT`, `Apache-2.0`), the Hub's own ids otherwise
(`llama3.1`, `llama3.3`), and `other:<license_name>` for a card that says `license: other`.

Only the ids r1policy needs are shipped (no registry download): the SPDX ids that the Hub's licence
list maps to, and the Hub's licence ids without an SPDX id (https://huggingface.co/docs/hub/repositories-licenses).
"""

from __future__ import annotations

from r1policy.core.lazyre import compile_on_use

# SPDX ids (https://spdx.org/licenses/) that Hub licence ids correspond to, in SPDX spelling.
SPDX_IDS = (
    "AFL-3.0", "AGPL-3.0-only", "Apache-2.0", "Artistic-2.0", "BSD-2-Clause", "BSD-3-Clause",
    "BSD-3-Clause-Clear", "BSL-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-NC-2.0",
    "CC-BY-NC-3.0", "CC-BY-NC-4.0", "CC-BY-NC-ND-3.0", "CC-BY-NC-ND-4.0", "CC-BY-NC-SA-2.0",
    "CC-BY-NC-SA-3.0", "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0",
    "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "ECL-2.0", "EPL-1.0", "EPL-2.0",
    "EUPL-1.1", "EUPL-1.2", "GPL-2.0-only", "GPL-3.0-only", "ISC", "LGPL-2.1-only", "LGPL-3.0-only",
    "LPPL-1.3c", "MIT", "MPL-2.0", "MS-PL", "NCSA", "ODbL-1.0", "ODC-By-1.0", "OFL-1.1", "OSL-3.0",
    "PDDL-1.0", "PostgreSQL", "Unlicense", "WTFPL", "Zlib", "etalab-2.0",
)  # fmt: skip
# Hub ids whose SPDX id is spelt differently (the others are the SPDX id in lower case).
_HUB_TO_SPDX = {
    "agpl-3.0": "AGPL-3.0-only",
    "gpl-2.0": "GPL-2.0-only",
    "gpl-3.0": "GPL-3.0-only",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-3.0": "LGPL-3.0-only",
    "odbl": "ODbL-1.0",
    "odc-by": "ODC-By-1.0",
    "pddl": "PDDL-1.0",
}
# Hub licence ids with no SPDX id.
HUB_ONLY_IDS = (
    "openrail", "openrail++", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "bsd", "c-uda", "cc", "gfdl", "gpl", "lgpl",
    "lgpl-lr", "h-research", "intel-research", "apple-ascl", "apple-amlr", "deepfloyd-if-license",
    "fair-noncommercial-research-license", "openmdw-1.0", "llama2", "llama3", "llama3.1", "llama3.2",
    "llama3.3", "llama4", "gemma",
)  # fmt: skip
_SPDX_BY_LOWER = {i.lower(): i for i in SPDX_IDS} | _HUB_TO_SPDX
_OTHER = compile_on_use(r"^other:(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)$")


def canonical(value: str) -> str | None:
    """The canonical id of a licence id as a config or manifest writes it, or None if it is neither an
    SPDX id, nor a Hub licence id, nor `other:<name>`."""
    text = value.strip()
    spdx = _SPDX_BY_LOWER.get(text.lower())
    if spdx is not None:
        return spdx
    if text.lower() in HUB_ONLY_IDS:
        return text.lower()
    match = _OTHER.match(text)
    if match:
        return f"other:{match.group('name').lower()}"
    return None


def from_card(license_value: object, license_name: object) -> tuple[str | None, str]:
    """(canonical id or None, what the card says) from a Hub card's `license` and `license_name`."""
    values = license_value if isinstance(license_value, list) else [license_value]
    if len(values) != 1 or not isinstance(values[0], str) or not values[0].strip():
        return None, f"license: {license_value!r}" if license_value is not None else "no license"
    text = values[0].strip()
    if text.lower() == "other":
        if isinstance(license_name, str) and license_name.strip():
            name = license_name.strip().lower()
            found = canonical(f"other:{name}")
            return found, f"license: other, license_name: {name}"
        return None, "license: other without a license_name"
    if text.lower() == "unknown":
        return None, "license: unknown"
    return canonical(text), f"license: {text}"


def is_spdx(licence: str) -> bool:
    return licence in SPDX_IDS
