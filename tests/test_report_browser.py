"""The audit HTML report in a real browser (issue 7 item 5): headless Chromium, driven over the DevTools
protocol, opens a report with findings of every severity, a waived and an expired-waiver finding and a
trend over three runs. It must load without console errors and without any request beyond the file
itself, show the same summary numbers as audit.json, let the keyboard reach the findings, hide the
navigation when printed, and print to PDF. A screenshot goes to docs/img/audit-report.png when that file
is missing or R1POLICY_UPDATE_DOCS=1 (otherwise into the test's temporary folder).

Needs Debian's `chromium` (`/usr/bin/chromium`; `.ci/run` installs it when missing); skipped with the
reason when it is absent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from r1policy.audit.history import run_folders
from test_audit_report import ACCOUNT, arn, audit, endpoint_spec, state_doc

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
SCREENSHOT = ROOT / "docs" / "img" / "audit-report.png"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--remote-allow-origins=*",
    "--remote-debugging-port=0",
)
START_TIMEOUT = 60.0

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; .ci/run does this)"
)


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, event: str) -> dict[str, Any]:
        for message in self.events:
            if message.get("method") == event:
                return message
        while True:
            message = json.loads(self.ws.recv())
            self.events.append(message)
            if message.get("method") == event:
                return message

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def key(self, key: str, code: int) -> None:
        text = "\r" if key == "Enter" else ""
        self.call(
            "Input.dispatchKeyEvent", type="keyDown", key=key, code=key, windowsVirtualKeyCode=code, text=text
        )
        self.call("Input.dispatchKeyEvent", type="keyUp", key=key, code=key, windowsVirtualKeyCode=code)

    def close(self) -> None:
        self.ws.close()


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[DevTools]:
    assert CHROMIUM is not None
    log = (profile.parent / "chromium.log").open("wb")
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1200,900", "about:blank"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    tools: DevTools | None = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"chromium did not start: {(profile.parent / 'chromium.log').read_text()[-2000:]}"
                )
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:
            targets = json.load(response)
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        yield tools
    finally:
        if tools is not None:
            tools.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _report_with_everything(tmp: Path) -> Path:
    """Three runs; the last has a critical, high, medium, low and info finding, a waived finding and
    a finding whose waiver expired."""
    reports = tmp / "reports"
    config = {
        "rules": {"R1-S3-006": {"severity": "info"}},
        "waivers": [
            {
                "rule": "R1-EP-004",
                "subject": arn("r1-dev"),
                "reason": "dev sandbox outside the VPC",
                "owner": "ml-platform",
                "ticket": "SEC-123",
                "expires": "2099-12-31",
            },
            {
                "rule": "R1-EP-003",
                "subject": arn("r1-dev"),
                "reason": "temporary exception",
                "owner": "ml-platform",
                "ticket": "SEC-99",
                "expires": "2020-01-31",
            },
        ],
    }
    run1 = state_doc(endpoint_spec("r1-prod"), endpoint_spec("r1-t4", instance="ml.g4dn.xlarge"))
    run2 = state_doc(endpoint_spec("r1-prod"), endpoint_spec("r1-dev", isolated=False, vpc=False))
    run3 = state_doc(
        endpoint_spec("r1-prod"),
        endpoint_spec("r1-dev", isolated=False, vpc=False),
        endpoint_spec("r1-t4", instance="ml.g4dn.xlarge"),
    )
    bucket = run3["buckets"]["acme-llm-weights"]
    bucket["public_access_block"] = None  # critical: R1-S3-002 (account level is on in run 1 and 2 only)
    run3["accounts"][ACCOUNT]["public_access_block"] = None
    bucket["logging"] = None  # low: R1-S3-007
    bucket["region"] = "eu-west-1"  # info (configured): R1-S3-006
    for state in (run1, run2, run3):
        assert audit(tmp, reports, state, config=config).code == 1
    return run_folders(reports)[-1]


def test_audit_report_in_headless_chromium(tmp_path: Path) -> None:
    folder = _report_with_everything(tmp_path)
    doc = json.loads((folder / "audit.json").read_text())
    severities = {f["severity"] for f in doc["findings"] if f["status"] in ("fail", "error", "waived")}
    assert severities == {"critical", "high", "medium", "low", "info"}
    assert {f["status"] for f in doc["findings"]} >= {"fail", "waived"}
    assert any("expired_waiver" in f for f in doc["findings"])
    assert len(doc["audit"]["trend"]) == 3

    profile = tmp_path / "profile"
    profile.mkdir()
    with chromium(profile) as page:
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.call(f"{domain}.enable")
        page.call(
            "Emulation.setDeviceMetricsOverride", width=1200, height=900, deviceScaleFactor=1, mobile=False
        )
        url = (folder / "audit.html").resolve().as_uri()
        page.call("Page.navigate", url=url)
        page.wait_for("Page.loadEventFired")
        assert page.evaluate("document.readyState") == "complete"

        # No console errors, no exceptions, no request beyond the file itself.
        errors = [
            e
            for e in page.events
            if e.get("method") == "Runtime.exceptionThrown"
            or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
            or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
        ]
        assert errors == []
        requested = [
            e["params"]["request"]["url"]
            for e in page.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        assert requested == [url]
        assert page.evaluate("document.scripts.length") == 0
        assert (
            page.evaluate("document.querySelectorAll('link[rel=stylesheet], img, iframe, object').length")
            == 0
        )

        # The numbers on the page are the JSON's.
        shown = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-summary]')]"
            ".map(e => [e.dataset.summary, Number(e.textContent)]))"
        )
        assert shown == doc["summary"]
        diff = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-diff]')]"
            ".map(e => [e.dataset.diff, Number(e.textContent)]))"
        )
        assert diff == {k: len(v) for k, v in doc["audit"]["diff"].items()}
        articles = page.evaluate("document.querySelectorAll('article.finding').length")
        assert articles == sum(1 for f in doc["findings"] if f["status"] in ("fail", "error", "waived"))
        assert (
            page.evaluate("document.querySelector('[data-decision]').textContent") == doc["decision"].upper()
        )
        # Readable without colour: every severity and status is also written out.
        labels = page.evaluate(
            "[...document.querySelectorAll('article.finding .sev')].map(e => e.textContent)"
        )
        assert set(labels) == {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"}
        assert page.evaluate("document.querySelectorAll('svg.trend [data-series] title').length") == 4 * 3

        # Keyboard: the first Tab reaches the skip link, Enter follows it, the next Tab is on a finding.
        page.key("Tab", 9)
        assert page.evaluate("document.activeElement.textContent") == "Skip to findings"
        page.key("Enter", 13)
        page.key("Tab", 9)
        assert page.evaluate("document.activeElement.closest('article.finding') !== null")
        # Without the skip link, Tab alone gets there too.
        page.events.clear()
        page.call("Page.navigate", url=url)
        page.wait_for("Page.loadEventFired")
        reached = False
        for _ in range(80):
            page.key("Tab", 9)
            if page.evaluate("document.activeElement?.closest('article.finding') != null"):
                reached = True
                break
        assert reached, "Tab never reached a finding"

        shot = page.call(
            "Page.captureScreenshot",
            format="png",
            clip={"x": 0, "y": 0, "width": 1200, "height": 1900, "scale": 1},
            captureBeyondViewport=True,
        )
        png = base64.b64decode(shot["data"])
        assert png.startswith(b"\x89PNG")
        (tmp_path / "audit-report.png").write_bytes(png)
        if not SCREENSHOT.exists() or os.environ.get("R1POLICY_UPDATE_DOCS") == "1":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            SCREENSHOT.write_bytes(png)

        # Printable: the navigation is hidden in print, and the page prints.
        page.call("Emulation.setEmulatedMedia", media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
        pdf = base64.b64decode(page.call("Page.printToPDF")["data"])
        assert pdf.startswith(b"%PDF")
