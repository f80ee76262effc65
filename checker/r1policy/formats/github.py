"""GitHub Actions: workflow commands that become annotations, a grouped log, and the job summary.

- `fail`/`error` -> `::error` when it blocks, `::warning` for warn (`::notice` when the severity is low
  or info), `::notice` for off (the same severity x enforcement mapping as SARIF levels); waived
  findings and notices (expired waivers, nothing to check) -> `::notice`. Skipped rules and (with
  --show-passed) passes appear only in the log group.
- Values are escaped as the Actions runner expects: in the message `%`, CR and LF become `%25`, `%0D`,
  `%0A`; in properties (file, title) also `:` and `,` become `%3A` and `%2C`.
- Every log line starts with a word, never with `::`, and carries no raw newline, so no finding text can
  smuggle in a workflow command of its own.
- With GITHUB_STEP_SUMMARY set, `step_summary` returns a Markdown summary to append to that file.
"""

from __future__ import annotations

from pathlib import Path

from r1policy.core.findings import Finding, Location, Status
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.common import (
    by_subject,
    clean,
    display_path,
    fix_line,
    level,
    one_line,
    root_of,
    shorten,
    shown,
    summary_line,
    verdict,
)

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}
# The runner keeps annotations short; the full text stays in the log and the other formats.
MAX_MESSAGE = 4000


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    props = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _annotation(f: Finding, root: Path) -> str | None:
    if f.status in (Status.FAIL, Status.ERROR):
        name = _COMMAND[level(f.severity, f.enforcement)]
    elif f.status is Status.WAIVED:
        name = "notice"
    else:
        return None
    text = shorten(clean(f.message), MAX_MESSAGE)
    fix = clean(fix_line(f))
    if f.status is Status.WAIVED:
        body = f"{text}\n{fix}"
    elif fix:
        body = f"{text}\nFix: {fix}"
    else:
        body = text
    loc = f.location
    if loc is not None and loc.cell is not None:
        # A notebook: the line is within a cell, not of the .ipynb file; annotate the file, name the cell.
        body = f"cell {loc.cell}, line {loc.line}: {body}"
        loc = Location(loc.path)
    return command(
        name,
        body,
        file=display_path(loc.path, root) if loc else None,
        line=loc.line if loc else None,
        col=loc.column if loc and loc.line is not None else None,
        title=clean(f"{f.rule_id} {verdict(f)}, {f.severity.value}: {f.title}"),
    )


def render(report: Report, options: RenderOptions) -> str:
    root = root_of(options)
    lines: list[str] = []
    for f in shown(report, options):
        annotation = _annotation(f, root)
        if annotation is not None:
            lines.append(annotation)
    for n in report.notices:
        loc = n.location
        lines.append(
            command(
                "warning" if n.kind == "expired-waiver" else "notice",
                clean(n.message),
                file=display_path(loc.path, root) if loc else None,
                line=loc.line if loc else None,
                title=f"r1policy {n.kind}",
            )
        )
    for title, items in by_subject(shown(report, options)):
        lines.append(command("group", f"r1policy: {clean(title)}"))
        for f in items:
            where = f" at {display_path(f.location.path, root)}:{f.location.line}" if f.location else ""
            lines.append(one_line(f"{verdict(f)} {f.severity.value} {f.rule_id}{where}: {f.message}"))
            fix = fix_line(f)
            if fix:
                lines.append("    fix: " + one_line(fix))
        lines.append("::endgroup::")
    lines.append(f"r1policy decision: {report.decision.upper()} ({summary_line(report)})")
    return "\n".join(lines) + "\n"


def step_summary(report: Report, options: RenderOptions) -> list[tuple[Path, str]]:
    """The job summary (Markdown) to append to GITHUB_STEP_SUMMARY, when that file is known."""
    if options.step_summary is None:
        return []
    from r1policy.formats.markdown import summary_markdown

    return [(options.step_summary, summary_markdown(report, options, limit=100_000) + "\n")]
