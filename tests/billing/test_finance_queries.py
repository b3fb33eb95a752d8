"""The finance pages cost a fixed number of SQL queries whatever they show.

Acceptance (issue 5): the dashboard issues the same number of queries for 2 departments
over 30 days of stored runs as for 8 departments over 90 days. The other pages of the
drill-down and the people report are held to the same rule. Runs are stored directly (the
pages read only the stored rows); the figures are checked elsewhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import ExceptionRow, ReconciliationRun, VarianceRow
from config import roles
from config.business_day import business_day
from tests.billing import finance_data as data
from tests.billing.conftest import client_for
from tests.factories import ConsumableFactory, DepartmentFactory

pytestmark = pytest.mark.django_db

ITEMS = 3


def yesterday() -> dt.date:
    return business_day(timezone.now()) - dt.timedelta(days=1)


def store_runs(departments, items, days: list[dt.date], staff) -> None:
    """One succeeded run per day with a variance row per department and item and two
    exceptions per department (a 漏费 with its nurse, a variance over threshold)."""
    for day in days:
        run, _ = ReconciliationRun.objects.get_or_create(date=day, defaults={"status": "succeeded"})
        VarianceRow.objects.bulk_create(
            VarianceRow(
                run=run,
                department=d,
                consumable=c,
                department_code=d.code,
                material_code=c.material_code,
                used=10,
                billed=9 - i,
                variance_qty=1 + i,
                variance_amount=Decimal("2.50") * (1 + i),
                variance_pct=Decimal(10 + 10 * i),
            )
            for d in departments
            for i, c in enumerate(items)
        )
        ExceptionRow.objects.bulk_create(
            row
            for n, d in enumerate(departments)
            for row in (
                ExceptionRow(
                    run=run,
                    kind="UNBILLED_USE",
                    department_code=d.code,
                    material_code=items[0].material_code,
                    encounter_no=f"ZY{n:03d}{day:%m%d}",
                    quantity=1,
                    ref=f"use:{900000 + n}",
                    user=staff[n],
                ),
                ExceptionRow(
                    run=run,
                    kind="VARIANCE_OVER_THRESHOLD",
                    department_code=d.code,
                    material_code=items[1].material_code,
                    quantity=2,
                    ref=f"variance:{d.code}:{items[1].material_code}",
                ),
            )
        )


def add_departments(count: int, start: int):
    departments = [DepartmentFactory(code=f"W{start + n:02d}") for n in range(count)]
    staff = [
        client_for(f"nurse{start + n:02d}", roles.NURSE, d).user for n, d in enumerate(departments)
    ]
    return departments, staff


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def pages(departments, items, days: int) -> dict[str, str]:
    first, item = departments[0].code, items[0].material_code
    exception = ExceptionRow.objects.filter(kind="UNBILLED_USE").order_by("pk").first()
    return {
        "dashboard": f"/billing/finance/?days={days}",
        "month": f"/billing/finance/month/?month={yesterday():%Y-%m}",
        "department": f"/billing/finance/departments/{first}/?days={days}",
        "item": f"/billing/finance/departments/{first}/items/{item}/?days={days}",
        "people": f"/billing/finance/people/?days={days}",
        "exception": f"/billing/finance/exceptions/{exception.pk}/",
    }


def test_pages_issue_the_same_queries_for_2_departments_30_days_as_8_departments_90(db):
    end = yesterday()
    items = [ConsumableFactory() for _ in range(ITEMS)]
    small, small_staff = add_departments(2, 0)
    store_runs(small, items, [end - dt.timedelta(days=n) for n in range(30)], small_staff)
    finance = client_for("finance01", roles.FINANCE)
    finance.force_login(finance.user)
    finance.get("/billing/finance/")  # the session's first request may touch it once more
    before = {name: count(finance, url) for name, url in pages(small, items, 30).items()}

    more, more_staff = add_departments(6, 2)
    store_runs(more, items, [end - dt.timedelta(days=n) for n in range(30)], more_staff)
    store_runs(
        small + more,
        items,
        [end - dt.timedelta(days=n) for n in range(30, 90)],
        small_staff + more_staff,
    )
    after = {name: count(finance, url) for name, url in pages(small + more, items, 90).items()}

    print(f"\nqueries per page, 2 departments x 30 days: {before}")
    print(f"queries per page, 8 departments x 90 days: {after}")
    assert after == before
    assert before["dashboard"] <= 15

    dashboard = data.page_tables(finance.get("/billing/finance/?days=90"))
    assert len(dashboard["by_variance"]["rows"]) == 8
    assert len(dashboard["by_exceptions"]["rows"]) == 8
    assert len(dashboard["days"]["rows"]) == 90
    people = data.page_tables(finance.get("/billing/finance/people/?days=90"))
    assert len(people["people"]["rows"]) == 8
