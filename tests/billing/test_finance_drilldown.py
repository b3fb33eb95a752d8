"""Drill-down: department -> item -> exception -> the moves and charges behind it."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.models import ExceptionRow
from config import roles
from tests.billing import finance_data as data

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(hospital):
    return data.build(hospital)


@pytest.fixture
def finance(scenario):
    return data.logged_in("finance01", roles.FINANCE)


def exception(kind, day, **fields) -> ExceptionRow:
    return ExceptionRow.objects.get(kind=kind, run__date=day, **fields)


def test_dashboard_links_each_department_with_the_period(scenario, finance):
    table = data.page_tables(finance.get("/billing/finance/?days=7"))["by_variance"]
    links = {r["cells"][1]: r["links"][1] for r in table["rows"]}
    end = scenario.days[-1]
    start = end - dt.timedelta(days=6)
    assert links["XNK"] == f"/billing/finance/departments/XNK/?since={start}&until={end}"


def test_department_ranks_its_items_with_their_findings(scenario, finance):
    response = finance.get("/billing/finance/departments/XNK/")
    assert response.status_code == 200
    items = data.rows_by(data.page_tables(response)["items"], "物资编码")
    a, b = (scenario.items[k].material_code for k in "AB")
    assert list(items) == [b, a]  # B carries the variance; A balanced every day
    used_b = sum(data.DAY_ROWS[n].get(("XNK", "B"), (0, 0, 0))[0] for n in (1, 2, 3))
    assert items[b]["净使用"] == str(used_b)
    assert items[b]["问题数"] == "4"  # 漏费 once, 收费价格不符 once, two days over threshold
    assert items[a]["问题数"] == "0"


def test_item_page_lists_the_days_and_the_exceptions_with_links(scenario, finance):
    b = scenario.items["B"].material_code
    response = finance.get(f"/billing/finance/departments/XNK/items/{b}/")
    assert response.status_code == 200
    tables = data.page_tables(response)
    days = data.rows_by(tables["days"], "业务日")
    for n, day in enumerate(scenario.days, start=1):
        used, billed, _ = data.DAY_ROWS[n][("XNK", "B")]
        assert (days[day.isoformat()]["净使用"], days[day.isoformat()]["净计费"]) == (
            str(used),
            str(billed),
        )
    shown = tables["exceptions"]["rows"]
    assert {r["cells"][2] for r in shown} == {
        "UNBILLED_USE",
        "PRICE_MISMATCH",
        "VARIANCE_OVER_THRESHOLD",
    }
    stored = ExceptionRow.objects.filter(department_code="XNK", material_code=b).count()
    assert len(shown) == stored
    assert [r["cells"][2] for r in shown].count("UNBILLED_USE") == 2  # days 1 and 3
    assert all(
        r["links"][1].startswith("/billing/finance/exceptions/")
        for r in tables["exceptions"]["rows"]
    )


def test_unbilled_use_shows_every_use_and_charge_of_the_pair_until_that_day(scenario, finance):
    b = scenario.items["B"].material_code
    row = exception("UNBILLED_USE", scenario.days[2], material_code=b)
    tables = data.page_tables(finance.get(f"/billing/finance/exceptions/{row.pk}/"))
    moves = tables["moves"]["rows"]
    quantities = [r["cells"][data.column(tables["moves"], "数量")] for r in moves]
    assert quantities == ["3", "1"]  # day 1 and day 3 uses of ZY001
    charges = data.rows_by(tables["charges"], "计费号")
    assert sorted(c["计费数量"] for c in charges.values()) == ["1", "2"]
    assert sum(int(c["净计费"]) for c in charges.values()) == 3  # short of 4 used: 漏费 1


def test_unbilled_use_on_day_one_does_not_see_later_events(scenario, finance):
    b = scenario.items["B"].material_code
    row = exception("UNBILLED_USE", scenario.days[0], material_code=b)
    tables = data.page_tables(finance.get(f"/billing/finance/exceptions/{row.pk}/"))
    assert len(tables["moves"]["rows"]) == 1
    assert len(tables["charges"]["rows"]) == 1


def test_price_mismatch_shows_its_charge_line_at_the_wrong_price(scenario, finance):
    row = exception("PRICE_MISMATCH", scenario.days[1])
    response = finance.get(f"/billing/finance/exceptions/{row.pk}/")
    charges = data.rows_by(data.page_tables(response)["charges"], "计费号")
    assert list(charges) == [str(scenario.ids["price_mismatch"])]
    assert charges[str(scenario.ids["price_mismatch"])]["单价"] == "35.00"
    assert "30.00" in response.content.decode()  # the approved price, in the explanation


def test_duplicate_charge_shows_the_scan_charge_and_the_extra_his_charge(scenario, finance):
    row = exception("DUPLICATE_CHARGE", scenario.days[1])
    tables = data.page_tables(finance.get(f"/billing/finance/exceptions/{row.pk}/"))
    charges = data.rows_by(tables["charges"], "计费号")
    assert sorted(c["来源"].split(" / ")[0] for c in charges.values()) == ["HIS 计费", "扫码计费"]
    assert sum(int(c["净计费"]) for c in charges.values()) == 7
    assert [r["cells"][data.column(tables["moves"], "数量")] for r in tables["moves"]["rows"]] == [
        "5"
    ]


def test_purchase_price_mismatch_shows_the_receipt_with_supplier_and_cost(scenario, finance):
    row = exception("PURCHASE_PRICE_MISMATCH", scenario.days[0])
    moves = data.page_tables(finance.get(f"/billing/finance/exceptions/{row.pk}/"))["moves"]
    (move,) = data.rows_by(moves, "发票号").values()
    assert move["发票号"] == "FP-003"
    assert move["入库单价"] == "31.00"
    assert move["供应商"] == "四川某医疗器械有限公司"
    assert move["操作人"] == "store01"


def test_variance_shows_the_departments_moves_and_charges_of_the_item_that_day(scenario, finance):
    b = scenario.items["B"].material_code
    row = exception("VARIANCE_OVER_THRESHOLD", scenario.days[0], department_code="XNK")
    tables = data.page_tables(finance.get(f"/billing/finance/exceptions/{row.pk}/"))
    used, billed, _ = data.DAY_ROWS[1][("XNK", "B")]
    uses = [r for r in tables["moves"]["rows"] if r["cells"][1].startswith("使用")]
    assert sum(int(r["cells"][data.column(tables["moves"], "数量")]) for r in uses) == used
    charges = data.rows_by(tables["charges"], "计费号")
    assert sum(int(c["净计费"]) for c in charges.values()) == billed
    assert row.material_code == b


def test_four_price_exception_points_to_the_four_price_report(scenario, finance):
    row = exception("FOUR_PRICE_MISALIGNED", scenario.days[0])
    text = finance.get(f"/billing/finance/exceptions/{row.pk}/").content.decode()
    assert "/billing/finance/four-price/" in text
    assert "四价统一" in text


def test_patient_name_is_masked_for_finance_and_full_for_the_insurance_office(scenario, finance):
    row = exception("UNBILLED_USE", scenario.days[0])
    url = f"/billing/finance/exceptions/{row.pk}/"
    assert 'id="patient-name">张*<' in finance.get(url).content.decode()
    insurance = data.logged_in("yb01", roles.INSURANCE_OFFICE)
    assert 'id="patient-name">张三<' in insurance.get(url).content.decode()


def test_exception_page_issues_a_fixed_number_of_queries_per_table(scenario, finance):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    row = exception("DUPLICATE_CHARGE", scenario.days[1])
    finance.get("/billing/finance/")
    with CaptureQueriesContext(connection) as queries:
        finance.get(f"/billing/finance/exceptions/{row.pk}/")
    moves = [q for q in queries if 'FROM "inventory_stockmove"' in q["sql"]]
    charges = [q for q in queries if 'FROM "billing_chargeline"' in q["sql"]]
    assert (len(moves), len(charges)) == (1, 1)


def test_unknown_department_item_or_exception_is_404(scenario, finance):
    assert finance.get("/billing/finance/departments/NOPE/").status_code == 404
    assert finance.get("/billing/finance/departments/XNK/items/NOPE/").status_code == 404
    assert finance.get("/billing/finance/exceptions/999999/").status_code == 404
