"""Rule documentation in Markdown, from the rule metadata (used by `policies show`)."""

from __future__ import annotations

from r1policy.rules.metadata import RuleMeta

_EQUIV_NAMES = {"checkov": "Checkov", "prowler": "Prowler", "securityhub": "AWS Security Hub"}


def rule_markdown(rule: RuleMeta) -> str:
    lines = [
        f"# {rule.id}: {rule.title}",
        "",
        f"- Severity: {rule.severity.value}",
        f"- Default enforcement: {rule.enforcement.value}",
        f"- Subject: {rule.subject.value}",
    ]
    if rule.requires:
        lines.append(f"- Needs: {', '.join(sorted(rule.requires))}")
    lines += ["", "## Why", "", rule.rationale, ""]
    if rule.details:
        lines += ["## How it decides", "", rule.details.strip(), ""]
    rem = rule.remediation
    lines += ["## How to fix", "", rem.summary, ""]
    lines += [f"{i}. {step}" for i, step in enumerate(rem.steps, 1)]
    for label, snippet, lang in (
        ("AWS CLI", rem.cli, "sh"),
        ("Terraform", rem.terraform, "hcl"),
        ("CloudFormation", rem.cloudformation, "yaml"),
    ):
        if snippet:
            lines += ["", f"### {label}", "", f"```{lang}", snippet.rstrip(), "```"]
    lines += ["", "## References", ""]
    lines += [f"- {ref}" for ref in rule.references]
    if rule.equivalents:
        lines += ["", "## Equivalent controls", ""]
        for tool, ids in sorted(rule.equivalents.items()):
            lines.append(f"- {_EQUIV_NAMES.get(tool, tool)}: {', '.join(ids)}")
    return "\n".join(lines) + "\n"
