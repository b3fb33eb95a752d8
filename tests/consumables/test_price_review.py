"""Price proposals for the pricing office: propose with an effective date and a reason, a
second person approves or rejects, the four-price check against the platform and VBP prices
in force is shown and a breaking proposal cannot be approved; platform/VBP price lists are
imported as files with their effective dates, bad rows reported by line."""

import csv
import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config import roles
from consumables.importing import midnight
from consumables.models import ExternalPrice, PriceVersion
from consumables.price_review import misaligned_in_force, pending_proposals, proposal_checks
from consumables.pricelists import price_list_import
from consumables.services import price_version_propose
from tests.consumables.test_master_pages import person
from tests.factories import (
    ConsumableFactory,
    DeviceIdentifierFactory,
    ExternalPriceFactory,
    PriceVersionFactory,
    gtin14,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    return person("wj01", roles.PRICING_OFFICE), person("wj02", roles.PRICING_OFFICE)


@pytest.fixture
def item():
    consumable = ConsumableFactory(material_code="WZ1", name="留置针")
    ExternalPriceFactory(consumable=consumable, price=D("20"))
    PriceVersionFactory(consumable=consumable, purchase_price=D("18"), charge_price=D("18"))
    return consumable


def propose(client, **fields):
    data = {"material_code": "WZ1", "purchase_price": "19", "charge_price": "19",
            "effective_date": timezone.localdate().isoformat(), "reason": "供货价上调"}
    data.update(fields)
    return client.post("/master/prices/", data)


def test_a_proposal_from_the_page_awaits_a_second_person(office, item):
    first, second = office
    assert propose(first).status_code == 302
    version = PriceVersion.objects.get(status="proposed")
    assert (version.proposed_by, version.reason, version.purchase_price) == (
        first.user, "供货价上调", D("19"),
    )  # fmt: skip
    first.post(f"/master/prices/{version.pk}/", {"action": "approve"})
    version.refresh_from_db()
    assert version.status == "proposed"  # the proposer cannot approve
    second.post(f"/master/prices/{version.pk}/", {"action": "approve", "note": "核对无误"})
    version.refresh_from_db()
    assert (version.status, version.decided_by) == ("approved", second.user)


def test_a_proposal_needs_a_reason(office, item):
    assert propose(office[0], reason=" ").status_code == 400
    assert not PriceVersion.objects.filter(status="proposed").exists()


def test_the_page_shows_the_four_price_check_and_refuses_approving_a_breaking_one(office, item):
    first, second = office
    propose(first, purchase_price="25", charge_price="25")  # above the platform price 20
    version = PriceVersion.objects.get(status="proposed")
    page = second.get("/master/prices/").content.decode()
    assert "PURCHASE_ABOVE_PLATFORM" in page and "高于挂网价" in page
    response = second.post(f"/master/prices/{version.pk}/", {"action": "approve"}, follow=True)
    version.refresh_from_db()
    assert version.status == "proposed"
    assert "FOUR_PRICE_VIOLATION" in response.content.decode()


def test_the_check_uses_the_prices_in_force_when_the_proposal_takes_effect(item, user):
    later = timezone.localdate() + dt.timedelta(days=10)
    ExternalPrice.objects.create(consumable=item, kind="vbp", price=D("15"),
                                 effective_from=midnight(later))  # fmt: skip
    soon = price_version_propose(consumable=item, purchase_price="19", charge_price="19",
                                 effective_from=timezone.now(), reason="a", proposed_by=user)
    after = price_version_propose(consumable=item, purchase_price="19", charge_price="19",
                                  effective_from=midnight(later), reason="b", proposed_by=user)
    checks = {c.version.pk: c for c in proposal_checks(list(pending_proposals()))}
    assert checks[soon.pk].violations == []
    assert [v.code for v in checks[after.pk].violations] == ["PURCHASE_NE_VBP"]
    assert (checks[after.pk].current_purchase, checks[after.pk].platform) == (D("18"), D("20"))


def test_the_proposal_list_costs_the_same_queries_for_two_or_twenty(office, item, user):
    def cost(n):
        for _ in range(n):
            price_version_propose(consumable=ConsumableFactory(), purchase_price="1",
                                  charge_price="1", effective_from=timezone.now(), reason="r",
                                  proposed_by=user)  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            assert office[1].get("/master/prices/").status_code == 200
        return len(queries)

    assert cost(2) == cost(18)


def test_other_roles_cannot_open_the_price_pages(item):
    nurse = person("hs01", roles.NURSE)
    assert nurse.get("/master/prices/").status_code == 403
    assert nurse.get("/master/prices/lists/").status_code == 403


def test_proposals_export_to_xlsx_and_csv(office, item):
    propose(office[0])
    csv_body = office[1].get("/master/prices/?export=csv").content.decode("utf-8-sig")
    assert "WZ1" in csv_body and "符合 / aligned" in csv_body
    xlsx = office[1].get("/master/prices/?export=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


# -- platform and VBP price lists -------------------------------------------------------------


def price_file(tmp_path, header, rows, name="prices.csv"):
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_a_price_list_loads_prices_by_any_code_with_their_effective_dates(tmp_path, item, user):
    other = ConsumableFactory(material_code="WZ2")
    third = ConsumableFactory(material_code="WZ3")
    DeviceIdentifierFactory(consumable=third, udi_di=gtin14(3))
    path = price_file(
        tmp_path,
        ["物资编码", "医保耗材编码", "UDI-DI", "挂网价", "集采价", "生效日期"],
        [
            ["WZ1", "", "", "21.00", "", "2030-03-01"],
            ["", other.insurance_code, "", "", "8.50", ""],
            ["", "", f"(01){gtin14(3)}", "30", "", "2030-03-01"],
        ],
    )
    report = price_list_import(path=path, effective_date=dt.date(2030, 2, 1), user=user)
    assert report.errors == [] and report.external_prices_created == 3
    got = {(e.consumable.material_code, e.kind, e.price, timezone.localdate(e.effective_from))
           for e in ExternalPrice.objects.filter(source__contains="price list")}  # fmt: skip
    assert got == {
        ("WZ1", "platform", D("21"), dt.date(2030, 3, 1)),
        ("WZ2", "vbp", D("8.5"), dt.date(2030, 2, 1)),
        ("WZ3", "platform", D("30"), dt.date(2030, 3, 1)),
    }
    # Imported again: nothing new.
    assert price_list_import(path=path, effective_date=dt.date(2030, 2, 1),
                             user=user).external_prices_created == 0  # fmt: skip


def test_bad_rows_of_a_price_list_are_reported_by_line_and_the_rest_loads(tmp_path, item, user):
    path = price_file(
        tmp_path,
        ["material_code", "platform_price", "effective_from"],
        [["WZ1", "21", "2030-03-01"], ["NOPE", "5", "2030-03-01"], ["WZ1", "abc", "2030-04-01"],
         ["WZ1", "22", ""]],
    )  # fmt: skip
    report = price_list_import(path=path, effective_date=None, user=user)
    assert [(e.line, e.code) for e in report.errors] == [
        (3, "UNKNOWN_CODE"), (4, "VALIDATION_ERROR"), (5, "VALIDATION_ERROR"),
    ]  # fmt: skip
    assert ExternalPrice.objects.filter(price=D("21")).count() == 1


def test_vbp_none_ends_the_programme_from_the_date(tmp_path, item, user):
    ExternalPriceFactory(consumable=item, kind="vbp", price=D("18"))
    path = price_file(tmp_path, ["material_code", "vbp_price"], [["WZ1", "无"]])
    price_list_import(path=path, effective_date=timezone.localdate(), user=user)
    ended = ExternalPrice.objects.filter(consumable=item, kind="vbp").order_by(
        "-effective_from").first()  # fmt: skip
    assert ended.price is None


def test_a_price_list_upload_from_the_page_shows_bad_lines(office, item):
    body = b"material_code,platform_price\nWZ1,19\nNOPE,3\n"
    response = office[0].post(
        "/master/prices/lists/",
        {"file": SimpleUploadedFile("平台价格.csv", body, "text/csv"),
         "effective_date": timezone.localdate().isoformat()},
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert "UNKNOWN_CODE" in html and ">3<" in html
    # The new platform price 19 stays above the approved purchase price 18: still aligned.
    assert list(misaligned_in_force()) == []


def test_items_whose_prices_in_force_break_the_rule_are_listed(item, office):
    ExternalPrice.objects.create(consumable=item, kind="platform", price=D("17"),
                                 effective_from=timezone.now() - dt.timedelta(hours=1))
    assert [c.material_code for c in misaligned_in_force()] == ["WZ1"]
    assert 'data-material-code="WZ1"' in office[0].get("/master/prices/lists/").content.decode()
