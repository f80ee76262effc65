"""Rule documentation in Markdown, from the rule metadata.

`rule_markdown` is what `r1policy policies show ID` prints and what SARIF carries as a rule's help;
`python -m r1policy.ruledocs.markdown [--out DIR] [--check]` writes one page per built-in rule plus an index
(`docs/rules/` by default) or, with `--check`, exits 1 when the pages on disk are stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from r1policy.rules.metadata import RuleMeta

_EQUIV_NAMES = {"checkov": "Checkov", "prowler": "Prowler", "securityhub": "AWS Security Hub"}
_SOURCE_NAMES = {"hub": "Hugging Face Hub", "s3": "S3", "local": "local files", "none": "no model source"}
_EXPRESSION = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
_IF_ELSE = re.compile(
    r"\{%-?\s*if\b(?:(?!\{%).)*?%\}(?:(?!\{%).)*\{%-?\s*else\s*-?%\}((?:(?!\{%).)*)\{%-?\s*endif\s*-?%\}",
    re.DOTALL,
)
_NAME = re.compile(r"[A-Za-z_]\w*")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
INDEX = "README.md"


def placeholders(template: str) -> str:
    """A remediation template as documentation: `{{ bucket | tf_name }}` becomes `<bucket>`."""

    def _name(match: re.Match[str]) -> str:
        first = _NAME.match(match.group(1))
        return f"<{first.group(0)}>" if first else "<value>"

    # A documented step reads like the general case: `{% if x %}A{% else %}B{% endif %}` becomes B.
    template = _IF_ELSE.sub(lambda m: m.group(1), template)
    return _STATEMENT.sub("", _EXPRESSION.sub(_name, template))


def _one_paragraph(text: str) -> str:
    return " ".join(text.split())


def html_safe(text: str) -> str:
    """Prose for a Markdown renderer that passes raw HTML (GitHub): placeholders, then `<` and `>` outside
    code spans escaped, so that `<bucket>` shows instead of vanishing as an unknown HTML tag."""
    text = placeholders(text)
    out: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        out += [_escape_html(text[last : span.start()]), span.group(0)]
        last = span.end()
    out.append(_escape_html(text[last:]))
    return "".join(out)


def _escape_html(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def rule_markdown(rule: RuleMeta, *, for_html: bool = False) -> str:
    """One rule's page. `for_html` escapes prose for GitHub's renderer (docs/rules, SARIF help);
    without it the text reads well in a terminal (`policies show`)."""
    prose = html_safe if for_html else placeholders
    lines = [
        f"# {rule.id}: {prose(rule.title)}",
        "",
        f"- Severity: {rule.severity.value}",
        f"- Default enforcement: {rule.enforcement.value}",
        f"- Subject: {rule.subject.value}",
    ]
    if rule.sources and set(rule.sources) != set(_SOURCE_NAMES):
        names = sorted(_SOURCE_NAMES.get(s.value, s.value) for s in rule.sources)
        lines.append(f"- Applies to models from: {', '.join(names)}")
    if rule.needs_endpoint:
        lines.append("- Applies to deployments with a SageMaker endpoint")
    if rule.requires:
        lines.append(f"- Needs: {', '.join(sorted(rule.requires))}")
    lines += ["", "## What it checks", "", prose(_one_paragraph(rule.details or rule.title)), ""]
    lines += ["## Why", "", prose(rule.rationale), ""]
    rem = rule.remediation
    lines += ["## How to fix", "", prose(rem.summary), ""]
    lines += [f"{i}. {prose(step)}" for i, step in enumerate(rem.steps, 1)]
    for label, snippet, lang in (
        ("AWS CLI", rem.cli, "sh"),
        ("Terraform", rem.terraform, "hcl"),
        ("CloudFormation", rem.cloudformation, "yaml"),
    ):
        if snippet:
            lines += ["", f"### {label}", "", f"```{lang}", placeholders(snippet).rstrip(), "```"]
    if rule.references:
        lines += ["", "## References", ""]
        lines += [f"- {ref}" for ref in rule.references]
    if rule.equivalents:
        lines += ["", "## Equivalent controls", ""]
        for tool, ids in sorted(rule.equivalents.items()):
            lines.append(f"- {_EQUIV_NAMES.get(tool, tool)}: {', '.join(ids)}")
    if rule.compliance:
        lines += ["", "## Compliance frameworks", ""]
        lines += _compliance_lines(rule)
    return "\n".join(lines) + "\n"


def _compliance_lines(rule: RuleMeta) -> list[str]:
    """Each framework's controls this rule supports, with their titles from the shipped catalogues."""
    from r1policy.rules.catalogue import shipped_catalogues

    catalogues = shipped_catalogues()
    out = []
    for framework, ids in rule.compliance.items():
        catalogue = catalogues[framework]
        titles = {c.id: c.title for c in catalogue.controls}
        controls = "; ".join(f"{c} {titles[c]}" for c in ids)
        out.append(f"- {catalogue.name} ({catalogue.version}): {controls}")
    return out


def rule_help_text(rule: RuleMeta) -> str:
    """Plain-text help (SARIF `help.text`): why, then how to fix."""
    rem = rule.remediation
    steps = " ".join(f"{i}. {placeholders(step)}" for i, step in enumerate(rem.steps, 1))
    return f"{rule.rationale}\n\nHow to fix: {placeholders(rem.summary)} {steps}".strip()


def index_markdown(rules: Iterable[RuleMeta]) -> str:
    lines = [
        "# Rules",
        "",
        "Generated from `policies/<RULE-ID>/rule.yaml` by `python -m r1policy.ruledocs.markdown`; do not edit by",
        "hand (a test fails when these pages are stale). `r1policy policies show ID` prints a rule's page.",
        "",
        "| id | severity | default | subject | rule |",
        "|---|---|---|---|---|",
    ]
    for rule in sorted(rules, key=lambda r: r.id):
        title = html_safe(rule.title).replace("|", "\\|")
        lines.append(
            f"| [{rule.id}]({rule.id}.md) | {rule.severity.value} | {rule.enforcement.value} "
            f"| {rule.subject.value} | {title} |"
        )
    return "\n".join(lines) + "\n"


def generate(rules: Iterable[RuleMeta]) -> dict[str, str]:
    """File name -> content for the rule documentation folder."""
    chosen = sorted(rules, key=lambda r: r.id)
    pages = {f"{rule.id}.md": rule_markdown(rule, for_html=True) for rule in chosen}
    pages[INDEX] = index_markdown(chosen)
    return pages


def stale(pages: dict[str, str], folder: Path) -> list[str]:
    """Files in `folder` that differ from `pages`, are missing, or are no longer generated."""
    problems = [
        name
        for name, text in sorted(pages.items())
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
    ]
    if folder.is_dir():
        problems += sorted(p.name for p in folder.glob("*.md") if p.name not in pages)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m r1policy.ruledocs.markdown",
        description="Generate docs/rules/ from the built-in rule metadata.",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/rules"), help="folder (default: docs/rules)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the folder is stale; write nothing")
    args = parser.parse_args(argv)
    from r1policy.formats.output import write_atomic
    from r1policy.rules.registry import load_registry

    pages = generate(r for r in load_registry().rules.values() if r.builtin)
    problems = stale(pages, args.out)
    if args.check:
        for name in problems:
            print(f"{args.out / name}: stale (run `python -m r1policy.ruledocs.markdown`)", file=sys.stderr)
        return 1 if problems else 0
    for name in problems:
        if name in pages:
            write_atomic(args.out / name, pages[name])
        else:
            (args.out / name).unlink()
    print(f"{args.out}: {len(pages)} pages, {len(problems)} updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
