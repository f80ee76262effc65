"""Regenerate policies/data/sagemaker-images.json from a checkout of aws/sagemaker-python-sdk.

Usage: python tools/sagemaker_images.py SDK_CHECKOUT COMMIT > policies/data/sagemaker-images.json

Reads the SDK's own image tables (image_uri_config/huggingface-llm.json and djl-lmi.json) and keeps, per
framework version, the repository, the full tag the SDK builds (`_format_tag`: tag prefix, processor,
Python version and container version joined by "-") and the registry account per region.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CONFIG_DIR = "sagemaker-core/src/sagemaker/core/image_uri_config"


def _framework(data: dict, tagged: bool) -> dict:
    scope = data.get("inference", data)
    versions = {}
    for version, spec in scope["versions"].items():
        if tagged:
            parts = [spec["tag_prefix"], "gpu", spec["py_versions"][0], spec["container_version"]["gpu"]]
            tag = "-".join(p for p in parts if p)
        else:
            tag = spec["tag_prefix"]
        versions[version] = {"repository": spec["repository"], "tag": tag, "registries": spec["registries"]}
    return {"version_aliases": scope.get("version_aliases", {}), "versions": versions}


def main() -> None:
    root, commit = Path(sys.argv[1]), sys.argv[2]
    llm = json.loads((root / CONFIG_DIR / "huggingface-llm.json").read_text())
    lmi = json.loads((root / CONFIG_DIR / "djl-lmi.json").read_text())
    out = {
        "_comment": "Image URIs that the SageMaker Python SDK's get_huggingface_llm_image_uri() and "
        "image_uris.retrieve() build, from the SDK's own image_uri_config tables.",
        "sources": [
            f"https://github.com/aws/sagemaker-python-sdk/blob/{commit}/{CONFIG_DIR}/huggingface-llm.json",
            f"https://github.com/aws/sagemaker-python-sdk/blob/{commit}/{CONFIG_DIR}/djl-lmi.json",
        ],
        "frameworks": {"huggingface-llm": _framework(llm, True), "djl-lmi": _framework(lmi, False)},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
