"""Findings by person: the staff behind the most exceptions, the top three followed up."""

from __future__ import annotations

import pytest

from billing.models import ExceptionRow
from config import roles
from tests.billing import finance_data as data
from tests.billing.conftest import client_for

pytestmark = pytest.mark.django_db

PAGE = "/billing/finance/people/"


@pytest.fixture
def scenario(hospital):
    return data.build(hospital)


@pytest.fixture
def finance(scenario):
    return data.logged_in("finance01", roles.FINANCE)


def staff(response) -> dict[str, dict]:
    table = data.page_tables(response)["people"]
    return {row["人员"]: row for row in data.rows_by(table, "人员").values()}


def test_each_finding_goes_to_who_recorded_the_use_charge_or_receipt(scenario, finance):
    rows = staff(finance.get(PAGE))
    # his01 keyed in the extra charge of A on ZY002 (重复收费) and B at 35.00 (价格不符);
    # nurse01 used B on ZY001 without a charge (漏费, reported on days 1 and 3); ssn01 used
    # the stent without a charge; store01 received B above the purchase price.
    assert rows["his01"]["问题数"] == "2"
    assert (rows["his01"]["重复收费"], rows["his01"]["收费价格不符"]) == ("1", "1")
    assert rows["李小红（nurse01）"]["漏费（使用未计费）"] == "1"
    assert rows["李小红（nurse01）"]["报告天次"] == "2"
    assert rows["ssn01"]["漏费（使用未计费）"] == "1"
    assert rows["store01"]["入库价与采购价不符"] == "1"
    assert "nurse02" not in rows  # her uses were all charged


def test_the_person_with_most_findings_ranks_first_and_three_are_followed_up(scenario, finance):
    table = data.page_tables(finance.get(PAGE))["people"]
    ranked = [r["cells"][data.column(table, "人员")] for r in table["rows"]]
    assert ranked[0] == "his01"
    follow = [r for r in table["rows"] if r["cells"][-1].startswith("重点跟踪")]
    assert len(follow) == 3 and follow == table["rows"][:3]
    assert all("follow-up" in r["css"] for r in follow)


def test_variances_and_four_prices_are_counted_as_unattributed(scenario, finance):
    text = finance.get(PAGE).content.decode()
    # Variance over threshold: XNK/B on days 1 and 3, GKB/A day 2, SSS01/D day 3; and E's
    # four prices (one finding however many days).
    assert "（进销存差异、四价）：5" in text


def test_an_exception_row_naming_its_user_is_attributed_to_that_user(scenario, finance):
    row = ExceptionRow.objects.filter(kind="VARIANCE_OVER_THRESHOLD").order_by("pk").first()
    row.user = scenario.users["nurse02"].user
    row.save()
    assert staff(finance.get(PAGE))["nurse02"]["问题数"] == "1"


def test_a_shorter_period_keeps_only_its_findings(scenario, finance):
    d2 = scenario.days[1]
    rows = staff(finance.get(f"{PAGE}?since={d2}&until={d2}"))
    assert set(rows) == {"his01"}


def test_person_page_lists_their_exceptions_with_links(scenario, finance):
    nurse = scenario.users["nurse01"].user
    response = finance.get(f"{PAGE}{nurse.pk}/")
    assert response.status_code == 200
    table = data.page_tables(response)["exceptions"]
    kinds = [r["cells"][data.column(table, "代码")] for r in table["rows"]]
    assert kinds == ["UNBILLED_USE", "UNBILLED_USE"]
    assert all(r["links"][data.column(table, "异常类型")] for r in table["rows"])


def test_departments_are_ranked_beside_the_staff(scenario, finance):
    table = data.page_tables(finance.get(PAGE))["by_exceptions"]
    assert table["rows"][0]["cells"][1] == "XNK"


@pytest.mark.parametrize("role", [roles.NURSE, roles.STOREKEEPER, roles.SUPPLIER])
def test_ward_store_and_supplier_roles_are_refused(hospital, role):
    client = client_for("someone", role)
    client.force_login(client.user)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}{client.user.pk}/").status_code == 403
