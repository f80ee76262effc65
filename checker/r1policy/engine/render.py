"""Messages and remediation rendered with jinja2 from the subject's real names."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from r1policy.core.findings import Remediation
from r1policy.rules.metadata import RuleMeta


def _tf_name(value: Any) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(value)).strip("_").lower()
    return name if name and not name[0].isdigit() else f"r_{name}"


@cache
def _environment() -> Any:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False, trim_blocks=True
    )
    env.filters["tf_name"] = _tf_name
    return env


@cache
def _template(source: str) -> Any:
    return _environment().from_string(source)


def render(source: str, names: dict[str, Any]) -> str:
    return str(_template(source).render(names))


def render_message(rule: RuleMeta, reason: str, names: dict[str, Any]) -> str:
    """The reason's message; `<reason>_<platform>` (e.g. `default_kubernetes`) when the rule words it
    for the platform the deployment runs on."""
    platform = names.get("platform")
    source = rule.messages.get(f"{reason}_{platform}") if platform and platform != "sagemaker" else None
    source = source or rule.messages.get(reason, rule.messages["default"])
    return " ".join(render(source, names).split())


def render_remediation(rule: RuleMeta, names: dict[str, Any]) -> Remediation:
    rem = rule.remediation
    return Remediation(
        summary=render(rem.summary, names),
        steps=tuple(render(step, names) for step in rem.steps),
        cli=render(rem.cli, names).rstrip() if rem.cli else None,
        terraform=render(rem.terraform, names).rstrip() if rem.terraform else None,
        cloudformation=render(rem.cloudformation, names).rstrip() if rem.cloudformation else None,
    )


def validate_templates(rule: RuleMeta, names: dict[str, Any]) -> list[str]:
    """Render every template of a rule once; return the errors (used by `policies test`)."""
    import jinja2

    problems = []
    sources = [*rule.messages.values(), rule.remediation.summary, *rule.remediation.steps]
    sources += [
        s for s in (rule.remediation.cli, rule.remediation.terraform, rule.remediation.cloudformation) if s
    ]
    for source in sources:
        try:
            render(source, names)
        except jinja2.TemplateError as exc:
            problems.append(f"{rule.id}: template {source[:40]!r}…: {exc}")
    return problems
