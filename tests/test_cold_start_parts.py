"""Issue 23 cold start, second pass: the parts that make a fresh `r1policy check` cheaper keep behaviour.

- PyYAML's pure-Python Reader still rejects exactly the characters it rejected (core/yamlimport.py).
- Cyclic garbage collection is off during start-up only and comes back as it was (core/gcpause.py).
- Advisory versions compare as PEP 440 says, with or without packaging (facts/advisories.py).
- The digest-proven derived-data cache is still decoded within bounds (core/jsonsafe.py).
- dataclasses imports inspect only when it documents a class without a docstring (core/inspectimport.py).
Each runs what needs a fresh interpreter (yaml or gc state) in a subprocess."""

from __future__ import annotations

import ast
import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from r1policy.commands.policytest import patch

ROOT = Path(__file__).resolve().parent.parent


def _fresh(code: str, cwd: Path | None = None) -> Any:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, cwd=cwd
    )
    return json.loads(proc.stdout.splitlines()[-1])


# -- PyYAML's character check -------------------------------------------------------------------


def test_the_deferred_pattern_is_pyyamls_own_text() -> None:
    """If PyYAML changes the pattern the deferral silently stops applying: this says so."""
    from r1policy.core import yamlimport

    tree = ast.parse(Path(yaml.reader.__file__).read_text(encoding="utf-8"))
    compiled = [
        node.value.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "NON_PRINTABLE" for t in node.targets)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.args[0], ast.Constant)
    ]
    assert compiled == [yamlimport.NON_PRINTABLE]


YAML_PROBE = """
import json, re, sys
from r1policy.core import yamlimport
yamlimport.install()  # as r1policy.cli.main does
import yaml

from r1policy.core import gcpause
out = {"before": type(vars(yaml.reader.Reader)["NON_PRINTABLE"]).__name__}
out["elsewhere"] = type(re.compile(yamlimport.NON_PRINTABLE)).__name__  # the stand-in never leaks
errors = []
for text in ["a: \\x07", "a: \\ufffe", "a: \\ud800", "a: caf\\xe9", "a: \\U0001f600", "a: \\ud7ff"]:
    try:
        yaml.load(text, Loader=yaml.SafeLoader)  # the pure-Python reader
        errors.append(None)
    except yaml.reader.ReaderError as exc:
        errors.append(str(exc))
out["errors"] = errors
out["after"] = type(vars(yaml.reader.Reader)["NON_PRINTABLE"]).__name__
out["same"] = yaml.reader.Reader.NON_PRINTABLE.pattern == yamlimport.NON_PRINTABLE
out["finder_left"] = yamlimport._FINDER in sys.meta_path
print(json.dumps(out))
"""

PLAIN_PROBE = YAML_PROBE.replace(
    "from r1policy.core import yamlimport\nyamlimport.install()  # as r1policy.cli.main does\nimport yaml\n",
    "import yaml, types\nyamlimport = types.SimpleNamespace("
    "NON_PRINTABLE=yaml.reader.Reader.NON_PRINTABLE.pattern, _FINDER=None)\n",
)


def test_the_pure_python_reader_rejects_what_pyyaml_rejects() -> None:
    deferred = _fresh(YAML_PROBE)
    plain = _fresh(PLAIN_PROBE)  # PyYAML imported on its own
    assert deferred["before"] == "_CompileOnFirstRead"
    assert deferred["elsewhere"] == "Pattern"
    assert deferred["after"] == "Pattern" and deferred["same"]
    assert not deferred["finder_left"]
    assert deferred["errors"] == plain["errors"]
    assert [e is None for e in plain["errors"]] == [False, False, False, True, True, True]


# -- gc during start-up -------------------------------------------------------------------------

GC_PROBE = """
import gc, io, json, contextlib, sys
import r1policy.commands.check as check
import r1policy.project.config as config
seen = {}
load_config, discover = check.load_config, check.discover
def spy_config(*a, **k):
    seen["config"] = gc.isenabled()
    return load_config(*a, **k)
def spy_discover(*a, **k):
    seen["discover"] = gc.isenabled()
    return discover(*a, **k)
check.load_config, check.discover = spy_config, spy_discover
from r1policy.cli import main
if sys.argv[1] == "caller-disabled":
    gc.disable()
args = ["check", "--static", "one.yaml", "many"]
if sys.argv[1] == "ending":  # the console script's process, which ends with gcpause.end (cli.run)
    from r1policy.core import gcpause
    gcpause.keep_to_end()
with contextlib.redirect_stdout(io.StringIO()):
    if sys.argv[1] in ("process", "ending"):
        sys.argv = ["r1policy", *args]
        code = main()
    else:
        code = main(args)
young = gc.get_count()[0]  # objects the collector would walk at its next young collection
seen.update(code=code, young=young < 100, enabled=gc.isenabled())
seen.update(frozen=gc.get_freeze_count() > 0, after=gc.get_threshold())
print(json.dumps(seen))
"""


def _project(tmp_path: Path) -> dict[str, Any]:
    """The compliant baseline's config as `r1policy.yaml` and its manifest as `one.yaml`; the manifest."""
    base = yaml.safe_load((ROOT / "policies" / "cases-base.yaml").read_text())
    (tmp_path / "r1policy.yaml").write_text(yaml.safe_dump(base["config"], sort_keys=False))
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(base["manifest"], sort_keys=False))
    manifest: dict[str, Any] = base["manifest"]
    return manifest


def _gc_probe(tmp_path: Path, mode: str) -> dict[str, Any]:
    manifest = _project(tmp_path)
    (tmp_path / "many").mkdir(exist_ok=True)
    for i in range(40):  # enough objects built while the collector is off to tell the counts apart
        doc = patch(manifest, {"metadata": {"name": f"dep-{i:02d}"}})
        (tmp_path / "many" / f"m{i:02d}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-c", GC_PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=tmp_path,
    )
    out: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return out


def test_the_collector_is_off_during_start_up_only_and_comes_back_as_it_was(tmp_path: Path) -> None:
    # While the inputs are read and judged, the collector is off too (gcpause.bulk); it is back, with
    # its thresholds as they were, when main returns.
    usual = dict(code=0, after=list(gc.get_threshold()))
    # A caller's process gets the objects the check allocated back under the collector (`young` is
    # False: its next young collection walks them); the console script's process, which ends right
    # after (gcpause.end), moves them out of its reach first, and no collection walks them all.
    called = _gc_probe(tmp_path, "called")  # main(args): a caller's process, e.g. a test or a hook
    off = {"config": False, "discover": False}
    assert called == {**off, "enabled": True, "frozen": False, "young": False, **usual}
    process = _gc_probe(tmp_path, "process")  # main() without the end: start-up frozen only
    assert process == {**off, "enabled": True, "frozen": True, "young": False, **usual}
    ending = _gc_probe(tmp_path, "ending")  # main() as cli.run calls it
    assert ending == {**off, "enabled": True, "frozen": True, "young": True, **usual}
    caller_off = _gc_probe(tmp_path, "caller-disabled")  # a caller that turned it off keeps it off
    assert caller_off == {**off, "enabled": False, "frozen": False, "young": False, **usual}
    failed = _fresh(  # start-up fails (no config file): the collector is back all the same
        "import gc, io, json, contextlib\n"
        "from r1policy.cli import main\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    code = main(['check', '--static', '--config', 'missing.yaml', 'x.yaml'])\n"
        "print(json.dumps([code, gc.isenabled()]))",
        cwd=tmp_path,
    )
    assert failed == [2, True]


# -- advisory versions --------------------------------------------------------------------------

VERSIONS = [
    "0",
    "1",
    "1.0",
    "1.0.0",
    "1.0.1",
    "1.2",
    "1.10",
    "2.4.0",
    "2.4",
    "3.0.1",
    "10",
    "01.2",
    "0.0.0.1",
]
NOT_PLAIN = ["1.0rc1", "1.0.post1", "1!0.5", "v1.2", "1.0+local", "1.0.dev0"]


def test_plain_release_versions_order_as_pep_440_says() -> None:
    from packaging.version import Version

    from r1policy.facts.advisories import version_key

    key = version_key(VERSIONS)
    assert key is not Version  # plain releases: packaging not needed
    for a in VERSIONS:
        for b in VERSIONS:
            assert (key(a) < key(b), key(a) == key(b)) == (
                Version(a) < Version(b),
                Version(a) == Version(b),
            ), (a, b)


@pytest.mark.parametrize("odd", [*NOT_PLAIN, "", "1..2", "٣.1", "1.²"])
def test_any_other_version_is_packagings(odd: str) -> None:
    from packaging.version import Version

    from r1policy.facts.advisories import version_key

    assert version_key(["1.0", odd]) is Version


def _record(events: list[dict[str, str]], versions: list[str] | None = None) -> Any:
    from r1policy.facts.advisories import Advisory

    affected = {"package": {"name": "vllm"}, "ranges": [{"type": "ECOSYSTEM", "events": events}]}
    if versions:
        affected["versions"] = versions
    return Advisory("GHSA-x", (), "s", "high", {"affected": [affected]}, "test")


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.5.0", (False, "0.7.2")),  # not affected; the first fix above it, as before
        ("0.6", (True, "0.7.2")),  # 0.6 == 0.6.0, introduced
        ("0.7.1", (True, "0.7.2")),
        ("0.7.2", (False, "0.9")),
        ("0.8.0", (True, "0.9")),
        ("0.9.0", (False, None)),  # 0.9.0 == 0.9: fixed
        ("0.8.0rc1", (True, "0.9")),  # packaging decides (pre-release of 0.8.0, after 0.7.5)
        ("not-a-version", (True, None)),  # fail closed, as before
    ],
)
def test_advisory_ranges_match_as_before(version: str, expected: tuple[bool, str | None]) -> None:
    adv = _record(
        [{"introduced": "0.6.0"}, {"fixed": "0.7.2"}, {"introduced": "0.7.5"}, {"fixed": "0.9"}],
    )
    assert adv.affected("vllm", version) == expected


# -- the derived-data cache's decoder ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"a": NaN}', "non-finite"),
        ('{"a": 1e999}', "not finite"),
        ("1" * 5000, "more than 4,300"),
        ('{"a": ', "Expecting value"),
    ],
)
def test_the_cache_decoder_refuses_what_loads_refuses(text: str, what: str) -> None:
    from r1policy.core import jsonsafe

    with pytest.raises(jsonsafe.JsonError, match=what):
        jsonsafe.loads_written(text)
    assert jsonsafe.loads_written('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}


def test_importing_r1policy_as_a_library_leaves_the_import_system_alone() -> None:
    """Only `r1policy.cli.main` installs the deferral: a program that imports r1policy's modules gets
    PyYAML exactly as PyYAML builds itself."""
    out = _fresh(
        "import json, sys\nimport r1policy.core, r1policy.cli\nfrom r1policy.core import yamlimport\n"
        "import yaml\nprint(json.dumps({'finder': yamlimport._FINDER in sys.meta_path,"
        " 'kind': type(vars(yaml.reader.Reader)['NON_PRINTABLE']).__name__}))"
    )
    assert out == {"finder": False, "kind": "Pattern"}


# -- core/inspectimport.py: dataclasses imports inspect only when it first uses it ---------------------

_DATACLASSES_DOC = """
import json, sys
{install}
from dataclasses import dataclass

@dataclass(frozen=True)
class Documented:
    '''A docstring: dataclasses does not need inspect.'''
    x: int

before = "inspect" in sys.modules

@dataclass
class Undocumented:
    x: int
    y: str = "a"

import inspect
print(json.dumps({{
    "before": before,
    "after": "inspect" in sys.modules,
    "doc": Undocumented.__doc__,
    "real": type(inspect).__name__ == "module" and hasattr(inspect, "getsource"),
    "same_signature": str(inspect.signature(Undocumented)),
    "value": repr(Documented(1)),
}}))
"""


def test_dataclasses_imports_inspect_only_to_document_an_undocumented_class() -> None:
    deferred = _fresh(
        _DATACLASSES_DOC.format(install="from r1policy.core import inspectimport; inspectimport.install()")
    )
    plain = _fresh(_DATACLASSES_DOC.format(install=""))
    assert plain["before"] is True  # without it, importing dataclasses imports inspect
    assert deferred["before"] is False
    assert deferred["after"] is True and deferred["real"] is True
    assert deferred["doc"] == plain["doc"] == "Undocumented(x: int, y: str = 'a')"
    assert deferred["same_signature"] == plain["same_signature"]
    assert deferred["value"] == plain["value"] == "Documented(x=1)"


def test_the_inspect_stand_in_is_seen_by_dataclasses_only() -> None:
    out = _fresh(
        "import json, sys\n"
        "from r1policy.core import inspectimport\n"
        "inspectimport.install()\n"
        "import dataclasses\n"
        "stand_in = dataclasses.inspect\n"
        "assert 'inspect' not in sys.modules\n"
        "import inspect\n"
        "print(json.dumps({'other': inspect is not stand_in, 'real': inspect.__name__ == 'inspect',\n"
        "  'forwards': stand_in.signature is inspect.signature,\n"
        "  'file': stand_in.__file__ == inspect.__file__}))"
    )
    assert out == {"other": True, "real": True, "forwards": True, "file": True}


def test_inspect_is_left_alone_when_dataclasses_or_inspect_was_imported_first() -> None:
    for first in ("dataclasses", "inspect"):
        out = _fresh(
            f"import json, sys, {first}\n"
            "from r1policy.core import inspectimport\n"
            "inspectimport.install()\n"
            "import dataclasses, inspect\n"
            "print(json.dumps(dataclasses.inspect is inspect))"
        )
        assert out is True, first


# -- core/derivedcache.py: SHA-256 without loading OpenSSL ---------------------------------------------


def test_the_derived_cache_digest_is_sha256_as_hashlib_computes_it() -> None:
    import hashlib

    from r1policy.core import derivedcache

    for data in (b"", b"abc", bytes(range(256)) * 4099):
        assert derivedcache.sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_a_warm_check_does_not_load_openssl(tmp_path: Path) -> None:
    _project(tmp_path)
    code = (
        "import contextlib, io, json, sys\n"
        "from r1policy.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['check', '--static', 'one.yaml'])\n"
        "print(json.dumps([code, 'hashlib' in sys.modules, '_hashlib' in sys.modules]))"
    )
    _fresh(code, cwd=tmp_path)  # derives and writes the rule pack
    assert _fresh(code, cwd=tmp_path) == [0, False, False]


# -- core/deferimport.py: jsonschema_rs without socket and random until they are used -----------------


def test_jsonschema_rs_imported_with_socket_and_random_deferred_behaves_the_same() -> None:
    out = _fresh(
        "import json, sys\n"
        "from r1policy.core.deferimport import import_deferring\n"
        "jsonschema_rs = import_deferring('jsonschema_rs', ('socket', 'random'))\n"
        "v = jsonschema_rs.validator_for({'type': 'object', 'required': ['a']})\n"
        "ok = [v.is_valid({'a': 1}), v.is_valid({})]\n"
        "before = ['socket' in sys.modules, 'random' in sys.modules]\n"
        "import email.utils, socket, random\n"
        "msgid = email.utils.make_msgid(domain='example.org')  # random and socket, through the stand-ins\n"
        "print(json.dumps({'ok': ok, 'before': before,\n"
        "  'real': [type(socket).__name__, type(random).__name__],\n"
        "  'forwards': email.utils.socket.getfqdn is socket.getfqdn,\n"
        "  'msgid': msgid.endswith('@example.org>')}))"
    )
    assert out["ok"] == [True, False]
    assert out["before"] == [False, False]
    assert out["real"] == ["module", "module"]
    assert out["forwards"] is True and out["msgid"] is True


def test_a_deferred_module_already_imported_is_left_alone() -> None:
    out = _fresh(
        "import json, sys, socket\n"
        "from r1policy.core.deferimport import import_deferring\n"
        "import_deferring('jsonschema_rs', ('socket', 'random'))\n"
        "import email.utils\n"
        "print(json.dumps([email.utils.socket is socket, type(email.utils.random).__name__]))"
    )
    assert out == [True, "_StandIn"]
