"""The daily itemised list (一日清单) of an inpatient, and the ward view."""

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.utils import timezone

from billing.models import Encounter, Patient
from billing.selectors import ward as selectors
from config import roles
from config.business_day import business_day
from consumables.models import Consumable
from tests.billing.conftest import client_for, post_scan, stocked_item
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db

PAGE = "/billing/daily-list/ZY001/"


def today() -> dt.date:
    return business_day(timezone.now())


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


@pytest.fixture
def nurse(hospital):
    client = hospital["nurse"]
    client.force_login(client.user)
    return client


def his_charge(his, consumable, quantity, price):
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": "ZY001",
            "charge_code": consumable.charge_code,
            "quantity": quantity,
            "unit_price": price,
            "charged_at": timezone.now().isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["charge"]["id"]


def cell(text, element_id):
    return re.search(rf'id="{element_id}">([^<]*)<', text).group(1)


def test_lists_the_days_lines_with_totals_split_self_pay_and_insured(hospital, his, nurse):
    covered, _, (code,) = stocked_item(hospital, "690555000001", price="25.5")
    self_pay, _, _ = stocked_item(
        hospital,
        "690555000002",
        price="100",
        billed_by=Consumable.BilledBy.HIS,
        insurance_class=Consumable.InsuranceClass.SELF_PAY,
    )
    post_scan(nurse, "use", code, "XNK", encounter="ZY001", quantity=2)
    his_charge(his, self_pay, 1, "100")
    response = nurse.get(PAGE)
    assert response.status_code == 200
    text = response.content.decode()
    assert covered.material_code in text and covered.charge_code in text
    assert covered.insurance_code in text
    assert "25.50" in text and "51.00" in text
    assert (cell(text, "insured-total"), cell(text, "self-pay-total"), cell(text, "total")) == (
        "51.00",
        "100.00",
        "151.00",
    )


def test_a_refund_shows_as_a_negative_line(hospital, his, nurse):
    consumable, _, _ = stocked_item(hospital, "690555000003", price="25.5")
    charge_id = his_charge(his, consumable, 2, "25.5")
    his.post(
        f"/api/v1/charges/{charge_id}/refund",
        {"event_id": str(uuid.uuid4()), "quantity": 1, "refunded_at": timezone.now().isoformat()},
        format="json",
    )
    daily = selectors.daily_list(encounter=hospital["encounter"], day=today())
    assert [(line.kind, line.quantity, line.amount) for line in daily.lines] == [
        ("charge", 2, Decimal("51.00")),
        ("refund", -1, Decimal("-25.50")),
    ]
    text = nurse.get(PAGE).content.decode()
    assert "-25.50" in text
    assert cell(text, "total") == "25.50"


def test_another_days_use_is_not_shown(hospital, nurse):
    consumable, _, (code,) = stocked_item(hospital, "690555000004")
    yesterday = timezone.now() - dt.timedelta(days=1)
    post_scan(nurse, "use", code, "XNK", encounter="ZY001", occurred_at=yesterday.isoformat())
    assert consumable.material_code not in nurse.get(PAGE).content.decode()
    earlier = nurse.get(PAGE, {"date": business_day(yesterday).isoformat()})
    assert consumable.material_code in earlier.content.decode()


def test_page_is_an_a4_sheet_with_header_print_button_and_signature_line(hospital, nurse):
    text = nurse.get(PAGE).content.decode()
    assert "css/print.css" in text
    assert "data-print" in text and "js/page-actions.js" in text  # the print button
    assert "患者/家属签字" in text
    for fact in ("张三", "ZY001", "心内科病区", "职工医保"):
        assert fact in text
    with open(finders.find("css/print.css"), encoding="utf-8") as css:
        assert re.search(r"@page\s*{[^}]*size:\s*A4", css.read())


def test_finance_sees_the_list_with_a_masked_name(hospital):
    finance = client_for("finance01", roles.FINANCE)
    finance.force_login(finance.user)
    text = finance.get(PAGE).content.decode()
    assert cell(text, "patient-name") == "张*"


def test_nurse_of_another_ward_may_not_open_the_list(hospital):
    other = client_for("nurse02", roles.NURSE, DepartmentFactory(code="WK", name="外科病区"))
    other.force_login(other.user)
    assert other.get(PAGE).status_code == 403


def test_bad_date_is_refused(hospital, nurse):
    assert nurse.get(PAGE, {"date": "2026-13-45"}).status_code == 400


def test_ward_view_lists_the_inpatients_of_the_ward(hospital, nurse):
    ward, surgery = hospital["ward"], DepartmentFactory(code="WK", name="外科病区")
    now = timezone.now()

    def inpatient(visit_no, department, **times):
        Encounter.objects.create(
            visit_no=visit_no,
            patient=Patient.objects.create(patient_id=f"P-{visit_no}", name=f"患者{visit_no}"),
            department=department,
            admitted_at=times.get("admitted_at", now - dt.timedelta(days=1)),
            discharged_at=times.get("discharged_at"),
        )

    inpatient("ZY002", ward)
    inpatient("ZY003", surgery)
    inpatient("ZY004", ward, discharged_at=now - dt.timedelta(days=3))
    response = nurse.get("/billing/daily-list/", {"department": "XNK"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "/billing/daily-list/ZY001/" in text and "/billing/daily-list/ZY002/" in text
    assert "ZY003" not in text and "ZY004" not in text


def test_ward_view_refuses_a_ward_the_nurse_is_not_on(hospital, nurse):
    DepartmentFactory(code="WK", name="外科病区")
    assert nurse.get("/billing/daily-list/", {"department": "WK"}).status_code == 403
