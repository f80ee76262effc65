"""The wheel is self-contained: built-in policies and schemas ship inside it and work from a clean venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, validate_report

pytestmark = pytest.mark.slow

BUILTIN_RULES = (
    *(f"R1-S3-{n:03d}" for n in range(1, 9)),
    *(f"R1-HUB-{n:03d}" for n in (1, 2, 3, 5, 6)),
    *(f"R1-EP-{n:03d}" for n in range(1, 8)),
)
REQUIRED_MEMBERS = (
    "r1policy/_bundled/policies/R1-EP-001/policy.cedar",
    "r1policy/_bundled/policies/R1-EP-001/rule.yaml",
    "r1policy/_bundled/schemas/r1policy.cedarschema",
    "r1policy/_bundled/schemas/manifest-v1.schema.json",
    "r1policy/_bundled/schemas/report-v1.schema.json",
    "r1policy/audit/templates/audit.html.j2",
)
_NETWORK_HINTS = (
    "No matching distribution",
    "Could not find a version",
    "Failed to establish",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ConnectionError",
    "ReadTimeoutError",
    "Max retries exceeded",
)


def _clean_env() -> dict[str, str]:
    """The environment without anything that would make the repo's checkout or venv importable."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env["NO_COLOR"] = "1"
    return env


def _run(cmd: list[str | Path], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the 'build' package is needed (pip install -e '.[dev]')")
    pytest.importorskip("hatchling", reason="hatchling is needed for --no-isolation builds")
    out = tmp_path_factory.mktemp("dist")
    proc = _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, ROOT], cwd=out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = sorted(out.glob("r1policy-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv (no system site-packages, no checkout on the path) with the wheel installed."""
    env_dir = tmp_path_factory.mktemp("wheelvenv") / "venv"
    venv.EnvBuilder(with_pip=True, clear=True, system_site_packages=False).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    proc = _run(
        [bindir / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q", wheel],
        cwd=env_dir,
    )
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        if any(hint in output for hint in _NETWORK_HINTS):
            pytest.skip(f"no package index reachable for the wheel's dependencies: {output[-400:]}")
        pytest.fail(f"pip install of the wheel failed:\n{output}")
    return bindir


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory outside the checkout, so nothing can be found relative to the repo."""
    assert ROOT not in tmp_path.resolve().parents
    return tmp_path


def test_wheel_contains_bundled_policies_and_schemas(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    missing = [m for m in REQUIRED_MEMBERS if m not in names]
    assert not missing, f"missing from {wheel.name}: {missing}"
    assert "r1policy/cli.py" in names
    assert not any(n.startswith(("checker/", "tests/")) for n in names)


def test_wheel_bundles_every_builtin_rule(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    missing = [
        f"{rule}/{part}"
        for rule in BUILTIN_RULES
        for part in ("policy.cedar", "rule.yaml")
        if f"r1policy/_bundled/policies/{rule}/{part}" not in names
    ]
    assert not missing, f"rules incomplete in {wheel.name}: {missing}"


def test_installed_wheel_lists_all_builtin_rules(installed: Path, outside: Path) -> None:
    proc = _run([installed / "r1policy", "policies", "list"], cwd=outside, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.startswith("R1-")}
    missing = sorted(set(BUILTIN_RULES) - listed)
    assert not missing, f"not listed by the installed wheel: {missing}\n{proc.stdout}"


def test_installed_wheel_runs_as_module_with_version(installed: Path, outside: Path) -> None:
    proc = _run([installed / "python", "-m", "r1policy", "--version"], cwd=outside, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("r1policy "), proc.stdout


def test_installed_wheel_is_not_the_checkout(installed: Path, outside: Path) -> None:
    proc = _run(
        [installed / "python", "-c", "import r1policy; print(r1policy.__file__)"], cwd=outside, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    location = Path(proc.stdout.strip()).resolve()
    assert ROOT not in location.parents, location


def test_installed_wheel_checks_a_manifest_with_bundled_schemas(installed: Path, outside: Path) -> None:
    base = yaml.safe_load((ROOT / "policies" / "cases-base.yaml").read_text())
    (outside / "deploy.yaml").write_text(yaml.safe_dump(base["manifest"]))
    (outside / "r1policy.yaml").write_text(yaml.safe_dump(base["config"]))
    command = [installed / "r1policy", "check", "--static", "--format", "json", "deploy.yaml"]
    proc = _run(command, cwd=outside, timeout=120)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    validate_report(report)
    assert report["summary"]["subjects"] >= 1
