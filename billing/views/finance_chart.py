"""The daily variance chart as server-rendered SVG: no chart library, no script, no CDN.

``variance_chart`` turns a daily series into plain geometry (bars, ticks, the target line)
for ``billing/finance/_chart.html``. A bar is the day's gross variance rate; a day above the
target is drawn in red and marked with a pattern so colour is not the only cue; a day with
no reconciliation result has a grey mark on the axis. The figures are also in the table
under the chart (the accessible reading), and each bar carries a ``<title>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 900, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 20, 44
STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000)


def _day(day) -> str:
    return date_format(day.date, "SHORT_DATE_FORMAT")


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    over: bool
    title: str


@dataclass
class Chart:
    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right: float = WIDTH - RIGHT
    bottom: float = HEIGHT - BOTTOM
    bars: list[Bar] = field(default_factory=list)
    missing: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    target_y: float = 0
    target_label: str = ""

    @property
    def target_label_x(self) -> float:
        return self.left + 4

    @property
    def tick_x(self) -> float:
        return self.left - 6

    @property
    def x_tick_y(self) -> float:
        return self.bottom + 16

    @property
    def x_label_y(self) -> float:
        return self.bottom + 36

    @property
    def missing_y(self) -> float:
        return self.bottom - 3

    @property
    def mid_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def mid_y(self) -> float:
        return (self.top + self.bottom) / 2


def _scale_max(top: Decimal) -> tuple[Decimal, Decimal]:
    """A round axis maximum at or above ``top`` and its tick step (at most 6 ticks)."""
    for step in STEPS:
        ticks = max(math.ceil(top / step), 1)
        if ticks <= 5:
            return Decimal(step) * ticks, Decimal(step)
    return top, top / 5


def variance_chart(days, target: Decimal, *, title: str) -> Chart:
    """Geometry of the bar chart of ``days`` (``selectors.variance.Day``) against ``target``%."""
    values = [d.gross_pct for d in days if d.gross_pct is not None]
    top, step = _scale_max(max([target * 2, *values]))
    chart = Chart(title=title, description="")
    plot_w = chart.right - chart.left
    plot_h = chart.bottom - chart.top
    slot = plot_w / max(len(days), 1)
    gap = min(slot * 0.2, 4)

    def y_of(value: Decimal) -> float:
        return round(chart.bottom - float(value / top) * plot_h, 1)

    tick = Decimal(0)
    while tick <= top:
        chart.y_ticks.append((y_of(tick), f"{tick:g}%"))
        tick += step
    label_every = max(1, round(len(days) / 8))
    over_days = []
    for i, day in enumerate(days):
        x = round(chart.left + i * slot + gap / 2, 1)
        last = i == len(days) - 1 and i % label_every >= label_every / 2
        if i % label_every == 0 or last:
            chart.x_ticks.append((round(x + (slot - gap) / 2, 1), day.date.strftime("%m-%d")))
        if day.gross_pct is None and not day.over:
            if not day.has_result:
                chart.missing.append((x, _("%(day)s 无对账结果 / no result") % {"day": _day(day)}))
            continue
        # Charged with nothing used has no rate: drawn to the top, as far over as it gets.
        value = top if day.gross_pct is None else min(day.gross_pct, top)
        y = y_of(value)
        if day.over:
            over_days.append(day.date.strftime("%m-%d"))
        chart.bars.append(
            Bar(
                x=x,
                y=y,
                width=round(max(slot - gap, 1), 1),
                height=round(max(chart.bottom - y, 0), 1),
                over=day.over,
                title=_("%(day)s 差异率 %(rate)s（使用 %(used)s，计费 %(billed)s）")
                % {
                    "day": _day(day),
                    "rate": "—" if day.gross_pct is None else f"{day.gross_pct}%",
                    "used": day.used,
                    "billed": day.billed,
                },
            )
        )
    chart.target_y = y_of(target)
    chart.target_label = _("目标 %(target)s%% / target") % {"target": f"{target:g}"}
    shown = [d for d in days if d.gross_pct is not None or d.over]
    if not days:
        chart.description = _("没有数据。")
        return chart
    chart.description = _(
        "%(start)s 至 %(end)s，共 %(days)s 天，%(shown)s 天有数据，"
        "%(over)s 天超过 %(target)s%% 目标"
    ) % {
        "start": _day(days[0]),
        "end": _day(days[-1]),
        "days": len(days),
        "shown": len(shown),
        "over": len(over_days),
        "target": f"{target:g}",
    }
    if over_days:
        listed = _("、").join(over_days[:10]) + ("…" if len(over_days) > 10 else "")
        chart.description += _("（%(days)s）") % {"days": listed}
    chart.description += _("。数值见下表。")
    return chart
