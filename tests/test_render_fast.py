"""Rendering shortcuts give exactly what Jinja gives: the text-and-fields fast path on every built-in
template, the cache of renderings, and the redaction cache and pre-filter."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from r1policy.core.findings import _SECRET_PATTERNS, _mask, redact
from r1policy.engine import render
from r1policy.rules.registry import load_registry

RULES = list(load_registry().rules.values())
RULES_BY_ID = {rule.id: rule for rule in RULES}

VALUES: tuple[Any, ...] = (
    "acme-llm-weights",
    "Deploy {{ x }} {% if %}",
    "line one\nline two\r\n",
    "ünïcode ✓ 中文",
    "",
    0,
    17.9,
    1.0,
    True,
    None,
    ["a", "b"],
    {"k": "v"},
)


def _sources(rule: Any) -> list[str]:
    rem = rule.remediation
    found = [*rule.messages.values(), rem.summary, *rem.steps]
    return found + [s for s in (rem.cli, rem.terraform, rem.cloudformation) if s]


def _jinja(source: str, names: dict[str, Any]) -> str:
    return str(render._template(source).render(names))


def _renders_as_jinja(
    source: str, names: dict[str, Any], renderers: tuple[Callable[[str, dict[str, Any]], str], ...] = ()
) -> None:
    """`render` (and each of `renderers`) gives Jinja's text, or fails as Jinja fails (syntax errors,
    undefined names)."""
    try:
        expected = _jinja(source, names)
    except Exception as exc:  # noqa: BLE001 - a template that fails for these names must fail alike
        for renderer in (*renderers, render.render):
            with pytest.raises(type(exc)):
                renderer(source, names)
        return
    for renderer in (*renderers, render.render):
        assert renderer(source, names) == expected


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_builtin_template_renders_as_jinja_does(rule: Any) -> None:
    for source in _sources(rule):
        variables = render._variables(source)
        for value in VALUES:
            names = dict.fromkeys(variables, value)
            # uncached, then through `render` twice: the second from the cache
            _renders_as_jinja(source, names, (render._render_uncached, render.render))


def test_most_builtin_templates_take_the_fast_path() -> None:
    sources = [s for rule in RULES for s in _sources(rule)]
    simple = [s for s in sources if render._simple(s) is not None]
    assert len(simple) > 0.8 * len(sources)


FIELDS = st.sampled_from(
    [
        "{{ a }}",
        "{{ a | tf_name }}",
        "{{ b }}",
        "{{a}}",
        "{{ a|tf_name }}",
        "{%",
        "{#",
        "{{ a or b }}",
        "{{ b or a }}",
        '{{ a or "none configured" }}',
        "{{ b or a or 'x' }}",
        "{{ a or '' }}",
        "{{ a or b | tf_name }}",
        "{{ none }}",
        "{{ true or a }}",
        "{{ a or none }}",
        '{{ a or "it\\"s" }}',
    ]
)
TEXT = st.text(alphabet=st.sampled_from(list("ab {}%#\n\r-|_x")), max_size=6)
SOURCES = st.lists(st.one_of(FIELDS, TEXT), max_size=6).map("".join)


@settings(max_examples=400, deadline=None)  # the shared machine's load, not the code, varies
@given(SOURCES, st.sampled_from((*VALUES, 0, [], {})), st.sampled_from(["B", "", 0, None, "absent"]))
def test_generated_templates_render_as_jinja_does(source: str, value: Any, b: Any) -> None:
    names = {"a": value, **({"b": b} if b != "absent" else {})}
    try:
        expected = _jinja(source, names)
    except Exception as exc:  # noqa: BLE001 - syntax errors and undefined names must fail alike
        with pytest.raises(type(exc)):
            render._render_uncached(source, names)
        with pytest.raises(type(exc)):
            render.render(source, names)
        return
    assert render._render_uncached(source, names) == expected
    assert render.render(source, names) == expected


BRANCH = st.lists(st.one_of(FIELDS, TEXT), max_size=4).map("".join)


@settings(max_examples=400, deadline=None)
@given(
    BRANCH,
    BRANCH,
    st.sampled_from(["x", "kubernetes", "", "it%s"]),
    st.sampled_from((*VALUES, "x", "kubernetes", "it%s")),
    st.sampled_from(["", "\n"]),
)
def test_generated_if_else_templates_render_as_jinja_does(
    then: str, other: str, text: str, value: Any, end: str
) -> None:
    """`{% if a == 'text' %}A{% else %}B{% endif %}` is filled without Jinja when A and B are plain."""
    source = f"{{% if a == '{text}' %}}{then}{{% else %}}{other}{{% endif %}}{end}"
    names = {"a": value, "b": "B"}
    _renders_as_jinja(source, names)


CONDITIONS = st.sampled_from(
    [
        "a",
        "b",
        "a == 'x'",
        "a != ''",
        "a == b",
        "b != a",
        "a and b",
        "b and a == 'x'",
        "a and b != 'B' and a",
        "a and c",  # `c` is never given: read only when `a` is true
        "none",
        "a or b",
        "not a",
        'a == "x"',
        "a  and b",
        "a == 'it%s'",
        "a==b",
    ]
)
TAIL = st.sampled_from(["", "\n", "\n\n", "{", "}"])


@settings(max_examples=600, deadline=None)
@given(
    BRANCH,
    CONDITIONS,
    BRANCH,
    st.one_of(st.none(), BRANCH),
    st.one_of(st.none(), st.tuples(CONDITIONS, BRANCH)),
    TAIL,
    st.sampled_from((*VALUES, "x", "it%s", 0, [])),
    st.sampled_from(["B", "", 0, None, "x", "absent"]),
)
def test_generated_if_blocks_render_as_jinja_does(
    before: str,
    test: str,
    then: str,
    other: str | None,
    second: tuple[str, str] | None,
    tail: str,
    value: Any,
    b: Any,
) -> None:
    """`{% if TEST %}A{% endif %}` and `{% if TEST %}A{% else %}B{% endif %}` among text and fields,
    one or two of them, are filled without Jinja when every part is plain, and exactly as Jinja fills
    them (or fail as Jinja fails)."""
    source = before + "{% if " + test + " %}" + then
    source += ("{% else %}" + other if other is not None else "") + "{% endif %}"
    if second is not None:
        source += "{% if " + second[0] + " %}" + second[1] + "{% endif %}"
    source += tail
    names = {"a": value, **({"b": b} if b != "absent" else {})}
    _renders_as_jinja(source, names)


@pytest.mark.parametrize(
    "source",
    [
        "x{% if a %}[{{ a }}]{% endif %}y",
        "{% if a and b != 'z' %}{{ a }}{% else %}-{% endif %}\n",
        "{% if a == b %}same{% endif %}{% if b %}{{ b }}{% endif %}",
    ],
)
def test_plain_if_blocks_take_the_fast_path(source: str) -> None:
    assert render._blocks(source) is not None


@pytest.mark.parametrize(
    "source",
    [
        "{% if a %}\nx{% endif %}",  # trim_blocks drops that newline
        "{%- if a %}x{% endif %}",  # whitespace control
        "{% if a %}{% if b %}x{% endif %}{% endif %}",  # nested
        "{% if a %}x{% elif b %}y{% endif %}",
        "x{{% if a %}y{% endif %}",  # `{{%` opens a field for Jinja's lexer
        "{% if a %}x",  # no endif: Jinja's syntax error
        "{% for x in a %}{{ x }}{% endfor %}",
        "{% if a is defined %}x{% endif %}",
    ],
)
def test_other_tags_go_to_jinja(source: str) -> None:
    assert render._blocks(source) is None


@pytest.mark.parametrize(
    "source",
    ["{{ self }}", "x {{ self | tf_name }}", "{{ a or self }}", "{% if self %}T{% else %}F{% endif %}"],
)
def test_self_is_jinjas_template_reference_not_a_name(source: str) -> None:
    """`self` is the template's own reference in Jinja, whatever the names hold: such a template is
    rendered by Jinja, never filled from a name `self`."""
    assert render._simple(source) is None
    assert render._blocks(source) is None
    _renders_as_jinja(source, {"self": "", "a": ""})


def test_builtin_templates_that_need_jinja() -> None:
    """Every built-in template but R1-EP-008's messages (whitespace control, conditional expressions)
    is filled without Jinja: a check of built-in rules imports Jinja only to word R1-EP-008."""
    needing = [
        (rule.id, source)
        for rule in RULES
        for source in _sources(rule)
        if render._compiled(source) is None and render._blocks(source) is None
    ]
    assert {rule for rule, _ in needing} == {"R1-EP-008"}
    assert all(source in RULES_BY_ID["R1-EP-008"].messages.values() for _, source in needing)


def test_the_builtin_platform_choice_takes_the_fast_path() -> None:
    """R1-HUB-006's remediation step words itself for Kubernetes or SageMaker: no Jinja per deployment."""
    steps = [s for rule in RULES for s in rule.remediation.steps if s.startswith("{% if platform ==")]
    assert steps
    assert all(render._blocks(s) is not None for s in steps)


@pytest.mark.parametrize("source", ["\n{{{ a }}", "{{{ a }}}", "{{ a }}{{{ a }}", "{{{{ a }}"])
def test_a_brace_before_a_field_goes_to_jinja(source: str) -> None:
    assert render._simple(source) is None


def test_renderings_differ_where_values_render_differently() -> None:
    source = "{{ a }}"
    assert [render.render(source, {"a": v}) for v in (1, 1.0, True, "1")] == ["1", "1.0", "True", "1"]


def _redact_every_pattern(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_mask, text)
    return text


SECRETISH = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "AKIAIOSFODNN7EXAMPLE",
                "ASIA" + "B" * 16,
                "hf_" + "a" * 34,
                "aws_secret_access_key = ",
                "SECRET_ACCESS_KEY: '",
                "ſecret_acceſſ_Key=",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ]
        ),
        st.text(max_size=8),
    ),
    max_size=5,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(SECRETISH)
def test_redaction_prefilter_and_cache_change_nothing(text: str) -> None:
    assert redact(text) == _redact_every_pattern(text)
    assert redact(text) == _redact_every_pattern(text)  # from the cache


def test_redaction_still_masks_after_the_cache_fills() -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    for i in range(70_000):
        redact(f"text {i}")
    assert re.search(r"AKIA…\[redacted, 20 chars\]", redact(f"id {key}"))


def _finding(i: int) -> Any:
    from r1policy.core.findings import Enforcement, Finding, Location, Remediation, Severity, Status, Subject
    from r1policy.core.findings import SubjectType as Kind

    failing = i % 3 == 0
    return Finding.create(
        rule_id="R1-EP-001",
        title="Endpoint runs on an approved instance type",
        severity=Severity.HIGH,
        status=Status.FAIL if failing else Status.PASS,
        enforcement=Enforcement.BLOCK,
        subject=Subject(Kind.ENDPOINT, f"arn:aws:sagemaker:us-east-1:111122223333:endpoint/e-{i}"),
        message=f'instance ml.m5.xlarge is not approved "quoted" ✓ AKIAIOSFODNN7EXAMPL{i % 10}',
        location=Location(f"deploy-{i}.yaml", 12, 5),
        remediation=Remediation("Use an approved type.", ("step\none", "tab\there")) if failing else None,
    )


@pytest.mark.parametrize("count", [10, 1001, 3000])
def test_large_json_reports_are_the_same_document_one_finding_per_line(count: int) -> None:
    import json

    from r1policy.engine.evaluate import Notice
    from r1policy.engine.report import Report
    from r1policy.formats import RenderOptions, json_v1

    report = Report([_finding(i) for i in range(count)], notices=[Notice("note", "a\nnote")], inputs=["x"])
    options = RenderOptions(show_passed=True)
    text = json_v1.render(report, options)
    expected = json_v1.report_to_json(report, options)  # the findings were redacted when built
    assert json.loads(text) == expected
    assert "AKIAIOSFODNN7EXAMPL" not in text  # redacted either way
    lines = text.splitlines()
    if count > json_v1.INDENTED_MAX_FINDINGS:
        assert len(lines) == count + len(expected) + 3  # braces, a line per field, "]", a line per finding
    else:
        assert text == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
