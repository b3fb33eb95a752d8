"""每日手术室高值耗材报表: every high-value unit used in a theatre, its charge and supplier."""

from __future__ import annotations

import re

import pytest

from config import roles
from tests.billing import finance_data as data

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(hospital):
    return data.build(hospital)


def report(client, scenario, **params):
    query = "&".join(f"{k}={v}" for k, v in {"date": scenario.days[-1], **params}.items())
    return client.get(f"/billing/finance/theatre/?{query}")


def test_every_high_value_unit_used_in_the_theatre_is_listed(scenario):
    response = report(data.logged_in("finance01", roles.FINANCE), scenario)
    uses = data.rows_by(data.page_tables(response)["uses"], "序列号/院内码")
    assert set(uses) == {"S0001", "T0001"}
    plate, stent = uses["S0001"], uses["T0001"]
    assert plate["物资编码"] == scenario.items["C"].material_code
    assert plate["住院号"] == stent["住院号"] == "ZY003"
    assert plate["计费金额"] == f"{data.price('C'):,.2f}"
    assert plate["计费状态"].startswith("已计费")
    assert stent["计费状态"].startswith("未计费")  # keyed in at HIS and never charged


def test_each_unit_carries_its_supplier_and_ownership(scenario):
    response = report(data.logged_in("finance01", roles.FINANCE), scenario)
    uses = data.rows_by(data.page_tables(response)["uses"], "序列号/院内码")
    assert uses["S0001"]["供应商"] == "成都某骨科器械有限公司"
    assert uses["S0001"]["所有权"].startswith("寄售/跟台")
    assert uses["S0001"]["发票号"] == "GT-001"
    assert uses["T0001"]["供应商"] == "四川某医疗器械有限公司"
    assert uses["T0001"]["所有权"].startswith("医院自有")


def test_totals_split_consignment_from_hospital_owned(scenario):
    text = report(data.logged_in("finance01", roles.FINANCE), scenario).content.decode()
    total = re.search(r'id="total-consignment">([^<]*)<', text).group(1)
    assert total == f"1 · {data.price('C'):.2f}"
    assert re.search(r'id="total-owned">([^<]*)<', text).group(1) == "1 · 0.00"
    assert re.search(r'id="total-problems"[^>]*>(\d+)<', text).group(1) == "1"


def test_supplier_summary_adds_up_the_days_units(scenario):
    response = report(data.logged_in("finance01", roles.FINANCE), scenario)
    suppliers = data.rows_by(data.page_tables(response)["suppliers"], "供应商编码")
    assert suppliers["GYS02"]["计费金额"] == f"{data.price('C'):,.2f}"
    assert (suppliers["GYS01"]["数量"], suppliers["GYS01"]["计费问题"]) == ("1", "1")


def test_low_value_items_and_ward_uses_are_left_out(scenario):
    response = report(data.logged_in("finance01", roles.FINANCE), scenario)
    codes = {r["cells"][4] for r in data.page_tables(response)["uses"]["rows"]}
    assert codes == {scenario.items["C"].material_code, scenario.items["D"].material_code}


def test_another_day_has_its_own_units(scenario):
    response = report(data.logged_in("finance01", roles.FINANCE), scenario, date=scenario.days[0])
    assert data.page_tables(response)["uses"]["rows"] == []


def test_one_theatre_can_be_chosen(scenario):
    client = data.logged_in("finance01", roles.FINANCE)
    assert len(data.page_tables(report(client, scenario, department="SSS01"))["uses"]["rows"]) == 2
    assert report(client, scenario, department="XNK").status_code == 400  # not a theatre


def test_finance_sees_the_surname_only(scenario):
    response = report(data.logged_in("finance01", roles.FINANCE), scenario)
    names = {r["cells"][3] for r in data.page_tables(response)["uses"]["rows"]}
    assert names == {"王*"}
    assert "王五" not in response.content.decode()


def test_insurance_office_sees_the_full_name_in_the_page_and_the_download(scenario):
    client = data.logged_in("yb01", roles.INSURANCE_OFFICE)
    response = report(client, scenario)
    assert {r["cells"][3] for r in data.page_tables(response)["uses"]["rows"]} == {"王五"}
    csv_text = report(client, scenario, table="uses", format="csv").content.decode()
    assert "王五" in csv_text


def test_finance_download_is_masked_too(scenario):
    csv_text = report(
        data.logged_in("finance01", roles.FINANCE), scenario, table="uses", format="csv"
    ).content.decode()
    assert "王五" not in csv_text and "王*" in csv_text


@pytest.mark.parametrize("role", [roles.NURSE, roles.STOREKEEPER, roles.SUPPLIER])
def test_ward_store_and_supplier_roles_are_refused(scenario, role):
    assert report(data.logged_in("someone", role), scenario).status_code == 403
