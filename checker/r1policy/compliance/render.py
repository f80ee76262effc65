"""The per-framework compliance tables of audit.md and audit.html, from the report's `compliance`
section (section.py): one row per control of each catalogue, with its status, rules and subjects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

STATUS_LABEL = {
    "fail": "FAIL",
    "error": "ERROR",
    "waived": "WAIVED",
    "pass": "PASS",
    "not evaluated": "NOT EVALUATED",
    "not covered": "NOT COVERED",
}


def subjects_text(control: Mapping[str, Any]) -> str:
    """The subjects behind a control's status (those with that status), else a count by status."""
    status = control["status"]
    if status == "not covered":
        return "no rule of this run supports this control"
    deciding = [s for s in control["subjects"] if s["status"] == status]
    if status == "not evaluated":
        return "all its rules were skipped" if control["counts"]["skipped"] else "no subject was judged"
    if status == "pass":
        count = control["counts"]["pass"]
        return f"{count} finding{'' if count == 1 else 's'} passed"
    names = sorted({f"{s['type']} {s['id']} ({s['rule_id']})" for s in deciding})
    return "; ".join(names)


def waivers_text(control: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{w['rule_id']} on {w['subject']} waived by {w['owner']} until {w['expires']}"
        + (f" ({w['ticket']})" if "ticket" in w else "")
        + f": {w['reason']}"
        for w in control.get("waivers", [])
    )


def summary_text(framework: Mapping[str, Any]) -> str:
    return ", ".join(f"{n} {k}" for k, n in framework["summary"].items() if n)


def markdown_section(frameworks: Sequence[Mapping[str, Any]], row: Any, inline: Any) -> list[str]:
    """Lines of the "Compliance" section; `row` and `inline` are the report's cell helpers."""
    out = ["## Compliance", ""]
    for fw in frameworks:
        origin = "custom catalogue" if fw["custom"] else "shipped catalogue"
        out += [f"### {inline(fw['name'])} ({fw['id']} {inline(fw['version'])})", ""]
        out += [f"{origin}; source: {inline(fw['sources'][0])}. Scope: {inline(fw['scope'])}", ""]
        out += [f"**{summary_text(fw)}.**", ""]
        out += [row("Control", "Title", "Status", "Rules", "Subjects"), "|---|---|---|---|---|"]
        for c in fw["controls"]:
            subjects = subjects_text(c)
            if c.get("waivers"):
                subjects += " — " + waivers_text(c)
            out.append(row(c["id"], c["title"], STATUS_LABEL[c["status"]], ", ".join(c["rules"]), subjects))
        out.append("")
    return out
