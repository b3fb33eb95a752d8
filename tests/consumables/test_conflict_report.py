"""The code-conflict workspace: HRP/HIS exports loaded as they are, every kind of conflict
reported by set-based SQL, fixes one by one or by re-import, snapshots over time."""

import csv

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consumables.models import ConflictSnapshot, StagingRow
from consumables.staging.conflicts import (
    KINDS,
    clean_material_codes,
    conflict_keys,
    conflict_summary,
)
from consumables.staging.fixes import staging_row_exclude, staging_row_fix, staging_row_restore
from consumables.staging.loading import staging_import
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, gtin14, insurance_code

pytestmark = pytest.mark.django_db

HRP_COLUMNS = ["material_code", "name", "spec", "charge_code", "insurance_code", "udi_di",
               "units_per_package", "chargeable"]  # fmt: skip


def write(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def hrp(tmp_path, rows, name="hrp.csv", user=None, **kwargs):
    path = write(tmp_path / name, HRP_COLUMNS, rows)
    return staging_import(path=path, source="hrp", user=user, **kwargs)


def orders(tmp_path, rows, name="orders.csv"):
    path = write(tmp_path / name, ["order_code", "name", "charge_code"], rows)
    return staging_import(path=path, source="his_order")


def charges(tmp_path, rows, name="charges.csv"):
    path = write(tmp_path / name, ["charge_code", "name", "material_code"], rows)
    return staging_import(path=path, source="his_charge")


def keys(kind):
    return [k for k, _ in conflict_keys(kind)]


INS1, INS2, INS3 = insurance_code(1), insurance_code(2), insurance_code(3)
DI1, DI2, DI3 = gtin14(1), gtin14(2), gtin14(3)


def clean_row(n, **overrides):
    row = {
        "material_code": f"WZ{n}",
        "name": f"留置针 {n}",
        "spec": "20G",
        "charge_code": f"JF{n}",
        "insurance_code": insurance_code(100 + n),
        "udi_di": gtin14(100 + n),
        "units_per_package": "1",
        "chargeable": "1",
    }
    row.update(overrides)
    return [row[c] for c in HRP_COLUMNS]


# -- loading ---------------------------------------------------------------------------------


def test_many_to_one_and_one_to_many_rows_all_load(tmp_path):
    batch = hrp(
        tmp_path,
        [
            clean_row(1),
            clean_row(1, charge_code="JF1B"),  # one material, two charge codes
            clean_row(2, charge_code="JF1"),  # a charge code on a second material
        ],
    )
    assert (batch.rows_read, batch.rows_loaded, batch.errors) == (3, 3, [])
    assert StagingRow.objects.filter(status="pending").count() == 3


def test_a_row_naming_nothing_is_refused_with_its_line_number(tmp_path):
    batch = hrp(tmp_path, [clean_row(1), clean_row(2, material_code="")])
    assert batch.rows_loaded == 1
    assert [(e["line"], e["code"]) for e in batch.errors] == [(3, "VALIDATION_ERROR")]
    assert "物资编码必填" in batch.errors[0]["message"]


def test_chinese_headings_of_an_hrp_export_are_understood(tmp_path):
    path = write(
        tmp_path / "hrp.csv",
        ["物资编码", "物资名称", "收费编码", "医保编码", "UDI-DI"],
        [["WZ1", "留置针", "JF1", INS1.lower(), f"(01){DI1}"]],
    )
    staging_import(path=path, source="hrp")
    row = StagingRow.objects.get()
    # Codes in their normal form: upper-case insurance code, DI without its (01).
    assert (row.material_code, row.name, row.charge_code, row.insurance_code, row.udi_di) == (
        "WZ1", "留置针", "JF1", INS1, DI1,
    )  # fmt: skip


# -- each kind of conflict --------------------------------------------------------------------


def test_material_code_with_several_charge_codes(tmp_path):
    hrp(tmp_path, [clean_row(1), clean_row(1, charge_code="JF1B", udi_di=""), clean_row(2)])
    assert keys("MATERIAL_MULTI_CHARGE") == ["WZ1"]
    assert conflict_keys("MATERIAL_MULTI_CHARGE") == [("WZ1", 2)]


def test_charge_code_linked_to_several_materials_also_through_the_his_catalogue(tmp_path):
    hrp(tmp_path, [clean_row(1), clean_row(2)])
    charges(tmp_path, [["JF1", "留置针收费", "WZ1"], ["JF2", "留置针收费", "WZ3"]])
    assert keys("CHARGE_MULTI_MATERIAL") == ["JF2"]  # HRP says WZ2, HIS says WZ3


def test_order_code_without_a_charge_code(tmp_path):
    orders(tmp_path, [["YZ1", "留置针医嘱", "JF1"], ["YZ2", "导尿管医嘱", ""]])
    assert keys("ORDER_WITHOUT_CHARGE") == ["YZ2"]


def test_charge_code_with_several_order_codes_and_order_code_with_several_charges(tmp_path):
    orders(tmp_path, [["YZ1", "", "JF1"], ["YZ1B", "", "JF1"], ["YZ2", "", "JF2"],
                      ["YZ2", "", "JF3"]])  # fmt: skip
    assert keys("CHARGE_MULTI_ORDER") == ["JF1"]
    assert keys("ORDER_MULTI_CHARGE") == ["YZ2"]


def test_insurance_code_on_several_items(tmp_path):
    hrp(tmp_path, [clean_row(1, insurance_code=INS1), clean_row(2, insurance_code=INS1),
                   clean_row(3)])  # fmt: skip
    assert conflict_keys("INSURANCE_MULTI_MATERIAL") == [(INS1, 2)]


def test_insurance_code_already_on_a_live_item_is_a_conflict(tmp_path):
    ConsumableFactory(material_code="LIVE1", insurance_code=INS2)
    hrp(tmp_path, [clean_row(1, insurance_code=INS2)])
    assert keys("INSURANCE_MULTI_MATERIAL") == [INS2]


def test_material_code_with_several_insurance_codes(tmp_path):
    hrp(tmp_path, [clean_row(1, insurance_code=INS1), clean_row(1, insurance_code=INS2,
                                                                 udi_di="")])
    assert keys("MATERIAL_MULTI_INSURANCE") == ["WZ1"]


def test_di_on_several_materials_whatever_form_it_was_written_in(tmp_path):
    hrp(tmp_path, [clean_row(1, udi_di=DI1), clean_row(2, udi_di=f"(01){DI1}"),
                   clean_row(3, udi_di=DI3)])  # fmt: skip
    assert conflict_keys("DI_MULTI_MATERIAL") == [(DI1, 2)]


def test_di_live_on_another_item_is_a_conflict(tmp_path):
    DeviceIdentifierFactory(udi_di=DI2)
    hrp(tmp_path, [clean_row(1, udi_di=DI2)])
    assert keys("DI_MULTI_MATERIAL") == [DI2]


def test_missing_codes_are_reported_per_code(tmp_path):
    hrp(
        tmp_path,
        [
            clean_row(1, charge_code="", insurance_code="", udi_di=""),
            clean_row(2, udi_di=""),
            clean_row(3, charge_code="", chargeable="0"),  # not charged: needs no charge code
        ],
    )
    orders(tmp_path, [["YZ2", "", "JF2"]])
    assert keys("MISSING_CHARGE_CODE") == ["WZ1"]
    assert keys("MISSING_INSURANCE_CODE") == ["WZ1"]
    assert keys("MISSING_UDI_DI") == ["WZ1", "WZ2"]
    # WZ2's charge code has an order code in the HIS catalogue; WZ1 has no charge code at all.
    assert keys("MISSING_ORDER_CODE") == []
    hrp(tmp_path, [clean_row(4)], name="more.csv", replace=False)
    assert keys("MISSING_ORDER_CODE") == ["WZ4"]


def test_a_row_with_an_invalid_code_is_kept_and_reported(tmp_path):
    batch = hrp(tmp_path, [clean_row(1, insurance_code="C123"), clean_row(2)])
    assert batch.rows_loaded == 2
    row = StagingRow.objects.get(material_code="WZ1")
    assert "医保耗材编码「C123」无效" in row.problems
    assert keys("INVALID_ROW") == ["WZ1"]


# -- the report as a whole ---------------------------------------------------------------------


def test_summary_counts_every_kind_and_the_clean_materials(tmp_path):
    hrp(tmp_path, [clean_row(1), clean_row(1, charge_code="JF1B", udi_di=""), clean_row(2),
                   clean_row(3, udi_di="")])  # fmt: skip
    summary = conflict_summary()
    assert set(summary.counts) == set(KINDS)
    assert summary.counts["MATERIAL_MULTI_CHARGE"] == 1
    assert summary.counts["MISSING_UDI_DI"] == 1
    assert summary.materials_pending == 3
    # WZ1 is blocked; WZ3 only misses a DI, which does not block.
    assert (summary.materials_clean, clean_material_codes()) == (2, ["WZ2", "WZ3"])


def test_a_material_is_blocked_through_its_charge_codes_order_code(tmp_path):
    # YZ1 names both JF1 and JF2: promoting WZ1 or WZ2 would give them one order code.
    hrp(tmp_path, [clean_row(1), clean_row(2), clean_row(3)])
    orders(tmp_path, [["YZ1", "", "JF1"], ["YZ1", "", "JF2"], ["YZ3", "", "JF3"]])
    assert keys("ORDER_MULTI_CHARGE") == ["YZ1"]
    assert clean_material_codes() == ["WZ3"]


def test_the_report_costs_the_same_queries_for_ten_rows_or_four_hundred(tmp_path):
    def cost(n):
        StagingRow.objects.all().update(status="superseded")
        hrp(tmp_path, [clean_row(i, charge_code=f"JF{i // 2}") for i in range(n)],
            name=f"h{n}.csv")  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            summary = conflict_summary()
            for kind in KINDS:
                conflict_keys(kind)
        assert summary.counts["CHARGE_MULTI_MATERIAL"] == n // 2
        return len(queries)

    assert cost(10) == cost(400) == 1 + len(KINDS)


def test_every_import_takes_a_snapshot_and_a_corrected_reimport_lowers_the_count(tmp_path):
    hrp(tmp_path, [clean_row(1, insurance_code=INS1), clean_row(2, insurance_code=INS1),
                   clean_row(3, charge_code="JF1")])  # fmt: skip
    first = ConflictSnapshot.objects.get()
    assert first.counts["INSURANCE_MULTI_MATERIAL"] == 1
    assert first.counts["CHARGE_MULTI_MATERIAL"] == 1
    hrp(tmp_path, [clean_row(1, insurance_code=INS1), clean_row(2, insurance_code=INS2),
                   clean_row(3)], name="hrp-fixed.csv")  # fmt: skip
    assert StagingRow.objects.filter(status="superseded").count() == 3
    snapshots = ConflictSnapshot.objects.order_by("taken_at", "pk")
    totals = list(snapshots.values_list("total", flat=True))
    assert len(totals) == 2 and totals[1] < totals[0]
    assert conflict_summary().blocking == 0


# -- fixing one by one ----------------------------------------------------------------------------


def test_fixing_a_row_removes_its_conflict_and_history_keeps_before_and_after(
    tmp_path, user
):
    hrp(tmp_path, [clean_row(1, insurance_code=INS1), clean_row(2, insurance_code=INS1)])
    row = StagingRow.objects.get(material_code="WZ2")
    staging_row_fix(row=row, values={"insurance_code": INS2}, user=user, note="供应商确认")
    assert keys("INSURANCE_MULTI_MATERIAL") == []
    before, after = row.history.order_by("history_date")[:2]
    assert (before.insurance_code, after.insurance_code) == (INS1, INS2)
    assert (after.history_user, after.history_change_reason) == (user, "供应商确认")
    assert ConflictSnapshot.objects.order_by("-pk").first().trigger == "fix"


def test_a_fix_with_an_invalid_code_is_kept_as_a_problem_of_the_row(tmp_path, user):
    hrp(tmp_path, [clean_row(1)])
    row = staging_row_fix(
        row=StagingRow.objects.get(), values={"udi_di": "not-a-udi"}, user=user
    )
    assert "不是 UDI-DI" in row.problems
    assert keys("INVALID_ROW") == ["WZ1"]


def test_excluding_a_wrong_row_and_restoring_it(tmp_path, user):
    hrp(tmp_path, [clean_row(1), clean_row(1, charge_code="JF1B", udi_di="")])
    wrong = StagingRow.objects.get(charge_code="JF1B")
    staging_row_exclude(row=wrong, user=user, note="HRP 旧对照")
    assert keys("MATERIAL_MULTI_CHARGE") == []
    staging_row_restore(row=wrong, user=user)
    assert keys("MATERIAL_MULTI_CHARGE") == ["WZ1"]
