"""The server-rendered variance chart: geometry from a daily series (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.selectors.variance import Day
from billing.views.finance_chart import variance_chart

START = dt.date(2026, 3, 1)


def day(n, *, used=0, billed=0, status="succeeded"):
    gross = abs(used - billed)
    rate = (Decimal(gross) * 100 / used).quantize(Decimal("0.01")) if used else None
    over = (rate is not None and rate > 5) or (used == 0 and gross > 0)
    return Day(date=START + dt.timedelta(days=n), status=status, used=used, billed=billed,
               gross_qty=gross, gross_pct=rate, over=over)  # fmt: skip


def chart_of(days):
    return variance_chart(days, Decimal("5"), title="t")


def test_bar_height_is_the_rate_on_the_axis():
    chart = chart_of([day(0, used=100, billed=96), day(1, used=100, billed=90)])
    low, high = chart.bars
    plot = chart.bottom - chart.top
    top = max(float(label.rstrip("%")) for _, label in chart.y_ticks)
    assert low.height == round(4 / top * plot, 1) and not low.over
    assert high.height == round(10 / top * plot, 1) and high.over


def test_axis_reaches_twice_the_target_when_every_day_is_low():
    chart = chart_of([day(0, used=100, billed=99)])
    assert max(float(label.rstrip("%")) for _, label in chart.y_ticks) >= 10


def test_a_day_never_run_is_marked_on_the_axis_not_drawn_as_zero():
    chart = chart_of([day(0, status=None), day(1, used=10, billed=10)])
    assert len(chart.bars) == 1
    assert len(chart.missing) == 1 and "无对账结果" in chart.missing[0][1]


def test_charges_with_nothing_used_are_drawn_to_the_top_as_over():
    chart = chart_of([day(0, used=0, billed=2)])
    (bar,) = chart.bars
    assert bar.over and bar.y == chart.top


def test_description_names_the_days_over_target():
    chart = chart_of([day(0, used=10, billed=10), day(1, used=10, billed=8)])
    assert "1 天超过 5% 目标（03-02）" in chart.description
