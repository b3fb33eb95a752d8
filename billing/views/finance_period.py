"""The period a finance page covers, from its query string.

``?month=YYYY-MM`` a calendar month; ``?since=&until=`` a range of business days (both
included, at most a year); else ``?days=7|30|90`` (default 30) ending ``?end=`` or, by
default, on the last day with a successful reconciliation (yesterday before any run).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.selectors.common import Period, latest_run_date
from config.bounds import date_in_range
from config.business_day import business_day

DAY_CHOICES = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_DAYS = 366
# Bounded so that the period, its predecessor and the month steps stay inside the calendar.
DATE = {"input_formats": ["%Y-%m-%d"], "required": False, "validators": [date_in_range]}


def _days(n: int) -> str:
    return gettext("近 %(n)s 天 / last %(n)s days") % {"n": n}


lazy_days = lazy(_days, str)


class PeriodForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("天数 / Days"),
        choices=[(n, lazy_days(n)) for n in DAY_CHOICES],
        coerce=int,
        required=False,
    )
    end = forms.DateField(label=_("截至 / Ending"), **DATE)
    since = forms.DateField(label=_("起 / From"), **DATE)
    until = forms.DateField(label=_("止 / To"), **DATE)
    month = forms.RegexField(
        label=_("月份 / Month"), regex=r"^\d{4}-(0[1-9]|1[0-2])$", required=False
    )

    def clean_month(self):
        month = self.cleaned_data.get("month")
        if month:
            date_in_range(dt.date(int(month[:4]), int(month[5:]), 1))
        return month

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if bool(since) != bool(until):
            raise forms.ValidationError(_("请同时填写起止日期 / give both 'from' and 'to'"))
        if since and until:
            if since > until:
                raise forms.ValidationError(_("起始日期晚于截止日期 / 'from' is after 'to'"))
            if (until - since).days + 1 > MAX_DAYS:
                raise forms.ValidationError(_("期间最长一年 / at most a year"))
        return data


def today() -> dt.date:
    return business_day(timezone.now())


def default_end() -> dt.date:
    return latest_run_date() or today() - dt.timedelta(days=1)


def period_from(form: PeriodForm, *, default_days: int = DEFAULT_DAYS) -> Period:
    """The period of a valid (or unbound) form."""
    data = form.cleaned_data if form.is_bound else {}
    if data.get("month"):
        year, month = (int(x) for x in data["month"].split("-"))
        return Period.month(year, month)
    if data.get("since"):
        return Period(data["since"], data["until"])
    return Period.ending(data.get("end") or default_end(), data.get("days") or default_days)


def month_of(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def shift_month(month: str, by: int) -> str:
    year, number = (int(x) for x in month.split("-"))
    index = year * 12 + number - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def query(period: Period, **extra) -> str:
    """The query string that carries ``period`` to a drill-down page."""
    return urlencode({**period.query(), **{k: v for k, v in extra.items() if v}})
