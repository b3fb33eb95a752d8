"""The nurse's page 床旁扫码: her wards only, the wristband, and what was used today."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from billing.models import ChargeLine, Encounter, Patient, Use
from billing.selectors import ward as selectors
from config import roles
from consumables.models import Consumable
from organisation.models import Department
from tests.billing.conftest import gs1, post_scan, stocked_item
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db

PATIENT = "/billing/bedside/patient/"


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def person(username, role, *departments) -> User:
    group, _ = Group.objects.get_or_create(name=role)
    user = User.objects.create_user(username, password="pw-123456!")
    user.groups.add(group)
    for department in departments:
        department.members.add(user)
    return user


def use(hospital, code, **extra):
    response = post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", **extra)
    assert response.status_code == 201, response.json()
    return response.json()


def test_page_offers_only_the_nurses_own_wards_and_theatres(hospital):
    theatre = DepartmentFactory(code="SSS", name="中心手术室", kind=Department.Kind.THEATRE)
    DepartmentFactory(code="WKB", name="外科病区")
    nurse = hospital["nurse"].user
    theatre.members.add(nurse)
    hospital["store"].members.add(nurse)  # a store is no place for bedside scanning

    response = page_client(nurse).get("/billing/bedside/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "床旁扫码" in html
    assert [w.code for w in response.context["wards"]] == ["SSS", "XNK"]
    assert "?ward=XNK" in html and "?ward=SSS" in html
    assert "?ward=WKB" not in html and "?ward=CK01" not in html
    assert response.context["ward"] is None  # two choices: she picks


def test_a_nurse_with_one_ward_starts_on_it_with_its_roster(hospital):
    response = page_client(hospital["nurse"].user).get("/billing/bedside/")
    assert response.context["ward"] == hospital["ward"]
    assert response.context["roster"] == [
        {"visit_no": "ZY001", "insurance_type": "职工医保", "name": "张三", "insured": True}
    ]
    assert 'id="bedside-roster"' in response.content.decode()


def test_another_wards_code_in_the_address_is_refused(hospital):
    DepartmentFactory(code="WKB", name="外科病区")
    response = page_client(hospital["nurse"].user).get("/billing/bedside/?ward=WKB")
    assert response.status_code == 403
    assert "NOT_YOUR_WARD" in response.content.decode()
    fragment = page_client(hospital["nurse"].user).get(PATIENT + "?ward=WKB&visit=ZY001")
    assert fragment.status_code == 403
    assert "张三" not in fragment.content.decode()


@pytest.mark.parametrize("role", [roles.STOREKEEPER, roles.SUPPLIER, roles.FINANCE])
def test_other_roles_may_not_open_the_page(hospital, role):
    user = person(f"u-{role}", role, hospital["ward"])
    assert page_client(user).get("/billing/bedside/").status_code == 403
    assert page_client(user).get(PATIENT + "?ward=XNK&visit=ZY001").status_code == 403


def test_anonymous_is_sent_to_the_login_page(hospital):
    response = Client().get("/billing/bedside/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/billing/bedside/")


def test_administrator_may_scan_on_every_ward(hospital):
    admin = person("admin01", roles.ADMINISTRATOR)
    response = page_client(admin).get("/billing/bedside/?ward=XNK&visit=ZY001")
    assert response.status_code == 200
    assert response.context["encounter"] == hospital["encounter"]


def test_wristband_shows_the_patient_full_name_department_and_insurance(hospital):
    response = page_client(hospital["nurse"].user).get("/billing/bedside/?ward=XNK&visit=ZY001")
    html = response.content.decode()
    assert 'data-encounter="ZY001"' in html
    assert "张三" in html and "张*" not in html
    assert "心内科病区" in html and "职工医保" in html


def test_wristband_read_with_a_symbology_prefix_finds_the_patient(hospital):
    response = page_client(hospital["nurse"].user).get(PATIENT + "?ward=XNK&visit=]C0ZY001")
    assert response.status_code == 200
    assert 'data-encounter="ZY001"' in response.content.decode()


def refusal_of(response) -> str:
    match = re.search(r'data-refusal="([A-Z_]+)"', response.content.decode())
    return match.group(1) if match else ""


def test_wristbands_not_of_an_open_encounter_of_the_ward_get_a_red_line(hospital):
    other_ward = DepartmentFactory(code="WKB", name="外科病区")
    Encounter.objects.create(
        visit_no="ZY002",
        patient=Patient.objects.create(patient_id="P002", name="李四"),
        department=other_ward,
        admitted_at=timezone.now(),
    )
    Encounter.objects.create(
        visit_no="ZY003",
        patient=Patient.objects.create(patient_id="P003", name="王五"),
        department=hospital["ward"],
        admitted_at=timezone.now() - dt.timedelta(days=5),
        discharged_at=timezone.now() - dt.timedelta(days=1),
    )
    client = page_client(hospital["nurse"].user)

    def ask(visit):
        return client.get(PATIENT + f"?ward=XNK&visit={visit}")

    assert (ask("NOPE").status_code, refusal_of(ask("NOPE"))) == (404, "UNKNOWN_ENCOUNTER")
    assert (ask("ZY002").status_code, refusal_of(ask("ZY002"))) == (409, "ENCOUNTER_NOT_ON_WARD")
    assert (ask("ZY003").status_code, refusal_of(ask("ZY003"))) == (409, "ENCOUNTER_CLOSED")
    assert "李四" not in ask("ZY002").content.decode()
    # The whole page still renders: the refusal is a red line on it.
    page = client.get("/billing/bedside/?ward=XNK&visit=ZY002")
    assert page.status_code == 200 and refusal_of(page) == "ENCOUNTER_NOT_ON_WARD"


def test_a_theatre_takes_the_patients_of_every_ward(hospital):
    theatre = DepartmentFactory(code="SSS", name="中心手术室", kind=Department.Kind.THEATRE)
    nurse = person("or-nurse", roles.NURSE, theatre)
    response = page_client(nurse).get(PATIENT + "?ward=SSS&visit=ZY001")
    assert response.status_code == 200
    assert 'data-encounter="ZY001"' in response.content.decode()


def test_patient_panel_lists_todays_uses_with_amounts_returns_and_undo_codes(hospital):
    lot_item, _, (lot_code,) = stocked_item(hospital, "690777000001", price="12.5")
    unit_item, _, unit_codes = stocked_item(
        hospital,
        "690777000002",
        tracking=Consumable.Tracking.UNIT,
        serials=["SN-A", "SN-B"],
        price="800",
        insurance_class=Consumable.InsuranceClass.COVERED,
    )
    use(hospital, lot_code, quantity=3)
    use(hospital, unit_codes[0])
    use(hospital, unit_codes[1])
    post_scan(hospital["nurse"], "return", unit_codes[1], "XNK", encounter="ZY001")
    first_use = Use.objects.order_by("pk").first()
    yesterday_use = use(
        hospital, lot_code, occurred_at=(timezone.now() - dt.timedelta(days=1)).isoformat()
    )
    assert yesterday_use["quantity"] == 1

    response = page_client(hospital["nurse"].user).get(PATIENT + "?ward=XNK&visit=ZY001")

    assert response.status_code == 200
    rows = response.context["uses"]
    assert len(rows) == 3  # yesterday's use is not today's
    by_serial = {row.serial: row for row in rows}
    assert by_serial["SN-B"].returned_quantity == 1 and by_serial["SN-B"].returnable == 0
    assert by_serial["SN-A"].amount == by_serial["SN-A"].net_amount
    lot_row = by_serial[""]
    assert (lot_row.quantity, str(lot_row.amount)) == (3, "37.50")
    assert lot_row.pk == first_use.pk
    html = response.content.decode()
    assert lot_item.name in html and unit_item.name in html
    assert "¥37.50" in html and "¥800.00" in html
    assert html.count("data-undo") == 2  # the returned unit has nothing left to undo
    assert "已退 1" in html


def test_undo_codes_of_the_list_return_the_right_item_and_refund_it(hospital):
    _, _, (lot_code,) = stocked_item(hospital, "690777000011", price="10")
    _, _, unit_codes = stocked_item(
        hospital, "690777000012", tracking=Consumable.Tracking.UNIT, serials=["U-1"], price="99"
    )
    use(hospital, lot_code, quantity=4)
    use(hospital, unit_codes[0])

    for row in selectors.bedside_uses_today(encounter=hospital["encounter"]):
        assert row.return_code and "\x1d" not in row.return_code
        back = post_scan(
            hospital["nurse"],
            "return",
            row.return_code,
            row.department,
            encounter="ZY001",
            quantity=row.returnable,
        )
        assert back.status_code == 201, back.json()

    assert [(c.quantity, c.refunded_quantity) for c in ChargeLine.objects.order_by("pk")] == [
        (4, 4),
        (1, 1),
    ]
    assert all(
        row.returnable == 0 for row in selectors.bedside_uses_today(encounter=hospital["encounter"])
    )


def test_a_unit_with_an_in_hospital_label_is_undone_by_its_label(hospital):
    consumable, _, _ = stocked_item(
        hospital, "690777000021", tracking=Consumable.Tracking.UNIT, serials=["TMP"]
    )
    # A non-sterile implant repacked in the hospital: received without a serial, labelled.
    di = consumable.device_identifiers.get().udi_di
    received = post_scan(
        hospital["keeper"],
        "receive",
        gs1(di, lot="LB"),
        "CK01",
        supplier="GYS01",
        unit_cost="25.5",
        quantity=1,
    )
    assert received.status_code == 201, received.json()
    (label,) = received.json()["labels"]
    issued = post_scan(hospital["keeper"], "issue", label, "XNK", from_department="CK01")
    assert issued.status_code == 201, issued.json()
    use(hospital, label)

    row = next(
        r for r in selectors.bedside_uses_today(encounter=hospital["encounter"]) if r.lot == "LB"
    )
    assert row.return_code == label
    back = post_scan(hospital["nurse"], "return", row.return_code, "XNK", encounter="ZY001")
    assert back.status_code == 201, back.json()
    assert back.json()["hospital_barcode"] == label


def test_patient_panel_query_count_does_not_grow_with_the_list(
    hospital, django_assert_max_num_queries
):
    _, _, (code,) = stocked_item(hospital, "690777000031", quantity=40)
    _, _, unit_codes = stocked_item(
        hospital, "690777000032", tracking=Consumable.Tracking.UNIT, serials=["Q1", "Q2", "Q3"]
    )
    client = page_client(hospital["nurse"].user)
    use(hospital, code)
    client.get(PATIENT + "?ward=XNK&visit=ZY001")  # warm the session and caches
    with django_assert_max_num_queries(8) as captured:
        client.get(PATIENT + "?ward=XNK&visit=ZY001")
    few = len(captured.captured_queries)  # read now: the next request clears the log
    for _ in range(12):
        use(hospital, code)
    for unit_code in unit_codes:
        use(hospital, unit_code)
    with django_assert_max_num_queries(few):
        response = client.get(PATIENT + "?ward=XNK&visit=ZY001")
    assert len(response.context["uses"]) == 16
    with django_assert_max_num_queries(10):
        assert client.get("/billing/bedside/?ward=XNK&visit=ZY001").status_code == 200
