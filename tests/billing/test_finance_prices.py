"""四价统一 report: prices in force breaking the rule, and platform changes ahead."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from config import roles
from consumables.models import ExternalPrice, PriceVersion
from tests.billing import finance_data as data
from tests.factories import ConsumableFactory, ExternalPriceFactory, PriceVersionFactory

pytestmark = pytest.mark.django_db

PAGE = "/billing/finance/four-price/"


@pytest.fixture
def scenario(hospital):
    return data.build(hospital)


@pytest.fixture
def pricing(scenario):
    return data.logged_in("wjb01", roles.PRICING_OFFICE)


def test_item_whose_platform_price_fell_below_purchase_is_listed(scenario, pricing):
    response = pricing.get(PAGE)
    assert response.status_code == 200
    rows = data.rows_by(data.page_tables(response)["misaligned"], "物资编码")
    assert list(rows) == [scenario.items["E"].material_code]
    row = rows[scenario.items["E"].material_code]
    assert (row["挂网价"], row["采购价"]) == ("9.00", "10.00")
    assert row["违反规则"] == "采购价高于挂网价"


def test_charge_price_above_purchase_is_listed_with_a_pending_proposal(scenario, pricing):
    item = ConsumableFactory(name="导尿包")
    PriceVersionFactory(consumable=item, purchase_price=Decimal("8"), charge_price=Decimal("9.6"))
    PriceVersion.objects.create(
        consumable=item,
        purchase_price=Decimal("8"),
        charge_price=Decimal("8"),
        effective_from=timezone.now() + dt.timedelta(days=1),
        proposed_by=pricing.user,
    )
    rows = data.rows_by(data.page_tables(pricing.get(PAGE))["misaligned"], "物资编码")
    row = rows[item.material_code]
    assert row["违反规则"] == "收费价≠采购价（零差率）"
    assert row["调价申请"].startswith("已提请")


def test_platform_changes_in_the_next_30_days_are_listed_with_the_rule_then(scenario, pricing):
    table = data.page_tables(pricing.get(PAGE))["upcoming"]
    rows = data.rows_by(table, "物资编码")
    a, b, c = (scenario.items[k].material_code for k in "ABC")
    assert set(rows) == {a, c}  # B's change is 40 days away
    assert rows[a]["新价"] == "2.00" and rows[a]["届时采购价"] == "2.50"
    assert rows[a]["届时四价"] == "采购价≠集采价"
    assert rows[c]["届时四价"].startswith("仍统一")
    assert "over" in next(r["css"] for r in table["rows"] if r["cells"][1] == a)


def test_an_approved_price_scheduled_before_the_change_keeps_the_rule(scenario, pricing):
    a = scenario.items["A"]
    change = ExternalPrice.objects.get(consumable=a, kind=ExternalPrice.Kind.VBP)
    PriceVersion.objects.create(
        consumable=a,
        purchase_price=Decimal("2.00"),
        charge_price=Decimal("2.00"),
        effective_from=change.effective_from - dt.timedelta(hours=1),
        status=PriceVersion.Status.APPROVED,
        proposed_by=pricing.user,
        decided_by=scenario.users["keeper"].user,
        decided_at=timezone.now(),
    )
    rows = data.rows_by(data.page_tables(pricing.get(PAGE))["upcoming"], "物资编码")
    assert rows[a.material_code]["届时采购价"] == "2.00"
    assert rows[a.material_code]["届时四价"].startswith("仍统一")


def test_the_end_of_a_vbp_programme_is_shown(scenario, pricing):
    item = ConsumableFactory(name="输液器")
    PriceVersionFactory(consumable=item, purchase_price=Decimal("3"), charge_price=Decimal("3"))
    ExternalPriceFactory(consumable=item, kind=ExternalPrice.Kind.VBP, price=Decimal("3"))
    ExternalPriceFactory(
        consumable=item,
        kind=ExternalPrice.Kind.VBP,
        price=None,
        effective_from=timezone.now() + dt.timedelta(days=5),
    )
    rows = data.rows_by(data.page_tables(pricing.get(PAGE))["upcoming"], "物资编码")
    assert rows[item.material_code]["变化"].startswith("集采结束")
    assert rows[item.material_code]["现行价"] == "3.00"


def test_pricing_office_sees_no_links_to_the_finance_pages(scenario, pricing):
    text = pricing.get(PAGE).content.decode()
    assert 'href="/billing/finance/people/"' not in text
    assert pricing.get("/billing/finance/").status_code == 403


@pytest.mark.parametrize("role", [roles.FINANCE, roles.INSURANCE_OFFICE, roles.ADMINISTRATOR])
def test_finance_and_insurance_office_read_it_too(scenario, role):
    assert data.logged_in("reader", role).get(PAGE).status_code == 200


@pytest.mark.parametrize("role", [roles.NURSE, roles.STOREKEEPER, roles.SUPPLIER])
def test_ward_store_and_supplier_roles_are_refused(hospital, role):
    assert data.logged_in("someone", role).get(PAGE).status_code == 403
