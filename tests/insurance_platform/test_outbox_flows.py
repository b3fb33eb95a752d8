"""The outbox from real scan flows to prepared payloads (issue 17, item 1).

Every flow goes through the scan API or the inventory services; the database writes the
records (migration 0002); ``prepare`` fills each payload, which must pass the field table
of the specification (``field_errors``)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing.models import Encounter, InsuranceType, Patient
from config.business_day import business_day
from consumables.models import Consumable
from insurance_platform.models import UploadRecord
from insurance_platform.services.prepare import prepare
from insurance_platform.spec import field_errors
from inventory.models import StockMove, Stocktake
from inventory.services.stocktake import (
    stocktake_confirm,
    stocktake_count,
    stocktake_open,
    stocktake_submit,
)
from organisation.models import Supplier
from tests.billing.conftest import (  # noqa: F401  (fixtures)
    client_for,
    gtin,
    hospital,
    post_scan,
)
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, PriceVersionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

GS = "\x1d"
MADE = dt.date(2026, 3, 1)


def code_for(di, lot="L1", serial=None, days=365):
    expiry = (timezone.localdate() + dt.timedelta(days=days)).strftime("%y%m%d")
    code = f"01{di}11{MADE:%y%m%d}17{expiry}10{lot}"
    return code + (f"{GS}21{serial}" if serial else "")


def created(response):
    assert response.status_code == 201, response.json()
    return response.json()


def records(txn=None, **filters):
    rows = UploadRecord.objects.filter(**filters).order_by("pk")
    return list(rows.filter(txn=txn) if txn else rows)


def prepared(record):
    assert prepare([record.pk]) == 1
    record.refresh_from_db()
    assert field_errors(record.txn, record.payload) == [], record.payload
    return record.payload


@pytest.fixture
def world(hospital):  # noqa: F811  (the imported fixture)
    """An insured inpatient (with the platform's ids), a self-pay one, and an item with a
    DI received (with its production date) into the store and issued to the ward."""
    Supplier.objects.filter(code="GYS01").update(license_no="川蓉食药监械经营许20150001号")
    InsuranceType.objects.get_or_create(name="职工医保", defaults={"insured": True})
    InsuranceType.objects.get_or_create(name="自费", defaults={"insured": False})
    encounter = hospital["encounter"]
    encounter.psn_no = "51000019900101123X"
    encounter.setl_id = "SETL0001"
    encounter.save()
    self_pay = Encounter.objects.create(
        visit_no="ZY002",
        patient=Patient.objects.create(patient_id="P002", name="李四"),
        department=hospital["ward"],
        insurance_type="自费",
        admitted_at=timezone.now() - dt.timedelta(days=1),
    )
    consumable = ConsumableFactory(
        registration_no="国械注准20153140001", tracking=Consumable.Tracking.LOT
    )
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin("690123400011")).udi_di
    PriceVersionFactory(
        consumable=consumable,
        purchase_price=Decimal("20"),
        charge_price=Decimal("25.5"),
        effective_from=timezone.now() - dt.timedelta(days=30),
    )
    keeper, nurse = hospital["keeper"], hospital["nurse"]
    keeper.user.last_name, keeper.user.first_name = "王", "库管"
    keeper.user.save()
    hospital["ward"].members.add(keeper.user)
    code = code_for(di)
    received = created(
        post_scan(
            keeper,
            "receive",
            code,
            "CK01",
            supplier="GYS01",
            unit_cost="20",
            quantity=10,
            invoice_no="FP-0001",
        )
    )
    created(post_scan(keeper, "issue", code, "XNK", from_department="CK01", quantity=6))
    return {
        **hospital,
        "nurse": nurse,
        "self_pay": self_pay,
        "consumable": consumable,
        "di": di,
        "code": code,
        "received": received,
    }


def move_of(kind, **filters):
    return StockMove.objects.filter(kind=kind, **filters).latest("pk")


def test_a_receipt_is_a_purchase_3503_with_the_supplier_cost_and_codes(world):
    move = move_of("receive")
    (record,) = records("3503")
    assert record.move_id == move.pk and record.status == UploadRecord.Status.PENDING
    assert record.business_day == business_day(move.occurred_at)
    assert record.payload is None
    payload = prepared(record)
    consumable = world["consumable"]
    assert payload["med_list_codg"] == consumable.insurance_code
    assert payload["fixmedins_hilist_id"] == consumable.material_code
    assert payload["fixmedins_hilist_name"] == consumable.name
    assert payload["fixmedins_bchno"] == str(move.lot_id)
    assert payload["manu_lotnum"] == "L1"
    assert payload["manu_date"] == MADE.isoformat()
    assert payload["expy_end"] == move.lot.expiry.isoformat()
    assert payload["spler_name"] == "四川某医疗器械有限公司"
    assert payload["spler_pmtno"] == "川蓉食药监械经营许20150001号"
    assert payload["purc_retn_cnt"] == "10.000000"
    assert payload["finl_trns_pric"] == "20.000000"
    assert payload["purc_invo_no"] == "FP-0001"
    assert payload["purc_retn_opter_name"] == "王库管"
    assert payload["aprvno"] == "国械注准20153140001"
    (trace,) = payload["drugtracinfo"]
    assert trace["drug_trac_codg"].startswith(f"(01){world['di']}(17)")
    assert trace["drug_trac_codg"].endswith("(10)L1")
    assert trace["trac_pkg_lv"] == "最小销售单元"
    # Prepared once: a second call leaves it alone.
    assert prepare([record.pk]) == 0


def test_an_issue_is_a_stock_change_3502_transfer_out(world):
    (record,) = records("3502")
    assert record.move_id == move_of("issue").pk
    payload = prepared(record)
    assert payload["inv_chg_type"] == "102"
    assert payload["cnt"] == "6.000000"
    assert payload["pric"] == "20.000000"  # the lot's receipt cost


def test_an_insured_use_is_a_sale_3505_with_psn_no_setl_id_price_and_codes(world):
    body = created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
    move = move_of("use")
    (record,) = records("3505")
    assert record.move_id == move.pk
    payload = prepared(record)
    assert payload["psn_no"] == "51000019900101123X"
    assert payload["setl_id"] == "SETL0001"
    assert payload["mdtrt_sn"] == "ZY001"
    assert payload["finl_trns_pric"] == "25.500000"  # the charge's unit price
    assert payload["sel_retn_cnt"] == "1.000000"
    assert payload["trdn_flag"] == "0"
    assert payload["rtal_docno"] == str(move.use.pk)
    assert payload["drugtracinfo"][0]["drug_trac_codg"].startswith(f"(01){world['di']}")
    assert body["charge"]


def test_a_self_pay_use_gets_no_sale(world):
    created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY002"))
    move = move_of("use")
    assert not UploadRecord.objects.filter(move=move).exists()
    assert records("3505") == []


def test_a_return_from_the_patient_is_a_sale_return_3506(world):
    created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
    created(
        post_scan(world["nurse"], "return", world["code"], "XNK", encounter="ZY001", quantity=1)
    )
    (record,) = records("3506")
    assert record.move_id == move_of("return").pk
    payload = prepared(record)
    assert payload["psn_no"] == "51000019900101123X"
    assert payload["finl_trns_pric"] == "25.500000"
    assert payload["sel_retn_cnt"] == "1.000000"


def test_a_self_pay_return_from_the_patient_gets_no_sale_return(world):
    created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY002"))
    created(
        post_scan(world["nurse"], "return", world["code"], "XNK", encounter="ZY002", quantity=1)
    )
    assert records("3506") == []
    assert not UploadRecord.objects.filter(move=move_of("return")).exists()


def test_a_scrap_is_a_stock_change_destroyed(world):
    created(post_scan(world["nurse"], "scrap", world["code"], "XNK", quantity=2, reason="污染"))
    (record,) = records("3502", move=move_of("scrap"))
    payload = prepared(record)
    assert payload["inv_chg_type"] == "105"
    assert payload["cnt"] == "2.000000"


def test_a_return_to_the_store_is_a_transfer_in(world):
    created(post_scan(world["nurse"], "return", world["code"], "XNK", quantity=1))
    (record,) = records("3502", move=move_of("return"))
    assert prepared(record)["inv_chg_type"] == "101"


def test_a_return_to_the_supplier_is_a_purchase_return_3504(world):
    created(post_scan(world["keeper"], "return", world["code"], "CK01", quantity=3))
    (record,) = records("3504")
    assert record.move_id == move_of("return").pk
    payload = prepared(record)
    assert payload["spler_name"] == "四川某医疗器械有限公司"
    assert payload["purc_invo_no"] == "FP-0001"
    assert payload["purc_retn_cnt"] == "3.000000"
    assert payload["finl_trns_pric"] == "20.000000"


def test_a_posted_stocktake_is_a_count_3501_per_line_and_its_differences_3502(world):
    keeper = world["keeper"].user
    confirmer = client_for("store02", "storekeeper", world["store"]).user
    stocktake = stocktake_open(department=world["store"], user=keeper)
    stocktake_count(stocktake_id=stocktake.pk, code=world["code"], user=keeper, quantity=3)
    stocktake_submit(stocktake_id=stocktake.pk, user=keeper)
    assert records("3501") == []  # not before it is posted
    line = stocktake.lines.get()
    stocktake_confirm(stocktake_id=stocktake.pk, user=confirmer, reasons={line.pk: "破损"})
    assert Stocktake.objects.get(pk=stocktake.pk).status == Stocktake.Status.POSTED
    (record,) = records("3501")
    assert record.stocktake_line_id == line.pk
    payload = prepared(record)
    assert payload["inv_cnt"] == "3.000000"
    assert payload["manu_date"] == MADE.isoformat()
    (loss,) = records("3502", move=move_of("adjust"))
    loss_payload = prepared(loss)
    assert loss_payload["inv_chg_type"] == "104"  # 4 on the book, 3 counted
    assert loss_payload["cnt"] == "1.000000"


def test_a_rolled_back_scan_leaves_no_record(world):
    before = UploadRecord.objects.count()

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
        assert UploadRecord.objects.count() == before + 1  # written with the move
        raise Undo
    assert UploadRecord.objects.count() == before
    assert records("3505") == []


def test_prepare_is_a_bounded_number_of_queries_per_batch(world, django_assert_max_num_queries):
    for _ in range(3):
        created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
    created(post_scan(world["nurse"], "return", world["code"], "XNK", encounter="ZY001"))
    ids = list(UploadRecord.objects.values_list("pk", flat=True))
    assert len(ids) == 6
    with django_assert_max_num_queries(8):
        assert prepare(ids) == 6
    for record in UploadRecord.objects.all():
        assert field_errors(record.txn, record.payload) == [], record.payload


def test_an_outbox_record_is_not_deleted_by_the_database(world):
    with (
        pytest.raises(Exception, match="refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM insurance_platform_uploadrecord")
    assert UploadRecord.objects.count() == 2


def test_a_unit_sale_carries_its_own_code_with_the_serial(world):
    consumable = ConsumableFactory(
        registration_no="国械注准20163130002", tracking=Consumable.Tracking.UNIT
    )
    di = DeviceIdentifierFactory(
        consumable=consumable, udi_di=gtin("690123400028"), package_level="最小销售单元"
    ).udi_di
    PriceVersionFactory(
        consumable=consumable,
        purchase_price=Decimal("800"),
        charge_price=Decimal("960"),
        effective_from=timezone.now() - dt.timedelta(days=30),
    )
    code = code_for(di, lot="B7", serial="SN0001")
    keeper = world["keeper"]
    created(post_scan(keeper, "receive", code, "CK01", supplier="GYS01", unit_cost="800"))
    created(post_scan(keeper, "issue", code, "XNK", from_department="CK01"))
    created(post_scan(world["nurse"], "use", code, "XNK", encounter="ZY001"))
    (record,) = records("3505")
    payload = prepared(record)
    (trace,) = payload["drugtracinfo"]
    assert trace["drug_trac_codg"].startswith(f"(01){di}(17)")
    assert trace["drug_trac_codg"].endswith("(10)B7(21)SN0001")
    assert trace["trac_pkg_lv"] == "最小销售单元"
    assert payload["finl_trns_pric"] == "960.000000"
    assert payload["manu_lotnum"] == "B7"
