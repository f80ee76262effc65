"""Cold start (issue 18 item 7): what a fresh interpreter imports. `r1policy --help` and importing the
CLI need none of the heavy libraries; `check --static` of native manifests imports only what it uses
(the rules' YAML, the compiled schema validator, Cedar), never jsonschema, Jinja for plain templates,
the AWS or Hub clients, the BOM library, rich, or the readers of other input formats."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    # issue 23 cold start, third pass: dataclasses reads inspect only for a class without a docstring
    "inspect",
    "ast",
    "dis",
    "tokenize",
)
# Not needed to check native manifests with --static.
HEAVY_FOR_CHECK = (
    "inspect",  # dataclasses imports it on first use only (core/inspectimport.py)
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
    # issue 23 cold start: what a check without --compliance, `licences`, a lock or a written file needs not
    "r1policy.compliance",
    "r1policy.licences.facts",
    "r1policy.licences.lineage",
    "r1policy.licences.table",
    "r1policy.hub.record",
    "r1policy.project.lockfile",
    # issue 23 cold start, second pass: what a one-manifest check used to import for nothing
    "tomllib",  # only for a pyproject.toml configuration
    "difflib",  # only to word an unknown field or rule id
    "traceback",  # only with --debug
    "tarfile",  # only when a model archive's serving.properties is read
    "packaging",  # advisory ranges of plain release versions are compared without it
    "r1policy.facts.iampolicy",  # only when an execution role is judged
    "r1policy.engine.trustfacts",  # only when a state snapshot has the bucket
    "r1policy.facts.bucketwriters",
    "r1policy.facts.keypolicy",
    # issue 23 cold start, third pass
    "r1policy.sources.terraform",  # only with --tf-var-file or a Terraform input
    "r1policy.formats.github",  # only when a GitHub report (and its job summary) is written
    "hashlib",  # the derived-data cache hashes without OpenSSL (core/derivedcache.py)
    "socket",  # jsonschema_rs's email.utils imports it for functions never called (core/deferimport.py)
)
# Read from the derived-data cache (core/derivedcache.py) once it is warm: not re-derived on every run.
HEAVY_FOR_WARM_CHECK = (
    *HEAVY_FOR_CHECK,
    "r1policy.rules.catalogue",  # the catalogues check rule metadata only when the pack is loaded
    "tempfile",  # the cache is written atomically when it was derived, not read
    "shutil",  # (tempfile's) and argparse's help formatter asked it for the width on every add_argument
    "random",  # (tempfile's) and jsonschema_rs's email.utils' (core/deferimport.py)
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
pst_run = "Expr" in vars(sys.modules.get("cedarpy.pst", sys))
reader = sys.modules.get("yaml.reader")
pattern = type(vars(reader.Reader)["NON_PRINTABLE"]).__name__ if reader else None
out = {"code": code, "modules": sorted(sys.modules), "pst_run": pst_run, "non_printable": pattern}
if "dataclasses" in sys.modules:
    import dataclasses
    classes = [
        c for name, m in list(sys.modules.items()) if name.startswith("r1policy")
        for c in vars(m).values()
        if isinstance(c, type) and c.__module__ == name and dataclasses.is_dataclass(c)
    ]
    name = lambda c: f"{c.__module__}.{c.__qualname__}"
    # made by dataclasses' code generation (core/record.py makes the others without it)
    record = "r1policy.core.record"
    out["generated"] = sorted(name(c) for c in classes if getattr(c.__eq__, "__module__", "") != record)
    # without a docstring: dataclasses wrote one with inspect.signature
    out["undocumented"] = sorted(name(c) for c in classes if (c.__doc__ or "").startswith(c.__name__ + "("))
# module-level patterns still waiting for their first use (core/lazyre.py)
out["uncompiled"] = sorted(
    f"{name}.{attr}" for name, m in list(sys.modules.items()) if name.startswith("r1policy")
    for attr, v in list(vars(m).items()) if type(v).__name__ == "_CompileOnUse" and "_compiled" not in vars(v)
)
print(json.dumps(out))
"""


def _probe(args: list[str], cwd: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    out: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return out


def _imported(args: list[str], cwd: Path) -> tuple[int, set[str]]:
    out = _probe(args, cwd)
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


def _baseline(folder: Path) -> None:
    base = yaml.safe_load((ROOT / "policies" / "cases-base.yaml").read_text())
    (folder / "r1policy.yaml").write_text(yaml.safe_dump(base["config"], sort_keys=False))
    (folder / "one.yaml").write_text(yaml.safe_dump(base["manifest"], sort_keys=False))


def test_static_check_of_native_manifests_imports_only_what_it_uses(tmp_path: Path) -> None:
    _baseline(tmp_path)
    for fmt in ("json", "table"):
        code, modules = _imported(["check", "--static", "one.yaml", "--format", fmt], tmp_path)
        assert code == 0
        assert _loaded(modules, HEAVY_FOR_CHECK) == [], fmt
        assert {"cedarpy", "jsonschema_rs"} <= modules  # it did evaluate and validate


def test_a_check_never_compiles_pyyamls_pure_python_character_check(tmp_path: Path) -> None:
    """libyaml's C parser reads the YAML; the Python Reader's NON_PRINTABLE (~9 ms to compile) waits
    for a first use (core/yamlimport.py)."""
    _baseline(tmp_path)
    out = _probe(["check", "--static", "one.yaml"], tmp_path)
    assert out["code"] == 0
    assert "yaml.reader" in out["modules"]
    assert out["non_printable"] == "_CompileOnFirstRead"


# issue 23 cold start, third pass: every cold-path dataclass has a docstring, so that dataclasses
# never imports `inspect` (core/inspectimport.py) to write one.
PENDING_DOCSTRINGS: set[str] = set()


def test_a_cold_check_generates_few_dataclasses_and_compiles_only_the_patterns_it_uses(
    tmp_path: Path,
) -> None:
    """Each class made by dataclasses' code generation costs about 0.4 ms cold (core/record.py);
    dataclasses imports inspect (and ast, dis, tokenize) only to document a class without a docstring
    (core/inspectimport.py)."""
    _baseline(tmp_path)
    _probe(["check", "--static", "one.yaml"], tmp_path)  # derives and writes the rule pack
    out = _probe(["check", "--static", "one.yaml"], tmp_path)
    assert out["code"] == 0
    assert "r1policy.project.config.Config" not in out["generated"]
    assert len(out["generated"]) <= 30, out["generated"]
    assert set(out["undocumented"]) <= PENDING_DOCSTRINGS
    if not out["undocumented"]:
        assert _loaded(set(out["modules"]), ("inspect", "ast", "dis", "tokenize")) == []
    # the regular expressions of other formats, error paths and other images are not compiled
    assert len(out["uncompiled"]) >= 20, out["uncompiled"]
    assert "r1policy.sources.deploylike._NOTEBOOK_CODE" in out["uncompiled"]


def test_a_cloudformation_check_imports_no_archive_reader(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "cloudformation" / "r1-distill-stack.yaml", tmp_path / "template.yaml")
    _imported(["check", "--static", "template.yaml"], tmp_path)  # derives and writes the rule pack
    code, modules = _imported(["check", "--static", "template.yaml"], tmp_path)
    assert code in (0, 1)
    assert "r1policy.sources.cloudformation.template" in modules  # it did read the template
    assert _loaded(modules, ("tarfile", "shutil", "tomllib", "difflib", "traceback")) == []


def test_a_warm_check_reads_the_rule_pack_from_the_cache_and_never_runs_cedarpy_pst(tmp_path: Path) -> None:
    _baseline(tmp_path)
    args = ["check", "--static", "one.yaml"]
    first = _probe(args, tmp_path)  # a fresh cache folder (conftest): derives and writes the pack
    assert first["code"] == 0
    warm = _probe(args, tmp_path)
    assert warm["code"] == 0
    assert _loaded(set(warm["modules"]), HEAVY_FOR_WARM_CHECK) == []
    assert "r1policy.rules.packcache" in warm["modules"]
    # cedarpy's policy-tree module is registered but its code never ran (core/cedarimport.py)
    assert not first["pst_run"] and not warm["pst_run"]


def test_the_checkov_benchmark_template_is_checked_without_jinja(tmp_path: Path) -> None:
    """bench/bench_cfn_vs_checkov.py's template: every message and remediation of its findings is plain
    text and fields (R1-S3-001 says "no default encryption" by its own policy, not by `{% if %}`)."""
    spec = importlib.util.spec_from_file_location("bench_cfn", ROOT / "bench" / "bench_cfn_vs_checkov.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    (tmp_path / "template.yaml").write_text(bench.TEMPLATE.replace("{image}", bench.IMAGE))
    args = ["check", "--static", "template.yaml", "--config", str(ROOT / "examples" / "r1policy.yaml")]
    code, modules = _imported([*args, "--format", "json"], tmp_path)
    assert code == 1  # it blocks: the template has the usual mistakes
    assert "r1policy.sources.cloudformation.template" in modules
    assert _loaded(modules, ("jinja2", "tarfile")) == []


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_a_run_builds_only_its_command_parser_and_it_is_the_full_one() -> None:
    from r1policy.cli import COMMANDS, _command_word, build_parser

    full = _subparsers(build_parser())
    assert set(full) == set(COMMANDS)
    for name in COMMANDS:
        only = _subparsers(build_parser(only=name))
        assert list(only) == [name]
        assert only[name].format_help() == full[name].format_help(), name
    assert _command_word(["--debug", "check", "x.yaml"]) == "check"
    assert _command_word(["--help"]) is None
    assert _command_word(["chek", "x.yaml"]) is None  # a typo: the full parser says what exists
    assert _command_word(["--", "check"]) is None


def test_a_mistyped_command_still_lists_every_command(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "r1policy", "chek", "x.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "invalid choice: 'chek'" in proc.stderr
    assert "check" in proc.stderr and "verify-attestation" in proc.stderr
