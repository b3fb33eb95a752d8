"""import_master: bulk load and update of the consumable master from CSV/XLSX (docs/contract.md)."""

import csv
import datetime as dt
from decimal import Decimal as D
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consumables.importing import (
    ImportFileError,
    import_consumable_rows,
    import_master,
    read_table,
)
from consumables.importing import master as master_module
from consumables.importing.tables import cell_text
from consumables.models import Consumable, DeviceIdentifier, ExternalPrice, PriceVersion
from consumables.prices import prices_in_force
from consumables.udi import gtin_check_digit
from organisation.models import Department
from tests.conftest import on_postgres
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, PriceVersionFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2025, 3, 10)
COLUMNS = [
    "material_code", "name", "spec", "unit", "manufacturer", "value_class", "tracking",
    "chargeable", "billed_by", "charge_code", "order_code", "insurance_code", "udi_di",
    "units_per_package", "platform_price", "vbp_price", "purchase_price", "charge_price",
    "price_effective_from",
]  # fmt: skip


def gtin13(n: int) -> str:
    body = f"690{n:09d}"
    return body + gtin_check_digit(body)


def gtin14(n: int) -> str:
    return "0" + gtin13(n)


def insurance(n: int) -> str:
    return f"C1402020000{n:09d}"


def item(n: int, **overrides) -> dict:
    """A valid consumables.csv row for item ``n``."""
    row = {
        "material_code": f"WZ{n:05d}",
        "name": f"一次性使用无菌注射器 {n}",
        "spec": "5ml",
        "unit": "支",
        "manufacturer": "测试医疗器械有限公司",
        "value_class": "low",
        "tracking": "lot",
        "chargeable": "1",
        "billed_by": "",
        "charge_code": f"JF{n:05d}",
        "order_code": f"YZ{n:05d}",
        "insurance_code": insurance(n),
        "udi_di": gtin14(n),
        "units_per_package": "1",
        "platform_price": "12.00",
        "vbp_price": "",
        "purchase_price": "10.00",
        "charge_price": "10.00",
        "price_effective_from": "2025-03-01",
    }
    row.update(overrides)
    return row


def write_csv(path, rows, encoding="utf-8", columns=None):
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path, header, rows):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def load(rows, **kwargs):
    """Rows as read_table gives them (line 2 = first data row) through the service."""
    kwargs.setdefault("today", TODAY)
    return import_consumable_rows(list(enumerate(rows, start=2)), **kwargs)


def errors_of(report):
    return [(e.line, e.code) for e in report.errors]


# -- a bad row -------------------------------------------------------------------------------


def test_bad_row_reports_its_line_and_loads_nothing_of_itself_while_others_load():
    report = load([item(1), item(2, insurance_code="C123"), item(3)])

    assert errors_of(report) == [(3, "INSURANCE_CODE_INVALID")]
    assert "C123" in report.errors[0].message
    assert set(Consumable.objects.values_list("material_code", flat=True)) == {
        "WZ00001",
        "WZ00003",
    }
    assert not DeviceIdentifier.objects.filter(udi_di=gtin14(2)).exists()
    assert PriceVersion.objects.count() == 2
    assert ExternalPrice.objects.count() == 2
    assert report.created == 2


@pytest.mark.parametrize(
    ("overrides", "code", "words"),
    [
        ({"material_code": ""}, "VALIDATION_ERROR", "material_code"),
        ({"name": ""}, "VALIDATION_ERROR", "name"),
        ({"value_class": "medium"}, "VALIDATION_ERROR", "value_class"),
        ({"tracking": "box"}, "VALIDATION_ERROR", "tracking"),
        ({"chargeable": "maybe"}, "VALIDATION_ERROR", "chargeable"),
        ({"billed_by": "cash"}, "VALIDATION_ERROR", "billed_by"),
        ({"charge_code": "JF 01"}, "VALIDATION_ERROR", "charge_code"),
        ({"udi_di": "(01)12345"}, "UNREADABLE_CODE", "udi_di"),
        ({"udi_di": "WZ-NOT-A-DI"}, "UNREADABLE_CODE", "UDI-DI"),
        ({"units_per_package": "0"}, "VALIDATION_ERROR", "units_per_package"),
        ({"units_per_package": "2.5"}, "VALIDATION_ERROR", "units_per_package"),
        ({"platform_price": "12.34567"}, "VALIDATION_ERROR", "4 decimal places"),
        ({"platform_price": "abc"}, "VALIDATION_ERROR", "platform_price"),
        ({"purchase_price": "-1", "charge_price": "-1"}, "VALIDATION_ERROR", "negative"),
        ({"charge_price": ""}, "VALIDATION_ERROR", "go together"),
        ({"price_effective_from": "2025/03/01"}, "VALIDATION_ERROR", "YYYY-MM-DD"),
    ],
)
def test_invalid_value_is_refused_with_a_specific_reason(overrides, code, words):
    report = load([item(1, **overrides)])

    assert (2, code) in errors_of(report)
    assert any(words in e.message for e in report.errors)
    assert Consumable.objects.count() == 0


def test_error_message_gives_chinese_first_then_english():
    report = load([item(1, value_class="medium")])

    zh, en = report.errors[0].message.split(" / ", 1)
    assert "无效" in zh
    assert "is not one of" in en


# -- re-import ---------------------------------------------------------------------------------


def test_reimport_updates_changed_fields_and_counts_unchanged():
    load([item(1), item(2), item(3)])

    report = load([item(1), item(2, spec="10ml", manufacturer="新厂家"), item(3)])

    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    changed = Consumable.objects.get(material_code="WZ00002")
    assert (changed.spec, changed.manufacturer) == ("10ml", "新厂家")
    assert not report.errors


def test_reimport_of_the_same_file_changes_nothing():
    rows = [item(1), item(2, udi_di=gtin14(200), units_per_package="10"), item(2)]
    load(rows)
    counts = (
        Consumable.history.count(),
        DeviceIdentifier.objects.count(),
        ExternalPrice.objects.count(),
        PriceVersion.objects.count(),
    )

    report = load(rows)

    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert report.device_identifiers_created == report.external_prices_created == 0
    assert (report.prices_approved, report.prices_proposed) == (0, 0)
    assert counts == (
        Consumable.history.count(),
        DeviceIdentifier.objects.count(),
        ExternalPrice.objects.count(),
        PriceVersion.objects.count(),
    )


def test_empty_cell_on_reimport_keeps_the_stored_value():
    load([item(1)])

    load([item(1, spec="", charge_code="", manufacturer="")])

    consumable = Consumable.objects.get(material_code="WZ00001")
    assert (consumable.spec, consumable.charge_code) == ("5ml", "JF00001")
    assert consumable.manufacturer == "测试医疗器械有限公司"


def test_retired_consumable_in_the_file_is_refused():
    ConsumableFactory(material_code="WZ00001", is_active=False)

    report = load([item(1)])

    assert errors_of(report) == [(2, "CONSUMABLE_INACTIVE")]


# -- package levels and DIs ----------------------------------------------------------------------


def test_second_package_level_row_adds_a_di_with_its_units_per_package():
    box = gtin14(501)
    report = load([
        item(1),
        {"material_code": "WZ00001", "udi_di": box, "units_per_package": "10",
         "package_level": "中包装"},
    ])  # fmt: skip

    consumable = Consumable.objects.get(material_code="WZ00001")
    levels = dict(consumable.device_identifiers.values_list("udi_di", "units_per_package"))
    assert levels == {gtin14(1): 1, box: 10}
    assert consumable.device_identifiers.get(udi_di=box).package_level == "中包装"
    assert (report.created, report.device_identifiers_created) == (1, 2)


def test_package_level_row_may_repeat_the_first_rows_values():
    report = load([item(1), item(1, udi_di=gtin14(501), units_per_package="10")])

    assert not report.errors
    assert DeviceIdentifier.objects.count() == 2
    assert PriceVersion.objects.count() == 1


def test_package_level_row_contradicting_the_first_row_is_refused():
    report = load([item(1), item(1, udi_di=gtin14(501), spec="10ml")])

    assert errors_of(report) == [(3, "VALIDATION_ERROR")]
    assert "line 2" in report.errors[0].message and "spec" in report.errors[0].message
    assert not DeviceIdentifier.objects.filter(udi_di=gtin14(501)).exists()
    assert Consumable.objects.get().spec == "5ml"


def test_reimport_adds_a_new_package_level_to_an_existing_consumable():
    load([item(1)])

    report = load([item(1), {"material_code": "WZ00001", "udi_di": gtin14(501),
                             "units_per_package": "20"}])  # fmt: skip

    assert (report.updated, report.device_identifiers_created) == (1, 1)
    assert DeviceIdentifier.objects.get(udi_di=gtin14(501)).units_per_package == 20


def test_package_rows_after_a_refused_first_row_load_only_if_they_stand_alone():
    report = load([
        item(1, insurance_code="bad"),
        {"material_code": "WZ00001", "udi_di": gtin14(501), "units_per_package": "10"},
        item(1, udi_di=gtin14(502), units_per_package="5"),
    ])  # fmt: skip

    assert errors_of(report) == [(2, "INSURANCE_CODE_INVALID"), (3, "VALIDATION_ERROR")]
    assert "name" in report.errors[1].message
    consumable = Consumable.objects.get(material_code="WZ00001")
    assert list(consumable.device_identifiers.values_list("udi_di", flat=True)) == [gtin14(502)]


def test_reimport_corrects_the_units_per_package_of_a_known_di():
    load([item(1), item(1, udi_di=gtin14(501), units_per_package="10")])

    report = load([item(1), item(1, udi_di=gtin14(501), units_per_package="12")])

    assert DeviceIdentifier.objects.get(udi_di=gtin14(501)).units_per_package == 12
    assert (report.device_identifiers_updated, report.updated) == (1, 1)
    assert DeviceIdentifier.history.filter(history_type="~").count() == 1


def test_gtin13_is_stored_as_the_zero_padded_gtin14():
    load([item(1, udi_di=gtin13(1))])

    di = DeviceIdentifier.objects.get()
    assert di.udi_di == "0" + gtin13(1)
    assert di.issuer == "gs1"


def test_full_udi_with_lot_and_expiry_is_stored_as_its_di():
    load([item(1, udi_di=f"(01){gtin14(1)}(17)271231(10)LOT9")])

    assert DeviceIdentifier.objects.get().udi_di == gtin14(1)


def test_ma_di_is_stored_as_its_di():
    load([item(1, udi_di="MA.156.M0.100003.1234567")])

    di = DeviceIdentifier.objects.get()
    assert di.issuer == "ma"
    assert di.udi_di.startswith("MA.156.M0.100003")


def test_di_of_another_live_consumable_is_refused_naming_it():
    other = DeviceIdentifierFactory(udi_di=gtin14(1), consumable__material_code="OLD01")

    report = load([item(1)])

    assert errors_of(report) == [(2, "UDI_DI_CONFLICT")]
    assert "OLD01" in report.errors[0].message
    assert DeviceIdentifier.objects.get(udi_di=gtin14(1)).consumable == other.consumable
    assert not Consumable.objects.filter(material_code="WZ00001").exists()


def test_same_di_on_two_material_codes_in_one_file_refuses_the_second():
    report = load([item(1), item(2, udi_di=gtin14(1))])

    assert errors_of(report) == [(3, "UDI_DI_CONFLICT")]
    assert "WZ00001" in report.errors[0].message and "line 2" in report.errors[0].message


# -- five codes in one -----------------------------------------------------------------------


def test_charge_code_of_an_existing_live_consumable_is_refused_naming_it():
    ConsumableFactory(material_code="OLD01", charge_code="JF00001")

    report = load([item(1)])

    assert errors_of(report) == [(2, "CHARGE_CODE_CONFLICT")]
    assert "OLD01" in report.errors[0].message
    assert not Consumable.objects.filter(material_code="WZ00001").exists()


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("charge_code", "CHARGE_CODE_CONFLICT"),
        ("order_code", "ORDER_CODE_CONFLICT"),
        ("insurance_code", "INSURANCE_CODE_CONFLICT"),
    ],
)
def test_code_repeated_in_the_same_file_is_refused_naming_the_first(field, code):
    report = load([item(1), item(2, **{field: item(1)[field]})])

    assert errors_of(report) == [(3, code)]
    assert "WZ00001" in report.errors[0].message
    assert not Consumable.objects.filter(material_code="WZ00002").exists()


def test_code_of_a_retired_consumable_may_be_reused():
    ConsumableFactory(material_code="OLD01", charge_code="JF00001", is_active=False)

    report = load([item(1)])

    assert not report.errors
    assert Consumable.objects.get(material_code="WZ00001").charge_code == "JF00001"


def test_code_released_earlier_in_the_file_may_be_taken_by_a_later_row():
    load([item(1), item(2)])

    report = load([item(1, charge_code="JF99999"), item(2, charge_code="JF00001")])

    assert not report.errors
    codes = dict(Consumable.objects.values_list("material_code", "charge_code"))
    assert codes == {"WZ00001": "JF99999", "WZ00002": "JF00001"}


def test_billed_by_defaults_to_scan_for_unit_tracking_else_his():
    load([item(1, tracking="unit", value_class="high"), item(2, tracking="lot")])

    billed = dict(Consumable.objects.values_list("material_code", "billed_by"))
    assert billed == {"WZ00001": "scan", "WZ00002": "his"}


# -- prices --------------------------------------------------------------------------------------


def test_first_prices_are_approved_as_initial_load():
    report = load([item(1)])

    version = PriceVersion.objects.get()
    assert version.status == PriceVersion.Status.APPROVED
    assert version.origin == PriceVersion.Origin.INITIAL_LOAD
    assert (version.purchase_price, version.charge_price) == (D("10"), D("10"))
    assert version.effective_from == dt.datetime(2025, 3, 1, tzinfo=SHANGHAI)
    assert version.decided_at is not None
    assert report.prices_approved == 1


def test_changed_prices_on_reimport_become_a_proposal_and_prices_in_force_stay():
    load([item(1)])

    report = load([item(1, purchase_price="9.50", charge_price="9.50")])

    approved = PriceVersion.objects.get(status=PriceVersion.Status.APPROVED)
    assert approved.purchase_price == D("10")
    in_force = prices_in_force(approved.consumable_id, timezone.now())
    assert (in_force.purchase, in_force.charge) == (D("10"), D("10"))
    proposal = PriceVersion.objects.get(status=PriceVersion.Status.PROPOSED)
    assert (proposal.purchase_price, proposal.origin) == (D("9.5"), PriceVersion.Origin.PROPOSAL)
    assert proposal.decided_by is None and proposal.decided_at is None
    assert proposal.proposed_by.username == "import_master"
    assert not proposal.proposed_by.has_usable_password()
    assert (report.prices_proposed, report.updated) == (1, 1)


def test_proposal_names_the_importing_user(user):
    load([item(1)])

    load([item(1, purchase_price="9.50", charge_price="9.50")], user=user)

    assert PriceVersion.objects.get(status="proposed").proposed_by == user
    assert not get_user_model().objects.filter(username="import_master").exists()


def test_the_same_proposal_is_not_made_twice():
    load([item(1)])
    changed = item(1, purchase_price="9.50", charge_price="9.50")
    load([changed])

    report = load([changed])

    assert PriceVersion.objects.filter(status="proposed").count() == 1
    assert report.prices_proposed == 0


def test_consumable_with_only_a_proposal_gets_its_first_prices_approved():
    consumable = ConsumableFactory(material_code="WZ00001", **{
        k: item(1)[k] for k in ("charge_code", "order_code", "insurance_code")
    })  # fmt: skip
    PriceVersionFactory(consumable=consumable, status="proposed", origin="proposal")

    report = load([item(1)])

    assert report.prices_approved == 1
    assert consumable.price_versions.filter(status="approved", origin="initial_load").exists()


def test_existing_approved_prices_equal_to_the_file_make_no_version():
    consumable = ConsumableFactory(material_code="WZ00001", **{
        k: item(1)[k] for k in ("charge_code", "order_code", "insurance_code")
    })  # fmt: skip
    PriceVersionFactory(consumable=consumable, purchase_price=D("10"), charge_price=D("10"))

    report = load([item(1)])

    assert consumable.price_versions.count() == 1
    assert report.prices_proposed == report.prices_approved == 0


def test_initial_prices_breaking_the_four_price_rule_refuse_the_row():
    report = load([item(1, platform_price="9.00"), item(2, vbp_price="8.00")])

    assert errors_of(report) == [(2, "FOUR_PRICE_VIOLATION"), (3, "FOUR_PRICE_VIOLATION")]
    assert "platform" in report.errors[0].message
    assert Consumable.objects.count() == 0


def test_platform_and_vbp_prices_become_external_prices_from_the_effective_date():
    load([item(1, vbp_price="10.00"), item(2, price_effective_from="")])

    rows = {
        (p.consumable.material_code, p.kind): (p.price, p.effective_from)
        for p in ExternalPrice.objects.select_related("consumable")
    }
    assert rows == {
        ("WZ00001", "platform"): (D("12"), dt.datetime(2025, 3, 1, tzinfo=SHANGHAI)),
        ("WZ00001", "vbp"): (D("10"), dt.datetime(2025, 3, 1, tzinfo=SHANGHAI)),
        ("WZ00002", "platform"): (D("12"), dt.datetime(2025, 3, 10, tzinfo=SHANGHAI)),
    }


def test_external_price_of_the_same_date_is_corrected_when_different():
    load([item(1)])

    report = load([item(1, platform_price="13.00")])

    price = ExternalPrice.objects.get()
    assert price.price == D("13")
    assert (report.external_prices_updated, report.external_prices_created) == (1, 0)


def test_new_platform_price_from_a_later_date_adds_a_row():
    load([item(1)])

    load([item(1, platform_price="15.00", price_effective_from="2025-04-01")])

    prices = list(ExternalPrice.objects.order_by("effective_from").values_list("price", flat=True))
    assert prices == [D("12"), D("15")]


def test_platform_price_already_in_force_is_not_recorded_again_on_a_later_date():
    load([item(1)])

    load([item(1, price_effective_from="")])  # today: the same price still in force

    assert ExternalPrice.objects.count() == 1


def test_empty_vbp_price_ends_a_vbp_programme_in_force():
    load([item(1, vbp_price="10.00")])

    load([item(1, price_effective_from="2025-03-05")])

    ended = ExternalPrice.objects.get(
        kind="vbp", effective_from=dt.datetime(2025, 3, 5, tzinfo=SHANGHAI)
    )
    assert ended.price is None


# -- history, formats, departments -----------------------------------------------------------


def test_history_rows_exist_after_import():
    load([item(1), item(2)])
    load([item(1, spec="10ml"), item(2)])

    assert Consumable.history.count() == 3
    assert Consumable.history.filter(history_type="~").get().spec == "10ml"
    assert DeviceIdentifier.history.count() == 2
    assert ExternalPrice.history.count() == 2
    assert PriceVersion.history.count() == 2


def test_xlsx_imports_the_same_as_csv(tmp_path):
    header = [*COLUMNS, "package_level"]
    rows = [
        # numbers typed into Excel: a GTIN-13 as a number, integer and float cells, a date
        ["WZ00001", "注射器", "5ml", "支", "厂家", "low", "lot", 1, "", "JF00001", "YZ00001",
         insurance(1), int(gtin13(1)), 1, 12.5, None, 10, 10.0, dt.datetime(2025, 3, 1), ""],
        ["WZ00001", None, None, None, None, None, None, None, None, None, None, None,
         gtin14(501), 10, None, None, None, None, None, "中包装"],
    ]  # fmt: skip
    path = write_xlsx(tmp_path / "master.xlsx", header, rows)

    report = import_master(consumables_path=path, today=TODAY)

    assert not report.errors
    consumable = Consumable.objects.get()
    assert consumable.charge_code == "JF00001"
    levels = dict(consumable.device_identifiers.values_list("udi_di", "units_per_package"))
    assert levels == {"0" + gtin13(1): 1, gtin14(501): 10}
    assert ExternalPrice.objects.get().price == D("12.5")
    assert PriceVersion.objects.get().effective_from == dt.datetime(2025, 3, 1, tzinfo=SHANGHAI)


def test_csv_file_imports_through_the_service(tmp_path):
    path = write_csv(tmp_path / "master.csv", [item(1), item(2)], columns=COLUMNS)

    report = import_master(consumables_path=path, today=TODAY)

    assert (report.created, report.rows) == (2, 2)


def test_xlsx_cells_read_as_typed_text():
    assert cell_text(12.0) == "12"
    assert cell_text(12.5) == "12.5"
    assert cell_text(6901234567892) == "6901234567892"
    assert cell_text(1e-05) == "0.00001"
    assert cell_text(dt.datetime(2025, 3, 1)) == "2025-03-01"
    assert cell_text(dt.date(2025, 3, 1)) == "2025-03-01"
    assert cell_text(None) == ""
    assert cell_text(" x ") == "x"


def test_read_table_numbers_lines_from_2_and_lowercases_headers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(" Material_Code ,NAME\nA1, 甲 \n,\nA2,乙\n", encoding="utf-8")

    assert list(read_table(path)) == [
        (2, {"material_code": "A1", "name": "甲"}),
        (4, {"material_code": "A2", "name": "乙"}),
    ]


def test_gb18030_csv_is_readable(tmp_path):
    path = write_csv(tmp_path / "gbk.csv", [item(1, name="医用外科口罩", manufacturer="河南某某")],
                     encoding="gb18030")  # fmt: skip

    report = import_master(consumables_path=path, today=TODAY)

    assert not report.errors
    assert Consumable.objects.get().name == "医用外科口罩"


def test_utf8_csv_with_byte_order_mark_is_readable(tmp_path):
    path = write_csv(tmp_path / "bom.csv", [item(1)], encoding="utf-8-sig")

    import_master(consumables_path=path, today=TODAY)

    assert Consumable.objects.get().material_code == "WZ00001"


def test_unknown_columns_are_ignored(tmp_path):
    path = write_csv(tmp_path / "extra.csv", [item(1, remark="备注", 库存="5")])

    report = import_master(consumables_path=path, today=TODAY)

    assert not report.errors and report.created == 1


def test_tab_separated_file_is_read(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("material_code\tname\nA1\t甲\n", encoding="utf-8")

    assert list(read_table(path)) == [(2, {"material_code": "A1", "name": "甲"})]


def test_minimal_row_loads_with_the_model_defaults():
    report = load([{"material_code": "WZ1", "name": "纱布"}])

    consumable = Consumable.objects.get()
    assert not report.errors
    assert (consumable.unit, consumable.value_class, consumable.tracking) == ("个", "low", "none")
    assert (consumable.chargeable, consumable.billed_by, consumable.charge_code) == (
        True,
        "his",
        None,
    )


def test_optional_registration_no_and_category_are_loaded():
    load([item(1, registration_no="国械注准20153141234", category="注射穿刺器械")])

    consumable = Consumable.objects.get()
    assert (consumable.registration_no, consumable.category) == (
        "国械注准20153141234",
        "注射穿刺器械",
    )


def test_file_without_required_columns_is_refused_as_a_whole(tmp_path):
    path = write_csv(tmp_path / "x.csv", [{"code": "A", "title": "B"}])

    with pytest.raises(ImportFileError) as raised:
        import_master(consumables_path=path)
    assert raised.value.code == "MISSING_COLUMNS"


def test_departments_file_creates_and_updates_by_code(tmp_path):
    Department.objects.create(code="W01", name="旧名", kind="ward")
    departments = write_csv(tmp_path / "departments.csv", [
        {"code": "S01", "name": "中心库房", "kind": "store"},
        {"code": "W01", "name": "心内科病区", "kind": "ward"},
        {"code": "T01", "name": "手术室", "kind": "hall"},
    ])  # fmt: skip
    consumables = write_csv(tmp_path / "consumables.csv", [item(1)])

    report = import_master(consumables_path=consumables, departments_path=departments, today=TODAY)

    assert (report.departments_created, report.departments_updated) == (1, 1)
    assert Department.objects.get(code="W01").name == "心内科病区"
    assert not Department.objects.filter(code="T01").exists()
    assert [(e.file, e.line, e.code) for e in report.errors] == [
        ("departments.csv", 4, "VALIDATION_ERROR")
    ]
    assert Department.history.filter(code="S01").exists()


# -- all or nothing at the database level ---------------------------------------------------


def test_database_refusal_loads_nothing_and_is_reported(tmp_path):
    real = master_module.bulk_create_with_history

    def refuse_prices(objs, model, **kwargs):
        if model is PriceVersion:
            raise IntegrityError("simulated refusal")
        return real(objs, model, **kwargs)

    departments = write_csv(tmp_path / "d.csv", [{"code": "S01", "name": "库房", "kind": "store"}])
    consumables = write_csv(tmp_path / "c.csv", [item(1), item(2)])
    with mock.patch.object(master_module, "bulk_create_with_history", refuse_prices):
        report = import_master(
            consumables_path=consumables, departments_path=departments, today=TODAY
        )

    assert report.failed and report.created == 0
    assert [e.code for e in report.errors] == ["DATABASE_ERROR"]
    assert "simulated refusal" in report.errors[0].message
    assert Consumable.objects.count() == DeviceIdentifier.objects.count() == 0
    assert Department.objects.count() == 0


def test_query_count_does_not_grow_with_the_number_of_rows():
    def queries(first, count):
        with CaptureQueriesContext(connection) as captured:
            load([item(n) for n in range(first, first + count)])
        return len(captured)

    small, big = queries(1000, 40), queries(2000, 120)
    assert big < 120 / 4  # a few statements per table, never one per row
    if on_postgres():  # SQLite splits bulk inserts into batches of 999 parameters
        assert small == big


# -- the management command -----------------------------------------------------------------


def test_command_prints_the_report_and_exits_0_when_all_rows_load(tmp_path, capsys):
    path = write_csv(tmp_path / "c.csv", [item(1), item(2)])

    call_command("import_master", str(path))

    out = capsys.readouterr().out
    assert "consumables created: 2" in out
    assert Consumable.objects.count() == 2


def test_command_exits_2_and_lists_bad_rows_by_line(tmp_path, capsys):
    path = write_csv(tmp_path / "c.csv", [item(1), item(2), item(3, name="", udi_di="")])

    with pytest.raises(CommandError) as raised:
        call_command("import_master", str(path))

    assert raised.value.returncode == 2
    out = capsys.readouterr().out
    assert "第 4 行 / line 4: VALIDATION_ERROR" in out
    assert Consumable.objects.count() == 2


def test_command_loads_departments_and_records_the_user(tmp_path, user):
    departments = write_csv(tmp_path / "d.csv", [{"code": "W01", "name": "病区", "kind": "ward"}])
    consumables = write_csv(tmp_path / "c.csv", [item(1)])

    call_command(
        "import_master", str(consumables), departments=str(departments), user=user.username
    )

    assert Department.objects.filter(code="W01").exists()
    assert Consumable.history.get().history_user == user


def test_command_with_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="file not found"):
        call_command("import_master", str(tmp_path / "nowhere.csv"))


def test_command_with_an_unsupported_format_is_a_clear_error(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(CommandError, match=r"\.xlsx"):
        call_command("import_master", str(path))


def test_command_with_a_corrupt_xlsx_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(CommandError, match="Excel"):
        call_command("import_master", str(path))


def test_command_with_an_unknown_user_is_refused(tmp_path):
    path = write_csv(tmp_path / "c.csv", [item(1)])
    with pytest.raises(CommandError, match="no user"):
        call_command("import_master", str(path), user="nobody")
    assert Consumable.objects.count() == 0
