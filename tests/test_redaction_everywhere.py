"""A secret in any field never reaches any format: every string a Finding, its Subject, Location,
Remediation and waivers, and a Report's notices, inputs and skipped paths carry is redacted when the
object is built (however it is built), so no writer has to remember it (issue 23 item 2).

Three classes of secret, three variants each: AWS access key ids (AKIA, ASIA, one inside a URL), Hugging
Face tokens (bare, in a query string, long), and AWS secret access keys after their key name (three
spellings). Each variant is put into every field at once, a different secret per field, and every output
format is rendered: the hidden part of no secret may appear anywhere, and the masked form must.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from r1policy.core.findings import (
    Enforcement,
    Finding,
    Location,
    Remediation,
    Severity,
    Status,
    Subject,
    SubjectType,
    WaiverRef,
)
from r1policy.engine.evaluate import Notice
from r1policy.engine.report import Report
from r1policy.formats import Format, RenderOptions, writers
from r1policy.sources.walk import Skipped

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _tag(i: int, width: int) -> str:
    """A distinct upper-case alphanumeric string per field number."""
    return (_ALNUM[i // 36] + _ALNUM[i % 36]) * (width // 2) + "Q" * (width % 2)


# Each variant: (text to put in a field, the part redaction must hide). `i` numbers the field.
VARIANTS: dict[str, Callable[[int], tuple[str, str]]] = {
    "aws-key-id": lambda i: (f"key AKIA{_tag(i, 16)} here", f"AKIA{_tag(i, 16)}"[4:]),
    "aws-temporary-key-id": lambda i: (f"ASIA{_tag(i, 16)}", f"ASIA{_tag(i, 16)}"[4:]),
    "aws-key-id-in-url": lambda i: (f"s3://b/AKIA{_tag(i, 16)}/m", f"AKIA{_tag(i, 16)}"[4:]),
    "hf-token": lambda i: (f"hf_{_tag(i, 34).lower()}", f"hf_{_tag(i, 34).lower()}"[4:]),
    "hf-token-in-query": lambda i: (f"https://x/?t=hf_{_tag(i, 30)}&a=1", f"hf_{_tag(i, 30)}"[4:]),
    "hf-token-long": lambda i: (f"token hf_{_tag(i, 60)}", f"hf_{_tag(i, 60)}"[4:]),
    "aws-secret-key": lambda i: (f"aws_secret_access_key = {_tag(i, 36)}/+/=", f"{_tag(i, 36)}/+/="[4:]),
    "aws-secret-key-yaml": lambda i: (f"SECRET_ACCESS_KEY: '{_tag(i, 40)}'", _tag(i, 40)[4:]),
    "aws-secret-key-json": lambda i: (f'"Secret_Access_Key": "{_tag(i, 40)}"', _tag(i, 40)[4:]),
}
CLASS_OF = {name: name.split("-in-")[0].removesuffix("-long") for name in VARIANTS}

FINDING_FIELDS = (
    "subject.id",
    "subject.aliases",
    "title",
    "message",
    "references",
    "deployment",
    "location.path",
    "remediation.summary",
    "remediation.steps",
    "remediation.cli",
    "remediation.terraform",
    "remediation.cloudformation",
    "waiver.reason",
    "waiver.owner",
    "waiver.ticket",
    "expired_waiver.reason",
    "expired_waiver.owner",
    "expired_waiver.ticket",
)
REPORT_FIELDS = (
    "notice.kind",
    "notice.message",
    "notice.location.path",
    "input",
    "skipped.path",
    "skipped.reason",
)
FIELDS = FINDING_FIELDS + REPORT_FIELDS


class Secrets:
    def __init__(self, variant: str) -> None:
        self.text: dict[str, str] = {}
        self.hidden: dict[str, str] = {}
        for i, name in enumerate(FIELDS):
            self.text[name], self.hidden[name] = VARIANTS[variant](i)

    def __getitem__(self, name: str) -> str:
        return self.text[name]

    def leaks(self, text: str) -> list[str]:
        escaped = text.replace("\\/", "/")
        return [name for name, hidden in self.hidden.items() if hidden in text or hidden in escaped]


def _findings(s: Secrets, build: str) -> list[Finding]:
    """A failing finding, a waived one and one whose waiver expired, each carrying every field."""
    remediation = Remediation(
        s["remediation.summary"],
        (s["remediation.steps"], "step two"),
        cli=s["remediation.cli"],
        terraform=s["remediation.terraform"],
        cloudformation=s["remediation.cloudformation"],
    )
    waiver = WaiverRef(s["waiver.reason"], s["waiver.owner"], dt.date(2030, 1, 1), s["waiver.ticket"])
    expired = WaiverRef(
        s["expired_waiver.reason"], s["expired_waiver.owner"], dt.date(2020, 1, 1), s["expired_waiver.ticket"]
    )
    common: dict[str, Any] = {
        "rule_id": "R1-EP-001",
        "title": s["title"],
        "severity": Severity.HIGH,
        "enforcement": Enforcement.BLOCK,
        "subject": Subject(SubjectType.ENDPOINT, s["subject.id"], aliases=(s["subject.aliases"],)),
        "message": s["message"],
        "location": Location(s["location.path"], 3, 7),
        "references": (
            s["references"],
            "https://huggingface.co/docs/huggingface_hub/package_reference/hf_api",
        ),
        "deployment": s["deployment"],
    }
    shapes = [
        {"status": Status.FAIL, "remediation": remediation},
        {"status": Status.WAIVED, "waiver": waiver},
        {"status": Status.FAIL, "remediation": remediation, "expired_waiver": expired},
    ]
    if build == "create":
        return [Finding.create(**common, **shape) for shape in shapes]
    if build == "constructor":
        return [Finding(**common, **shape) for shape in shapes]
    # "replace": as a reader could build it, from a clean finding
    clean = Finding.create(
        **{**common, **_clean_fields()}, status=Status.FAIL, remediation=Remediation("fix")
    )
    return [dataclasses.replace(clean, **common, **shape) for shape in shapes]


def _clean_fields() -> dict[str, Any]:
    return {
        "title": "t",
        "message": "m",
        "subject": Subject(SubjectType.ENDPOINT, "e"),
        "location": None,
        "references": (),
        "deployment": None,
    }


def _report(s: Secrets, build: str = "create") -> Report:
    report = Report(
        _findings(s, build),
        notices=[Notice(s["notice.kind"], s["notice.message"], Location(s["notice.location.path"], 1, 2))],
        inputs=[s["input"]],
        skipped=[Skipped(s["skipped.path"], s["skipped.reason"])],
    )
    return report


def _audit_files(report: Report) -> dict[str, str]:
    from r1policy.audit.diff import diff_findings
    from r1policy.audit.document import build_document
    from r1policy.audit.publish import render_files
    from r1policy.audit.run import AuditRun
    from r1policy.formats.json_v1 import finding_to_json

    now = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    run = AuditRun("run-1", now, now, "state")
    document = build_document(
        report,
        run,
        diff=diff_findings([finding_to_json(f) for f in report.findings], None),
        baseline=None,
        history=[],
        show_passed=True,
    )
    return {f"audit {name}": text for name, text in render_files(document).items()}


def _outputs(report: Report, tmp_path: Path) -> Iterator[tuple[str, str]]:
    options = RenderOptions(show_passed=True, root=tmp_path, step_summary=tmp_path / "summary.md")
    for fmt, write in writers().items():
        yield fmt.value, write(report, options)
    from r1policy.formats import github

    for path, text in github.step_summary(report, options):
        yield f"github step summary {path.name}", text
    yield from _audit_files(report).items()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("build", ["create", "constructor", "replace"])
def test_no_secret_in_any_field_reaches_any_format(
    variant: str, build: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCOUNT_ID", "111122223333")  # ASFF and OCSF name an account
    secrets = Secrets(variant)
    report = _report(secrets, build)
    seen = set()
    for name, text in _outputs(report, tmp_path):
        seen.add(name)
        assert secrets.leaks(text) == [], f"{name} prints a secret whole"
    assert {f.value for f in Format} <= seen and {"audit audit.html", "audit audit.md"} <= seen
    # The JSON report shows every field but the aliases (checked on the objects below): each secret
    # is there, masked.
    document = writers()[Format.JSON](report, RenderOptions(show_passed=True))
    per_finding = 6  # subject id, title, message, references, deployment, location path
    remediation, waiver = 5, 3  # each on two findings; each waiver on one
    expected = 3 * per_finding + 2 * remediation + 2 * waiver + len(REPORT_FIELDS)
    assert document.count("…[redacted, ") == expected
    assert len(json.loads(document)["findings"]) == 3


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a value: dataclass fields, tuples and lists, recursively."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _strings(getattr(value, item.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("build", ["create", "constructor", "replace"])
def test_every_constructor_redacts_every_field(variant: str, build: str) -> None:
    """Independent of any writer: no string held by the findings or the report is a secret whole."""
    secrets = Secrets(variant)
    report = _report(secrets, build)
    held = "\n".join(
        [
            *_strings(report.findings),
            *_strings(report.notices),
            *_strings(report.inputs),
            *_strings(report.skipped),
        ]
    )
    assert secrets.leaks(held) == []
    # per finding: subject id and alias, title, message, references, deployment, location path; the
    # remediation's five fields on two findings; each waiver's three on one
    assert held.count("…[redacted, ") == 3 * 7 + 2 * 5 + 2 * 3 + len(REPORT_FIELDS)


@pytest.mark.parametrize(
    "add",
    [
        lambda r, n: r.notices.append(n),
        lambda r, n: r.notices.extend([n]),
        lambda r, n: r.notices.insert(0, n),
        lambda r, n: r.notices.__iadd__([n]),
        lambda r, n: r.notices.__setitem__(0, n),
        lambda r, n: r.notices.__setitem__(slice(0, 1), [n]),
        lambda r, n: setattr(r, "notices", [n]),
    ],
    ids=["append", "extend", "insert", "iadd", "setitem", "slice", "assign"],
)
def test_notices_are_redacted_however_they_enter_the_report(add: Callable[[Report, Notice], None]) -> None:
    secret = "AKIAIOSFODNN7EXAMPLE"
    report = Report([], notices=[Notice("note", "clean")])
    add(report, Notice("note", f"key {secret}", Location(f"{secret}.yaml")))
    report.inputs += [f"{secret}.yaml"]
    report.skipped.append(Skipped(f"{secret}/", f"why {secret}"))
    held = "\n".join([*_strings(report.notices), *report.inputs, *_strings(report.skipped)])
    assert secret not in held and held.count("AKIA…[redacted, 20 chars]") == 5


def test_a_clean_value_is_kept_as_it_was() -> None:
    notice = Notice("note", "nothing secret", Location("a.yaml", 1, 1))
    skipped = Skipped("node_modules/", "dependency folder")
    report = Report([], notices=[notice], skipped=[skipped], inputs=["a.yaml"])
    assert report.notices[0] is notice and report.skipped[0] is skipped and report.inputs == ["a.yaml"]
    remediation = Remediation("Fix it.", ("one", "two"), cli="aws x")
    assert remediation == Remediation("Fix it.", ("one", "two"), cli="aws x")
    assert Subject(SubjectType.MODEL, "m", ("a",)) == Subject(SubjectType.MODEL, "m", ("a",))


def test_a_copied_or_pickled_report_still_redacts_what_enters_it() -> None:
    import copy
    import pickle

    secret = "AKIAIOSFODNN7EXAMPLE"
    report = Report([], notices=[Notice("note", "clean")], inputs=["a.yaml"])
    for again in (copy.copy(report), copy.deepcopy(report), pickle.loads(pickle.dumps(report))):
        again.notices.append(Notice("note", secret))
        again.inputs.extend([secret])
        assert secret not in repr(again.notices) + repr(again.inputs)
