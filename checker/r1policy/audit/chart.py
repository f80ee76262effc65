"""The trend chart's geometry (the HTML template draws it as inline SVG). Each series differs by dash
pattern and marker shape as well as colour, and the legend names it, so it reads without colour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 48, 16, 64

# key, label, css class, stroke-dasharray, marker shape
SERIES = (
    ("blocking", "Blocking", "s-blocking", "", "circle"),
    ("warnings", "Warnings", "s-warnings", "8 4", "square"),
    ("errors", "Errors", "s-errors", "2 3", "triangle"),
    ("waived", "Waived", "s-waived", "10 3 2 3", "diamond"),
)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    run_id: str


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    css: str
    dash: str
    marker: str
    points: tuple[Point, ...]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    series: tuple[Series, ...]
    x_labels: tuple[tuple[float, str, str], ...]
    y_ticks: tuple[tuple[float, int], ...]
    description: str


def _nice_max(value: int) -> int:
    top = max(value, 4)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top <= step * 4:
            return step * 4
    return top


def _label(run_id: str) -> tuple[str, str]:
    """2026-11-25T020000Z-2 -> ("11-25", "02:00:00 #2"): the axis label, in two lines."""
    if len(run_id) >= 15 and run_id[4] == "-" and run_id[10] == "T":
        suffix = run_id[18:].lstrip("-")
        clock = f"{run_id[11:13]}:{run_id[13:15]}:{run_id[15:17]}"
        return run_id[5:10], clock + (f" #{suffix}" if suffix else "")
    return run_id[:12], ""


def trend_chart(points: Sequence[Mapping[str, Any]]) -> Chart:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value = _nice_max(max((int(p[k]) for p in points for k, *_ in SERIES), default=0))
    n = len(points)

    def x_of(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y_of(v: int) -> float:
        return TOP + plot_h - plot_h * v / top_value

    series = tuple(
        Series(
            key,
            label,
            css,
            dash,
            marker,
            tuple(
                Point(x_of(i), y_of(int(p[key])), int(p[key]), str(p["run_id"])) for i, p in enumerate(points)
            ),
        )
        for key, label, css, dash, marker in SERIES
    )
    every = max(1, -(-n // 8))  # at most about 8 labels on the x axis
    x_labels = tuple(
        (x_of(i), *_label(str(p["run_id"]))) for i, p in enumerate(points) if i % every == 0 or i == n - 1
    )
    y_ticks = tuple((y_of(v), v) for v in range(0, top_value + 1, top_value // 4))
    last = points[-1] if points else None
    description = (
        f"Trend over {n} run(s)"
        + (
            f"; latest run: {last['blocking']} blocking, {last['warnings']} warnings, "
            f"{last['errors']} errors, {last['waived']} waived"
            if last is not None
            else ""
        )
        + "."
    )
    return Chart(WIDTH, HEIGHT, LEFT, TOP, plot_w, plot_h, series, x_labels, y_ticks, description)
