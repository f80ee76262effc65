"""Golden reports: what `check` and `scan` say today, recorded so that speed work cannot change a finding.

Each case is a command line run in a folder; its report (JSON, or another text format) is stored under
tests/golden/ and tests/test_golden.py checks that today's output parses to the same document. Reports
carry no timing fields (`scan` prints its timing on stderr only). Regenerate deliberately, after a change
that is meant to alter findings, with:

    .venv/bin/python -m tests.golden.cases --write
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
BASE = ROOT / "policies" / "cases-base.yaml"

# The variations of bench/bench_check.py: instance types and model sources cycled, isolation off on 1 in 7.
INSTANCE_TYPES = ("ml.g5.2xlarge", "ml.g5.12xlarge", "ml.g6e.12xlarge", "ml.g4dn.xlarge", "ml.m5.xlarge")
PINNED = "6a6f4aa4197940add57724a7707d069478df56b1"
SOURCES: tuple[dict[str, Any], ...] = (
    {"s3": {"uri": "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/"}},
    {"s3": {"uri": "s3://acme-llm-weights/deepseek-r1-distill-qwen-7b/"}},
    {"s3": {"uri": "s3://other-team-weights/llama-8b/"}},
    {"hub": {"repo": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "revision": PINNED}},
    {"hub": {"repo": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "revision": "main"}},
    {"hub": {"repo": "deepseek-al/DeepSeek-R1-Distill-Llama-8B"}},
)
GENERATED = 35  # every (instance type, source) pair once, isolation off on 1 in 7


def generated_manifest(base: dict[str, Any], i: int) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(base["manifest"])
    doc["metadata"]["name"] = f"bench-deployment-{i:05d}"
    spec = doc["spec"]
    spec["endpoint"]["name"] = f"bench-endpoint-{i:05d}"
    spec["endpoint"]["instance_type"] = INSTANCE_TYPES[i % len(INSTANCE_TYPES)]
    source = SOURCES[(i // len(INSTANCE_TYPES)) % len(SOURCES)]
    model = spec["model"]
    model.pop("s3", None)
    model.pop("hub", None)
    model.update(copy.deepcopy(source))
    if "hub" in source:
        spec["container"]["env"] = {"SM_NUM_GPUS": "1"}
    if i % 7 == 3:
        spec["endpoint"]["network_isolation"] = False
    return doc


def write_generated(folder: Path) -> None:
    """The generated manifests, their config and the baseline state snapshot, into `folder`."""
    base = yaml.safe_load(BASE.read_text())
    (folder / "r1policy.yaml").write_text(yaml.safe_dump(base["config"], sort_keys=False))
    (folder / "state.yaml").write_text(yaml.safe_dump(base["state"], sort_keys=False))
    manifests = folder / "manifests"
    manifests.mkdir()
    for i in range(GENERATED):
        text = yaml.safe_dump(generated_manifest(base, i), sort_keys=False)
        (manifests / f"deploy-{i:05d}.yaml").write_text(text)


def write_artifacts(folder: Path) -> None:
    """The scanner's demo artifacts (tests/fixtures/make_artifacts.py) and the torch fixtures."""
    import contextlib
    import io

    from tests.fixtures import make_artifacts

    root = folder / "artifacts"
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the folder
        make_artifacts.main([str(root)])
    torch = root / "torch"
    torch.mkdir()
    for path in sorted((ROOT / "tests" / "fixtures" / "artifacts").iterdir()):
        if path.suffix in (".bin", ".pt"):
            shutil.copyfile(path, torch / path.name)


def copy_examples(folder: Path) -> None:
    shutil.copytree(ROOT / "examples", folder / "examples")


@dataclass(frozen=True)
class Case:
    name: str  # the golden file is tests/golden/<name>
    args: tuple[str, ...]
    setup: Callable[[Path], None]
    # the Hub response cache (R1POLICY_CACHE_DIR) under the work folder; None: an empty one
    hub_cache: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def fmt(self) -> str:
        return self.args[self.args.index("--format") + 1]


EX = ("--config", "examples/r1policy.yaml", "--state", "examples/state.json", "--show-passed")
EXAMPLE_DIRS = (
    "allow",
    "block",
    "hub",
    "cloudformation",
    "kubernetes",
    "sagemaker-api",
    "sagemaker-sdk",
    "terraform",
    "terraform-source",
)
GEN = ("--config", "r1policy.yaml", "--show-passed", "--format", "json", "manifests")

CASES: tuple[Case, ...] = (
    *(
        Case(
            f"check-examples-{d}.json",
            ("check", f"examples/{d}", *EX, "--format", "json"),
            copy_examples,
            hub_cache="examples/hub-cache",
        )
        for d in EXAMPLE_DIRS
    ),
    Case(
        "check-examples-licences.json",
        (
            "check",
            "examples/hub",
            "--config",
            "examples/licences/r1policy.yaml",
            "--state",
            "examples/state.json",
            "--format",
            "json",
        ),
        copy_examples,
        hub_cache="examples/hub-cache",
    ),
    Case("check-examples-block.sarif", ("check", "examples/block", *EX, "--format", "sarif"), copy_examples),
    Case("check-examples-block.md", ("check", "examples/block", *EX, "--format", "markdown"), copy_examples),
    Case("check-generated-static.json", ("check", "--static", *GEN), write_generated),
    Case("check-generated-state.json", ("check", "--state", "state.yaml", *GEN), write_generated),
    Case("scan-artifacts.json", ("scan", "artifacts", "--format", "json"), write_artifacts),
)


def run_case(case: Case, work: Path) -> tuple[int, str]:
    """Run `case` in the empty folder `work`; the exit code and the report text."""
    import contextlib
    import io
    import os

    from r1policy.cli import main

    case.setup(work)
    cache = work / (case.hub_cache or ".empty-hub-cache")
    cache.mkdir(parents=True, exist_ok=True)
    env = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "R1POLICY_CACHE_DIR": str(cache)}
    env.update(case.env)
    saved = {k: os.environ.get(k) for k in env}
    old = Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.update(env)
        os.chdir(work)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(case.args))
    finally:
        os.chdir(old)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if code not in (0, 1):
        raise RuntimeError(f"{case.name}: exit {code}\n{err.getvalue()}")
    text = out.getvalue()
    for spelling in {str(work.resolve()), str(work)}:  # the work folder is a fresh temporary one
        text = text.replace(spelling, "<WORK>")
    return code, text


def parsed(case: Case, text: str) -> Any:
    """The report as a document: JSON and SARIF parsed, text formats as their lines."""
    if case.fmt in ("json", "sarif"):
        return json.loads(text)
    return text.splitlines()


def _ties_sorted(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def canonical(case: Case, doc: Any) -> Any:
    """`doc` with findings that the report's order leaves tied in a fixed order.

    Reports sort findings by rule, subject and location; two findings of one rule on one subject at one
    place (e.g. R1-EP-004's memory and precision findings on one endpoint) may come in either order
    from run to run. The order is compared as the sequence of (rule, status, subject), the findings
    themselves as a sorted list.
    """
    if case.fmt == "json":
        findings = doc["findings"]
        order = [(f["rule_id"], f["status"], f["subject"]["id"]) for f in findings]
        return {**doc, "findings": _ties_sorted(findings), "order": order}
    if case.fmt == "sarif":
        runs = []
        for run in doc["runs"]:
            results = run.get("results", [])
            order = [r.get("ruleId") for r in results]
            runs.append({**run, "results": _ties_sorted(results), "order": order})
        return {**doc, "runs": runs}
    return sorted(doc)


def golden_path(case: Case) -> Path:
    return GOLDEN / case.name


def main(argv: list[str]) -> int:
    import tempfile

    if argv != ["--write"]:
        print(__doc__, file=sys.stderr)
        return 2
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="r1policy-golden-") as tmp:
            code, text = run_case(case, Path(tmp))
        record = {"exit": code, "report": parsed(case, text)}
        golden_path(case).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"{case.name}: exit {code}, {len(text):,} characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
