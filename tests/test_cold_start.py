"""Cold start (issue 18 item 7): what a fresh interpreter imports. `r1policy --help` and importing the
CLI need none of the heavy libraries; `check --static` of native manifests imports only what it uses
(the rules' YAML, the compiled schema validator, Cedar), never jsonschema, Jinja for plain templates,
the AWS or Hub clients, the BOM library, rich, or the readers of other input formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# Not needed to parse arguments or print help.
HEAVY_FOR_HELP = (
    "jinja2",
    "jsonschema",
    "jsonschema_rs",
    "cedarpy",
    "boto3",
    "botocore",
    "huggingface_hub",
    "cyclonedx",
    "rich",
    "lark",
    "rfc3987_syntax",
    "rfc3339_validator",
    "yaml",
    "packaging",
    "hcl2",
    "nbformat",
    "numpy",
    "requests",
)
# Not needed to check native manifests with --static.
HEAVY_FOR_CHECK = (
    "jinja2",
    "jsonschema",
    "boto3",
    "botocore",
    "huggingface_hub",
    "cyclonedx",
    "rich",
    "lark",
    "rfc3987_syntax",
    "rfc3339_validator",
    "hcl2",
    "nbformat",
    "numpy",
    "requests",
    "r1policy.sources.cloudformation.template",
    "r1policy.sources.cloudformation.cdk",
    "r1policy.sources.kubernetes",
    "r1policy.sources.terraform.planfile",
    "r1policy.sources.sagemaker.api",
    "r1policy.formats.sarif",
    "r1policy.formats.asff",
)

PROBE = """
import contextlib, io, json, sys
from r1policy.cli import main
args = json.loads(sys.argv[1])
if args:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imported(args: list[str], cwd: Path) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    out = json.loads(proc.stdout.splitlines()[-1])
    return out["code"], set(out["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules or any(m.startswith(n + ".") for m in modules)]


def test_importing_the_cli_imports_no_heavy_library(tmp_path: Path) -> None:
    _code, modules = _imported([], tmp_path)
    assert _loaded(modules, HEAVY_FOR_HELP) == []


def test_help_imports_no_heavy_library(tmp_path: Path) -> None:
    for args in (["--help"], ["check", "--help"]):
        code, modules = _imported(args, tmp_path)
        assert code == 0
        assert _loaded(modules, HEAVY_FOR_HELP) == [], args


def test_static_check_of_native_manifests_imports_only_what_it_uses(tmp_path: Path) -> None:
    base = yaml.safe_load((ROOT / "policies" / "cases-base.yaml").read_text())
    (tmp_path / "r1policy.yaml").write_text(yaml.safe_dump(base["config"], sort_keys=False))
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(base["manifest"], sort_keys=False))
    for fmt in ("json", "table"):
        code, modules = _imported(["check", "--static", "one.yaml", "--format", fmt], tmp_path)
        assert code == 0
        assert _loaded(modules, HEAVY_FOR_CHECK) == [], fmt
        assert {"cedarpy", "jsonschema_rs"} <= modules  # it did evaluate and validate
