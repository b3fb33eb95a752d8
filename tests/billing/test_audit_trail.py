"""The audit trail page (审计追踪): who did what and when, filtered, exported, masked."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config import roles
from consumables.models import Consumable
from consumables.services import price_version_approve, price_version_propose
from tests.billing.conftest import post_scan, stocked_item
from tests.factories import ConsumableFactory, PriceVersionFactory

pytestmark = pytest.mark.django_db

PAGE = "/billing/audit-trail/"


def person(username, role) -> User:
    user = User.objects.create_user(username, password="pw-123456!")
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def auditor():
    return page_client(person("audit01", roles.INSURANCE_OFFICE))


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def rows_of(response) -> list[str]:
    """The table's body rows (the filter form echoes what was typed: never search it)."""
    body = text_of(response).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.split("<tr>")[1:] if "没有记录" not in row]


def test_price_change_shows_proposer_approver_and_the_prices_before_and_after(auditor):
    consumable = ConsumableFactory(material_code="WZ-AT-1")
    PriceVersionFactory(consumable=consumable)
    proposer, approver = person("pricing01", roles.PRICING_OFFICE), person("pricing02", "x")
    version = price_version_propose(
        consumable=consumable,
        purchase_price="12.5",
        charge_price="12.5",
        effective_from=timezone.now(),
        reason="供应商调价",
        proposed_by=proposer,
    )
    price_version_approve(version=version, approver=approver)

    body = text_of(auditor.get(PAGE, {"source": "master", "user": "pricing02"}))
    assert "pricing02" in body and "修改 / update" in body
    assert "approved" in body  # the status went proposed -> approved
    body = text_of(auditor.get(PAGE, {"source": "master", "user": "pricing01"}))
    assert "新增 / create" in body and "12.5000" in body and "供应商调价" in body


def test_master_data_update_shows_the_changed_field_only(auditor):
    consumable = ConsumableFactory(material_code="WZ-AT-2", name="旧名称")
    consumable.name = "新名称"
    consumable.save()
    body = text_of(auditor.get(PAGE, {"q": "WZ-AT-2"}))
    assert "<del>旧名称</del> → 新名称" in body
    update_rows = [r for r in body.split("<tr>") if "修改 / update" in r]
    assert len(update_rows) == 1 and "WZ-AT-2</del>" not in update_rows[0]


def test_scans_charges_and_refunds_carry_who_did_them(hospital, auditor):
    consumable, _, (code,) = stocked_item(hospital, "690666000001", price="8")
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=2)
    post_scan(hospital["nurse"], "return", code, "XNK", encounter="ZY001", quantity=1)

    charges = text_of(auditor.get(PAGE, {"source": "charge", "q": "ZY001"}))
    assert "nurse01" in charges and "16.00" in charges and "张三" in charges
    refunds = text_of(auditor.get(PAGE, {"source": "refund", "q": "ZY001"}))
    assert "nurse01" in refunds and "8.00" in refunds
    scans = text_of(auditor.get(PAGE, {"source": "scan", "user": "store01"}))
    assert scans.count("<td>入库 / receive</td>") == 1 and scans.count("<td>出库 / issue</td>") == 1
    assert consumable.material_code in scans


def test_finance_reads_the_trail_with_patient_names_masked(hospital):
    _, _, (code,) = stocked_item(hospital, "690666000002")
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001")
    finance = page_client(person("finance01", roles.FINANCE))
    body = text_of(finance.get(PAGE, {"source": "charge"}))
    assert "张*" in body and "张三" not in body


@pytest.mark.parametrize("role", [roles.NURSE, roles.STOREKEEPER, roles.SUPPLIER])
def test_ward_store_and_supplier_staff_may_not_read_the_trail(role):
    assert page_client(person(f"u-{role}", role)).get(PAGE).status_code == 403


def test_date_range_excludes_other_days(auditor):
    consumable = ConsumableFactory(material_code="WZ-AT-3")
    history = consumable.history.get()
    history.history_date = timezone.now() - dt.timedelta(days=10)
    history.save()
    today = timezone.localdate()
    assert rows_of(auditor.get(PAGE, {"since": today.isoformat(), "q": "WZ-AT-3"})) == []
    earlier = (today - dt.timedelta(days=10)).isoformat()
    older = rows_of(auditor.get(PAGE, {"since": earlier, "until": earlier, "q": "WZ-AT-3"}))
    assert len(older) == 1 and "WZ-AT-3" in older[0]


def test_reversed_date_range_is_a_clear_error(auditor):
    response = auditor.get(PAGE, {"since": "2026-12-02", "until": "2026-12-01"})
    assert response.status_code == 400
    assert "起始日期晚于截止日期" in response.content.decode()


def test_export_holds_every_filtered_entry_in_xlsx_and_csv(auditor):
    for n in range(3):
        ConsumableFactory(material_code=f"WZ-EX-{n}")
    xlsx = auditor.get(PAGE, {"source": "master", "format": "xlsx"})
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    subjects = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    created = Consumable.history.filter(history_type="+").count()
    assert len([s for s in subjects if str(s).startswith("耗材")]) == created
    rows = list(csv.reader(io.StringIO(auditor.get(PAGE, {"format": "csv"}).content.decode())))
    assert rows[0][0].lstrip("\ufeff") == "时间 / time"
    assert sum("WZ-EX-" in r[4] for r in rows[1:]) == 3


def test_page_costs_the_same_queries_for_few_and_many_entries(hospital, auditor):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert auditor.get(PAGE).status_code == 200
        return len(captured)

    _, _, (code,) = stocked_item(hospital, "690666000003", price="3", quantity=100)

    def rounds(n: int) -> None:
        """Each round adds one entry of each of four kinds: a consumable, its price, a use
        scan and its charge; 15 rounds already fill the first page with these kinds."""
        for _ in range(n):
            item = ConsumableFactory()
            PriceVersionFactory(consumable=item, charge_price=Decimal("2"), purchase_price=2)
            post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001")

    rounds(15)
    few = queries()
    rounds(45)
    assert queries() == few


def test_pages_do_not_overlap_and_miss_nothing(auditor):
    for n in range(120):
        ConsumableFactory(material_code=f"WZ-PG-{n:03d}")
    seen = []
    for page in (1, 2, 3):
        for row in rows_of(auditor.get(PAGE, {"source": "master", "page": page})):
            seen.append(row.split("WZ-PG-", 1)[1][:3])
    assert sorted(seen) == [f"{n:03d}" for n in range(120)]
