"""audit.md: the same content as audit.html in Markdown, from the audit.json document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from r1policy.audit.diff import TRACKED, identity, keys_of
from r1policy.audit.html import SEVERITIES, SNIPPETS, STATUS_ORDER, place_label
from r1policy.audit.orgview import COUNTS, by_account, by_region, organization_summary, rollups_wanted
from r1policy.compliance.render import markdown_section

_SUMMARY_KEYS = ("blocking", "warnings", "errors", "waived", "skipped", "passed", "subjects")
_TREND_KEYS = ("blocking", "warnings", "errors", "waived", "passed", "open")
_INVENTORY_KEYS = (
    "account",
    "region",
    "models",
    "endpoint_configs",
    "endpoints",
    "buckets",
    "blocking",
    "warnings",
    "errors",
    "waived",
)


def _cell(text: object) -> str:
    """A table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")


def _row(*cells: object) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _inline(text: object) -> str:
    return " ".join(str(text).split())


def _code(text: object) -> str:
    value = _inline(text)
    fence = "``" if "`" in value else "`"
    return f"{fence}{value}{fence}" if fence == "`" else f"{fence} {value} {fence}"


def _change_row(kind: str, c: Mapping[str, Any]) -> str:
    subject = c["subject"]["id"] + (f" ({c['location_path']})" if "location_path" in c else "")
    if kind == "resolved":
        now = c["status"] or "not reported (resource gone or out of scope)"
        status = f"was {c['previous_status']}, now {now}"
    elif c["previous_status"] and c["previous_status"] != c["status"]:
        status = f"{c['status']} (was {c['previous_status']})"
    else:
        status = str(c["status"])
    return _row(c["severity"].upper(), f"{c['rule_id']}: {c['title']}", subject, status)


def _finding(f: Mapping[str, Any], new: bool, place: str) -> list[str]:
    subject = f"{f['subject']['type']} {_code(f['subject']['id'])}"
    lines = [f"- **{f['status'].upper()}** {f['severity'].upper()} {subject}" + (" **NEW**" if new else "")]
    meta = [f"enforcement: {f['enforcement']}"]
    if place:
        meta.append(place)
    if "deployment" in f:
        meta.append(f"deployment {f['deployment']}")
    if "location" in f:
        loc = f["location"]
        meta.append(loc["path"] + (f":{loc['line']}" if loc.get("line") else ""))
    lines.append(f"  - {_inline(' · '.join(meta))}")
    lines.append(f"  - {_inline(f['message'])}")
    if "waiver" in f:
        w = f["waiver"]
        ticket = f" ({w['ticket']})" if "ticket" in w else ""
        lines.append(f"  - Waived by {w['owner']} until {w['expires']}{ticket}: {_inline(w['reason'])}")
    if "expired_waiver" in f:
        w = f["expired_waiver"]
        ticket = f" ({w['ticket']})" if "ticket" in w else ""
        lines.append(
            f"  - Expired waiver (waives nothing): owner {w['owner']}, expired {w['expires']}{ticket}: "
            + _inline(w["reason"])
        )
    rem = f.get("remediation")
    if rem:
        lines.append(f"  - How to fix: {_inline(rem['summary'])}")
        lines.extend(f"    {i}. {_inline(step)}" for i, step in enumerate(rem["steps"], start=1))
        for key, label in SNIPPETS:
            if key in rem:
                lang = {"cli": "sh", "terraform": "hcl", "cloudformation": "yaml"}[key]
                fence = "~~~~" if "```" in rem[key] else "```"
                body = "\n".join("    " + line for line in rem[key].rstrip("\n").splitlines())
                lines.append(f"  - {label}:\n\n    {fence}{lang}\n{body}\n    {fence}\n")
    return lines


def _header(document: Mapping[str, Any]) -> list[str]:
    audit = document["audit"]
    summary = document["summary"]
    out = [
        f"# r1policy audit {audit['run_id']}: {document['decision'].upper()}",
        "",
        f"Started {audit['started_at']}, finished {audit['finished_at']}; source: {audit['source']}"
        + (f" ({audit['state_file']})" if "state_file" in audit else "")
        + f"; regions: {', '.join(audit['scope']['regions']) or 'none'}"
        + f"; accounts: {', '.join(audit['scope']['accounts']) or 'none'}"
        + f"; {document['tool']['name']} {document['tool']['version']}.",
        "",
    ]
    if audit.get("merged_from"):
        out += [
            f"Merged from {len(audit['merged_from'])} shard reports: {', '.join(audit['merged_from'])}.",
            "",
        ]
    org = organization_summary(audit)
    if org is not None:
        out += ["## Organization", "", org.sentence(), ""]
        if org.attention:
            out += [_row("Account", "Name", "Status", "Why"), "|---|---|---|---|"]
            out += [_row(r["account"], r["name"], r["status"], r.get("message", "")) for r in org.attention]
            out.append("")
    out += [
        "## Summary",
        "",
        _row(*(k.capitalize() for k in _SUMMARY_KEYS)),
        "|" + "---:|" * len(_SUMMARY_KEYS),
        _row(*(summary[k] for k in _SUMMARY_KEYS)),
        "",
    ]
    return out


def _changes(audit: Mapping[str, Any]) -> list[str]:
    out = ["## Changes since the baseline", ""]
    diff = audit["diff"]
    baseline = audit["baseline"]
    if baseline:
        out.append(f"Compared with run {baseline['run_id']} ({_inline(baseline['path'])}).")
    else:
        out.append("No baseline: this is the first audit in this report directory, so every finding is new.")
    out += [
        "",
        f"**{len(diff['new'])} new, {len(diff['resolved'])} resolved, "
        f"{len(diff['persisting'])} persisting.**",
        "",
    ]
    for kind in ("new", "resolved", "persisting"):
        if diff[kind] and baseline:
            out += [f"### {kind.capitalize()} ({len(diff[kind])})", ""]
            out += ["| Severity | Rule | Subject | Status |", "|---|---|---|---|"]
            out += [_change_row(kind, c) for c in diff[kind]]
            out.append("")
    out += ["## Trend", "", _row("Run", *(k.capitalize() for k in _TREND_KEYS)), "|---|" + "---:|" * 6]
    out += [_row(p["run_id"], *(p[k] for k in _TREND_KEYS)) for p in audit["trend"]]
    return out


def _rollups(audit: Mapping[str, Any]) -> list[str]:
    counts = [k.replace("_", " ").capitalize() for k in COUNTS]
    out = ["### By account", "", _row("Account", "Name", "Status", "Regions", *counts)]
    out.append("|---|---|---|" + "---:|" * (1 + len(COUNTS)))
    out += [
        _row(r["account"], r["name"], r["status"], r["regions"], *(r[k] for k in COUNTS))
        for r in by_account(audit)
    ]
    out += [
        "",
        "### By region",
        "",
        _row("Region", "Accounts", *counts),
        "|---|" + "---:|" * (1 + len(COUNTS)),
    ]
    out += [_row(r["region"], r["accounts"], *(r[k] for k in COUNTS)) for r in by_region(audit)]
    return [*out, "", "### By account and region", ""]


def _accounts(audit: Mapping[str, Any]) -> list[str]:
    out = ["", "## Accounts and regions", ""]
    if rollups_wanted(audit):
        out += _rollups(audit)
    if audit["inventory"]:
        out += [_row(*(k.replace("_", " ").capitalize() for k in _INVENTORY_KEYS)), "|---|---|" + "---:|" * 8]
        out += [_row(*(r[k] for k in _INVENTORY_KEYS)) for r in audit["inventory"]]
    else:
        out.append("No SageMaker resources were found in the audited accounts and regions.")
    out += _weights(audit.get("weights_access") or [], audit.get("role_reads", ""))
    if audit.get("licences"):
        out += [
            "",
            "## Licences",
            "",
            _row("Deployment", "Model", "Effective licences", "Obligations", "Decision"),
        ]
        out.append("|---|---|---|---|---|")
        out += [
            _row(
                r["deployment"],
                r["model"],
                r["lineage"] or r["licences"],
                r["obligations"] or "-",
                r["decision"],
            )
            for r in audit["licences"]
        ]
    out.append("")
    return out


def _findings(document: Mapping[str, Any]) -> list[str]:
    audit = document["audit"]
    out = ["## Findings", ""]
    new_keys = keys_of(audit["diff"]["new"])
    placement = audit.get("placement", {})
    tracked = [f for f in document["findings"] if f["status"] in TRACKED]
    if not tracked:
        out.append(
            "No finding needs attention: nothing failed, nothing could not be evaluated, nothing is waived."
        )
    for severity in SEVERITIES:
        of_sev = [f for f in tracked if f["severity"] == severity]
        if not of_sev:
            continue
        out += [f"### {severity.upper()} ({len(of_sev)})", ""]
        for rule_id in sorted({f["rule_id"] for f in of_sev}):
            items = sorted(
                (f for f in of_sev if f["rule_id"] == rule_id),
                key=lambda f: (STATUS_ORDER[f["status"]], f["subject"]["id"]),
            )
            out += [f"#### {rule_id}: {_inline(items[0]['title'])} ({len(items)})", ""]
            for f in items:
                out += _finding(f, identity(f) in new_keys, place_label(f, placement))
            out.append("")
    return out


def _others(document: Mapping[str, Any]) -> list[str]:
    others = [f for f in document["findings"] if f["status"] not in TRACKED]
    if not others:
        return []
    out = ["## Skipped" + (" and passed" if any(f["status"] == "pass" for f in others) else ""), ""]
    out += ["| Status | Rule | Subjects | Why |", "|---|---|---:|---|"]
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for f in others:
        groups.setdefault((f["status"], f["rule_id"]), []).append(f)
    ordered = sorted(groups.items(), key=lambda kv: (STATUS_ORDER[kv[0][0]], kv[0][1]))
    for (status, rule_id), items in ordered:
        why = "; ".join(dict.fromkeys(_inline(f["message"]) for f in items))
        out.append(_row(status.upper(), f"{rule_id}: {items[0]['title']}", len(items), why))
    return [*out, ""]


def _problems(document: Mapping[str, Any]) -> list[str]:
    audit = document["audit"]
    if not (audit["problems"] or document.get("notices")):
        return []
    out = ["## Problems and notices", ""]
    for p in audit["problems"]:
        where = f" ({p['account']} / {p['region']})" if "account" in p else ""
        out.append(f"- inventory: {_code(p['resource_id'])}{where}: {_inline(p['message'])}")
    for n in document.get("notices", []):
        out.append(f"- {n['kind']}: {_inline(n['message'])}")
    return [*out, ""]


def render_markdown(document: Mapping[str, Any]) -> str:
    audit = document["audit"]
    out = _header(document) + _changes(audit) + _accounts(audit)
    if "compliance" in document:
        out += markdown_section(document["compliance"]["frameworks"], _row, _inline)
    out += _findings(document) + _others(document) + _problems(document)
    return "\n".join(out).rstrip("\n") + "\n"


def _weights(rows: list[Mapping[str, Any]], reads: str) -> list[str]:
    """Who can change the weights: per model bucket, writers, deleters and decrypters."""
    if not rows:
        return []
    out = ["", "## Who can change the weights", ""]
    if reads:
        out += [f"{_inline(reads)}.", ""]
    out.append(_row("Bucket", "Writers", "Deleters", "Decrypters", "Could not be judged"))
    out.append("|---|---|---|---|---|")
    for r in rows:
        cells = (", ".join(_inline(x) for x in r[k]) or "none" for k in ("writers", "deleters", "decrypters"))
        out.append(_row(_code(r["bucket"]), *cells, ", ".join(_inline(x) for x in r["unknown"]) or "-"))
    return out
