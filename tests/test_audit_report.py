"""`r1policy audit` reports from state snapshots (offline): exact findings in audit.json, the diff over
three runs stated in all three files, an empty world, atomic run folders, escaping.

The world builders here (`sm_world`, `state_doc`, `audit`) are also used by tests/test_report_browser.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Result, base_documents, finding_set, run_cli, validate_report
from r1policy.audit.history import run_folders
from r1policy.audit.reportdir import write_run
from r1policy.core.errors import OutputError

ACCOUNT = "111122223333"
REGION = "us-east-1"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# A pinned TGI release without known advisories and outside the DLC support table (R1-EP-008 passes,
# R1-EP-009 does not apply): these tests are about the report, and their findings stay the ones they set.
IMAGE = "ghcr.io/huggingface/text-generation-inference:3.0.1"
WEIGHTS = "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/"


def arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"


def endpoint_spec(
    name: str,
    *,
    isolated: bool = True,
    vpc: bool = True,
    instance: str = "ml.g5.2xlarge",
    kms: bool = True,
    image: str = IMAGE,
    model_deleted: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "isolated": isolated,
        "vpc": vpc,
        "instance": instance,
        "kms": kms,
        "image": image,
        "model_deleted": model_deleted,
    }


def sm_world(*specs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Describe* shapes (as `r1policy snapshot` stores them) for endpoints given by `endpoint_spec`."""
    models, configs, endpoints = [], [], []
    for s in specs:
        name = s["name"]
        model: dict[str, Any] = {
            "ModelName": name,
            "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name}",
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
            "PrimaryContainer": {
                "Image": s["image"],
                "Environment": {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
                "ModelDataSource": {
                    "S3DataSource": {"S3Uri": WEIGHTS, "S3DataType": "S3Prefix", "CompressionType": "None"}
                },
            },
            "EnableNetworkIsolation": s["isolated"],
        }
        if s["vpc"]:
            model["VpcConfig"] = {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0c2d3e4f"]}
        if not s["model_deleted"]:
            models.append(model)
        config: dict[str, Any] = {
            "EndpointConfigName": f"{name}-config",
            "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/{name}-config",
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InstanceType": s["instance"],
                    "InitialInstanceCount": 1,
                }
            ],
        }
        if s["kms"]:
            config["KmsKeyId"] = KEY
        configs.append(config)
        endpoints.append(
            {
                "EndpointName": name,
                "EndpointArn": arn(name),
                "EndpointConfigName": f"{name}-config",
                "EndpointStatus": "InService",
            }
        )
    return {"models": models, "endpoint_configs": configs, "endpoints": endpoints}


def state_doc(*specs: dict[str, Any]) -> dict[str, Any]:
    """The compliant baseline state (policies/cases-base.yaml) plus a SageMaker inventory."""
    state = copy.deepcopy(base_documents()["state"])
    if specs:
        state["sagemaker"] = {ACCOUNT: {REGION: sm_world(*specs)}}
    return state


def write_inputs(tmp: Path, state: dict[str, Any], config: dict[str, Any] | None = None) -> tuple[Path, Path]:
    state_path, config_path = tmp / "state.json", tmp / "r1policy.yaml"
    state_path.write_text(json.dumps(state))
    merged = copy.deepcopy(base_documents()["config"])
    merged["approved_image_registries"] = [*merged["approved_image_registries"], "ghcr.io"]
    merged.update(config or {})
    config_path.write_text(yaml.safe_dump(merged, sort_keys=False))
    return state_path, config_path


def audit(
    tmp: Path, reports: Path, state: dict[str, Any], *extra: str, config: dict[str, Any] | None = None
) -> Result:
    state_path, config_path = write_inputs(tmp, state, config)
    # Relative paths from `tmp` (as a user would type them): the report shows `state.json`.
    return run_cli(
        "audit",
        "--state",
        state_path.name,
        "--config",
        config_path.name,
        "--report-dir",
        reports,
        *extra,
        cwd=tmp,
    )


def latest_run(reports: Path) -> tuple[dict[str, Any], str, str]:
    folder = run_folders(reports)[-1]
    doc = json.loads((folder / "audit.json").read_text())
    validate_report(doc)
    return doc, (folder / "audit.md").read_text(), (folder / "audit.html").read_text()


def changes(doc: dict[str, Any], kind: str) -> set[tuple[str, str, str | None, str | None]]:
    return {
        (c["rule_id"], c["subject"]["id"], c["status"], c["previous_status"])
        for c in doc["audit"]["diff"][kind]
    }


# -- exact findings ------------------------------------------------------------------------------


def test_audit_json_holds_exactly_the_findings_of_the_run(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    state = state_doc(
        endpoint_spec("r1-good"),
        endpoint_spec("r1-open", isolated=False, vpc=False),
        # g4dn has local NVMe instance storage: no KMS key needed for the volume (R1-EP-005 passes).
        endpoint_spec("r1-t4", instance="ml.g4dn.xlarge", kms=False),
    )
    result = audit(tmp_path, reports, state, "--format", "json")
    assert result.code == 1, result.stderr
    doc, _md, _html = latest_run(reports)
    assert finding_set(doc, "fail", "error", "waived") == {
        ("R1-EP-003", "fail", arn("r1-open")),
        ("R1-EP-004", "fail", arn("r1-open")),
        ("R1-EP-001", "fail", arn("r1-t4")),
        ("R1-EP-002", "fail", arn("r1-t4")),
    }
    assert doc["command"] == "audit"
    assert doc["decision"] == "block"
    # The console JSON is the same report; audit.json only adds the `audit` block.
    console = result.json
    assert {k: v for k, v in doc.items() if k != "audit"} == console
    audit_block = doc["audit"]
    assert audit_block["source"] == "state"
    assert audit_block["scope"] == {"regions": [REGION], "accounts": [ACCOUNT]}
    assert audit_block["inventory"] == [
        {
            "account": ACCOUNT,
            "region": REGION,
            "models": 3,
            "endpoint_configs": 3,
            "endpoints": 3,
            "buckets": 1,
            "blocking": 5,
            "warnings": 0,
            "errors": 0,
            "waived": 0,
        }
    ]
    assert audit_block["baseline"] is None
    # R1-EP-002 fails twice on r1-t4 (too small, and no bf16 on a T4): one identity, so 4 new.
    assert len([f for f in doc["findings"] if f["rule_id"] == "R1-EP-002"]) == 2
    assert len(audit_block["diff"]["new"]) == 4
    assert "r1policy audit: 4 new, 0 resolved, 0 persisting" in result.stderr


def test_endpoint_whose_model_was_deleted_is_error_for_the_rules_that_need_the_model(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = audit(tmp_path, reports, state_doc(endpoint_spec("r1-orphan", model_deleted=True)))
    assert result.code == 1
    doc, md, _html = latest_run(reports)
    endpoint_rules = {r for r, s, subject in finding_set(doc, "error") if subject == arn("r1-orphan")}
    # What the endpoint config still says is judged; what needed the model is `error`.
    # (R1-EP-008 / R1-EP-009: the image is the model's, so the serving stack is unknown too)
    assert endpoint_rules == {"R1-EP-002", "R1-EP-003", "R1-EP-004", "R1-EP-007", "R1-EP-008", "R1-EP-009"}
    assert ("R1-EP-001", "pass", arn("r1-orphan")) not in finding_set(doc, "error", "fail")
    assert not finding_set(doc, "fail")
    assert [p["resource_id"] for p in doc["audit"]["problems"]] == ["Model r1-orphan"]
    assert "does not exist" in doc["audit"]["problems"][0]["message"]
    assert "Model r1-orphan" in md


# -- diff over three runs ------------------------------------------------------------------------


def test_diff_new_resolved_persisting_over_three_runs(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run1 = state_doc(
        endpoint_spec("r1-good"),
        endpoint_spec("r1-open", isolated=False),
        endpoint_spec("r1-t4", instance="ml.g4dn.xlarge"),
    )
    run2 = state_doc(
        endpoint_spec("r1-good"),
        endpoint_spec("r1-open"),
        endpoint_spec("r1-t4", instance="ml.g4dn.xlarge"),
        endpoint_spec("r1-novpc", vpc=False),
    )
    run3 = state_doc(
        endpoint_spec("r1-good"),
        endpoint_spec("r1-open", isolated=False),
        endpoint_spec("r1-novpc", vpc=False),
    )
    assert audit(tmp_path, reports, run1).code == 1
    first, _, _ = latest_run(reports)
    assert changes(first, "new") == {
        ("R1-EP-003", arn("r1-open"), "fail", None),
        ("R1-EP-001", arn("r1-t4"), "fail", None),
        ("R1-EP-002", arn("r1-t4"), "fail", None),
    }

    assert audit(tmp_path, reports, run2).code == 1
    second, md, html = latest_run(reports)
    assert second["audit"]["baseline"]["run_id"] == first["audit"]["run_id"]
    assert changes(second, "new") == {("R1-EP-004", arn("r1-novpc"), "fail", None)}
    assert changes(second, "resolved") == {("R1-EP-003", arn("r1-open"), "pass", "fail")}
    assert changes(second, "persisting") == {
        ("R1-EP-001", arn("r1-t4"), "fail", "fail"),
        ("R1-EP-002", arn("r1-t4"), "fail", "fail"),
    }
    assert "**1 new, 1 resolved, 2 persisting.**" in md
    for kind, count in (("new", 1), ("resolved", 1), ("persisting", 2)):
        assert f'<dd data-diff="{kind}">{count}</dd>' in html

    result = audit(tmp_path, reports, run3)
    assert result.code == 1
    third, md, html = latest_run(reports)
    # The baseline lists no passed findings (no --show-passed), so the earlier pass is not known.
    assert changes(third, "new") == {("R1-EP-003", arn("r1-open"), "fail", None)}
    assert changes(third, "resolved") == {
        ("R1-EP-001", arn("r1-t4"), None, "fail"),
        ("R1-EP-002", arn("r1-t4"), None, "fail"),
    }
    assert changes(third, "persisting") == {("R1-EP-004", arn("r1-novpc"), "fail", "fail")}
    assert "**1 new, 2 resolved, 1 persisting.**" in md
    assert "resource gone or out of scope" in html
    # The trend covers every run, oldest first, and the folders are the run ids.
    trend = third["audit"]["trend"]
    assert [p["run_id"] for p in trend] == [f.name for f in run_folders(reports)]
    assert [p["open"] for p in trend] == [4, 4, 2]  # findings, not identities (R1-EP-002 twice)
    assert html.count('data-series="blocking"') == 1


def test_explicit_baseline_wins_over_the_latest_run(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    audit(tmp_path, reports, state_doc(endpoint_spec("r1-open", isolated=False)))
    first_json = run_folders(reports)[0] / "audit.json"
    audit(tmp_path, reports, state_doc(endpoint_spec("r1-open")))
    audit(tmp_path, reports, state_doc(endpoint_spec("r1-open")), "--baseline", str(first_json))
    doc, _, _ = latest_run(reports)
    assert doc["audit"]["baseline"]["path"] == f"{first_json.parent.name}/audit.json"
    assert changes(doc, "resolved") == {("R1-EP-003", arn("r1-open"), "pass", "fail")}


# -- empty world, bad input, atomicity -----------------------------------------------------------


def test_empty_world_is_a_valid_empty_report(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = audit(tmp_path, reports, state_doc())
    assert result.code == 0, result.stderr
    doc, md, html = latest_run(reports)
    assert doc["findings"] == []
    assert doc["decision"] == "allow"
    assert doc["summary"] == dict.fromkeys(
        ("blocking", "warnings", "errors", "skipped", "waived", "passed", "subjects"), 0
    )
    assert doc["audit"]["inventory"] == []
    assert doc["audit"]["diff"] == {"new": [], "resolved": [], "persisting": []}
    assert [n["kind"] for n in doc["notices"]] == ["nothing-to-audit"]
    assert "No SageMaker resources were found" in md
    assert "No finding needs attention" in html


def test_invalid_baseline_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    bad = tmp_path / "baseline.json"
    bad.write_text('{"schema_version": 1,\n "findings": [}\n')
    result = audit(tmp_path, reports, state_doc(endpoint_spec("r1-good")), "--baseline", str(bad))
    assert result.code == 2
    assert f"{bad}:2:" in result.stderr
    assert not reports.exists() or not any(reports.iterdir())


def test_corrupt_previous_run_names_the_file(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "2026-01-01T000000Z").mkdir(parents=True)
    (reports / "2026-01-01T000000Z" / "audit.json").write_text('{"schema_version": 1}')
    result = audit(tmp_path, reports, state_doc(endpoint_spec("r1-good")))
    assert result.code == 2
    assert "2026-01-01T000000Z/audit.json" in result.stderr
    assert [p.name for p in reports.iterdir()] == ["2026-01-01T000000Z"]


def test_run_folder_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    with pytest.raises(OutputError):
        write_run(reports, "2026-11-25T020000Z", {"audit.json": "{}", "missing-dir/audit.md": "x"})
    assert list(reports.iterdir()) == []
    folder = write_run(reports, "2026-11-25T020000Z", {"audit.json": "{}\n", "audit.md": "x\n"})
    again = write_run(reports, "2026-11-25T020000Z", {"audit.json": "{}\n"})
    assert (folder.name, again.name) == ("2026-11-25T020000Z", "2026-11-25T020000Z-2")
    assert sorted(p.name for p in folder.iterdir()) == ["audit.json", "audit.md"]


def test_leftover_temporary_folder_is_not_a_baseline(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    audit(tmp_path, reports, state_doc(endpoint_spec("r1-open", isolated=False)))
    (reports / ".2099-01-01T000000Z.abc.tmp").mkdir()
    (reports / ".2099-01-01T000000Z.abc.tmp" / "audit.json").write_text("half")
    audit(tmp_path, reports, state_doc(endpoint_spec("r1-open", isolated=False)))
    doc, _, _ = latest_run(reports)
    assert changes(doc, "persisting") == {("R1-EP-003", arn("r1-open"), "fail", "fail")}


def test_state_and_profiles_are_exclusive(tmp_path: Path) -> None:
    result = audit(tmp_path, tmp_path / "r", state_doc(), "--profiles", "prod")
    assert result.code == 2
    assert "--state" in result.stderr


# -- waivers, severities, escaping ---------------------------------------------------------------


def test_waived_and_expired_waiver_are_reported_and_markup_is_escaped(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    config = {
        "waivers": [
            {
                "rule": "R1-EP-004",
                "subject": arn("r1-dev"),
                "reason": "<script>alert('x')</script> sandbox",
                "owner": "ml-platform",
                "ticket": "SEC-1",
                "expires": "2099-12-31",
            },
            {
                "rule": "R1-EP-003",
                "subject": arn("r1-dev"),
                "reason": "old exception",
                "owner": "ml-platform",
                "expires": "2020-01-01",
            },
        ]
    }
    state = state_doc(endpoint_spec("r1-dev", isolated=False, vpc=False))
    assert audit(tmp_path, reports, state, config=config).code == 1
    doc, md, html = latest_run(reports)
    assert finding_set(doc, "fail", "waived") == {
        ("R1-EP-004", "waived", arn("r1-dev")),
        ("R1-EP-003", "fail", arn("r1-dev")),
    }
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; sandbox" in html
    assert "Expired waiver (waives nothing)" in html and "Expired waiver (waives nothing)" in md
    assert "Waived by ml-platform until 2099-12-31 (SEC-1)" in md


# -- what could not be read is `error`, never a pass ---------------------------------------------


def test_unlistable_region_and_undescribable_model_are_errors(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    state = state_doc(endpoint_spec("r1-denied", model_deleted=True))
    region = state["sagemaker"][ACCOUNT][REGION]
    region["errors"] = {"model/r1-denied": "AccessDenied: not authorized to perform sagemaker:DescribeModel"}
    state["sagemaker"][ACCOUNT]["eu-west-1"] = {
        "errors": {"region": "the region is not enabled for this account"}
    }
    result = audit(tmp_path, reports, state)
    assert result.code == 1
    doc, md, _html = latest_run(reports)
    assert not finding_set(doc, "fail")
    denied = {r for r, _s, subject in finding_set(doc, "error") if subject == arn("r1-denied")}
    assert denied == {"R1-EP-002", "R1-EP-003", "R1-EP-004", "R1-EP-007", "R1-EP-008", "R1-EP-009"}
    assert any("sagemaker:DescribeModel" in f["message"] for f in doc["findings"] if f["status"] == "error")
    # Nothing in eu-west-1 could be listed: every endpoint rule is an error there.
    region_wide = {
        r
        for r, _s, subject in finding_set(doc, "error")
        if subject == "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/*"
    }
    assert {"R1-EP-001", "R1-EP-003", "R1-EP-005"} <= region_wide
    assert {p["resource_id"] for p in doc["audit"]["problems"]} == {"Model r1-denied", "eu-west-1 region"}
    assert doc["audit"]["scope"]["regions"] == ["eu-west-1", REGION]
    assert "the region is not enabled" in md


def test_endpoint_whose_config_is_gone_is_an_error(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    state = state_doc(endpoint_spec("r1-good"))
    state["sagemaker"][ACCOUNT][REGION]["endpoints"].append(
        {"EndpointName": "r1-lost", "EndpointArn": arn("r1-lost"), "EndpointConfigName": "gone-config"}
    )
    assert audit(tmp_path, reports, state).code == 1
    doc, _md, _html = latest_run(reports)
    assert {s for _r, _st, s in finding_set(doc, "error")} == {
        arn("r1-lost"),
        "(unknown model of Endpoint r1-lost in 111122223333/us-east-1)",
        "Endpoint r1-lost in 111122223333/us-east-1",
    }
    assert [p["resource_id"] for p in doc["audit"]["problems"]] == ["Endpoint r1-lost"]


# -- the diff itself -----------------------------------------------------------------------------


def _f(rule: str, subject: str, status: str, path: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": rule,
        "title": rule,
        "severity": "high",
        "status": status,
        "subject": {"type": "endpoint", "id": subject},
    }
    if path is not None:
        out["location"] = {"path": path, "line": 3, "column": 1}
    return out


def test_diff_identity_statuses_and_duplicates() -> None:
    from r1policy.audit.diff import diff_findings

    baseline = [
        _f("R1-EP-003", "ep-a", "fail"),
        _f("R1-EP-004", "ep-a", "waived"),
        _f("R1-EP-001", "ep-b", "error"),
        _f("R1-EP-007", "ep-c", "fail", path="deploy/a.yaml"),
        _f("R1-EP-005", "ep-d", "skipped"),
    ]
    current = [
        _f("R1-EP-003", "ep-a", "waived"),  # a waiver was added: persisting, fail -> waived
        _f("R1-EP-004", "ep-a", "fail"),  # the waiver expired: persisting, waived -> fail
        _f("R1-EP-001", "ep-b", "pass"),  # resolved, now passes
        _f("R1-EP-007", "ep-c", "fail", path="deploy/b.yaml"),  # another file: new, and a/ resolved
        _f("R1-EP-007", "ep-c", "fail", path="deploy/b.yaml"),  # same identity twice: counted once
        _f("R1-EP-005", "ep-d", "error"),  # was skipped: new
    ]
    diff = diff_findings(current, baseline)
    as_set = lambda items: {  # noqa: E731
        (c["rule_id"], c["subject"]["id"], c.get("location_path"), c["status"], c["previous_status"])
        for c in items
    }
    assert as_set(diff.persisting) == {
        ("R1-EP-003", "ep-a", None, "waived", "fail"),
        ("R1-EP-004", "ep-a", None, "fail", "waived"),
    }
    assert as_set(diff.resolved) == {
        ("R1-EP-001", "ep-b", None, "pass", "error"),
        ("R1-EP-007", "ep-c", "deploy/a.yaml", None, "fail"),
    }
    assert as_set(diff.new) == {
        ("R1-EP-007", "ep-c", "deploy/b.yaml", "fail", None),
        ("R1-EP-005", "ep-d", None, "error", "skipped"),
    }
    assert diff_findings(current, None).to_json()["resolved"] == []


def test_two_accounts_with_the_same_endpoint_name(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    state = state_doc(endpoint_spec("r1-shared", isolated=False))
    other = "444455556666"
    world = sm_world(endpoint_spec("r1-shared", vpc=False))
    for item in (*world["models"], *world["endpoint_configs"], *world["endpoints"]):
        for key, value in list(item.items()):
            if key.endswith("Arn"):
                item[key] = value.replace(ACCOUNT, other)
    state["sagemaker"][other] = {REGION: world}
    assert audit(tmp_path, reports, state).code == 1
    doc, _md, html = latest_run(reports)
    other_arn = arn("r1-shared").replace(ACCOUNT, other)
    assert finding_set(doc, "fail") == {
        ("R1-EP-003", "fail", arn("r1-shared")),
        ("R1-EP-004", "fail", other_arn),
    }
    assert sorted(doc["audit"]["placement"]["deployments"]) == ["r1-shared", f"r1-shared ({other}/{REGION})"]
    assert [(r["account"], r["blocking"]) for r in doc["audit"]["inventory"]] == [(ACCOUNT, 1), (other, 1)]
    assert f"{other} / {REGION}" in html
