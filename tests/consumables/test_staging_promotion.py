"""Promotion of clean materials from the code-conflict workspace into the live master,
through import_master's own code path."""

import pytest

from consumables.models import (
    ConflictSnapshot,
    Consumable,
    DeviceIdentifier,
    MappingChange,
    PriceVersion,
    StagingRow,
)
from consumables.staging.loading import staging_import
from consumables.staging.promotion import staging_promote
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, gtin14, insurance_code

from .test_conflict_report import HRP_COLUMNS, INS1, clean_row, hrp, orders, write

pytestmark = pytest.mark.django_db


def test_clean_materials_are_promoted_with_their_five_codes(tmp_path, user):
    hrp(tmp_path, [clean_row(1), clean_row(1, udi_di=gtin14(900), units_per_package="10",
                                             charge_code="", insurance_code="")])
    orders(tmp_path, [["YZ1", "留置针医嘱", "JF1"]])
    result = staging_promote(user=user)
    assert result.promoted == ["WZ1"] and not result.refused
    item = Consumable.objects.get(material_code="WZ1")
    assert (item.name, item.charge_code, item.order_code, item.insurance_code) == (
        "留置针 1", "JF1", "YZ1", insurance_code(101),
    )  # fmt: skip
    assert sorted(item.device_identifiers.values_list("udi_di", "units_per_package")) == [
        (gtin14(101), 1), (gtin14(900), 10),
    ]  # fmt: skip
    assert set(StagingRow.objects.filter(material_code="WZ1").values_list("status", flat=True)) == {
        "promoted"
    }
    history = item.history.get()
    assert (history.history_user, history.history_change_reason) == (
        user, "对码工作区入主数据 / promoted from the code-conflict workspace",
    )  # fmt: skip
    assert ConflictSnapshot.objects.order_by("-pk").first().trigger == "promotion"


def test_a_material_touched_by_a_conflict_stays_in_the_workspace(tmp_path, user):
    hrp(tmp_path, [clean_row(1, insurance_code=INS1), clean_row(2, insurance_code=INS1),
                   clean_row(3)])  # fmt: skip
    result = staging_promote(user=user)
    assert result.promoted == ["WZ3"]
    assert not Consumable.objects.filter(material_code__in=["WZ1", "WZ2"]).exists()
    assert StagingRow.objects.filter(status="pending").count() == 2


def test_promoting_chosen_materials_names_the_ones_still_in_conflict(tmp_path, user):
    hrp(tmp_path, [clean_row(1), clean_row(2, charge_code="JF1"), clean_row(3), clean_row(4)])
    result = staging_promote(user=user, material_codes=["WZ1", "WZ3"])
    assert result.promoted == ["WZ3"]
    assert list(result.refused) == ["WZ1"]
    assert not Consumable.objects.filter(material_code="WZ4").exists()


def test_a_row_the_import_refuses_stays_pending_with_the_reason(tmp_path, user):
    hrp(tmp_path, [clean_row(1, name=""), clean_row(2)])
    result = staging_promote(user=user)
    assert result.promoted == ["WZ2"]
    row = StagingRow.objects.get(material_code="WZ1")
    assert row.status == "pending"
    assert "名称必填" in row.promotion_error == result.refused["WZ1"]


def test_initial_prices_of_a_promoted_row_load_as_import_master_loads_them(tmp_path, user):

    path = write(
        tmp_path / "hrp.csv",
        [*HRP_COLUMNS, "platform_price", "purchase_price", "charge_price"],
        [clean_row(1) + ["12.50", "12.00", "12.00"]],
    )
    staging_import(path=path, source="hrp")
    staging_promote(user=user)
    version = PriceVersion.objects.get(consumable__material_code="WZ1")
    assert (version.status, version.purchase_price) == ("approved", 12)


def test_a_live_item_keeps_its_codes_and_gets_a_mapping_change_to_review(tmp_path, user):
    live = ConsumableFactory(
        material_code="WZ1", name="旧名称", charge_code="JF1", insurance_code=None
    )
    DeviceIdentifierFactory(consumable=live, udi_di=gtin14(101))
    hrp(tmp_path, [clean_row(1), clean_row(1, udi_di=gtin14(901), charge_code="")])
    result = staging_promote(user=user)
    assert (result.promoted, result.proposals) == (["WZ1"], 1)
    live.refresh_from_db()
    # Described anew at once, but its codes change only through review.
    assert (live.name, live.insurance_code) == ("留置针 1", None)
    assert not DeviceIdentifier.objects.filter(udi_di=gtin14(901)).exists()
    change = MappingChange.objects.get()
    assert (change.origin, change.status, change.proposed_by) == ("staging", "proposed", user)
    assert change.changes == {"insurance_code": {"from": None, "to": insurance_code(101)}}
    assert [d["udi_di"] for d in change.add_dis] == [gtin14(901)]


def test_promoting_the_same_rows_again_proposes_nothing_twice(tmp_path, user):
    ConsumableFactory(material_code="WZ1", charge_code="JF1", insurance_code=None)
    hrp(tmp_path, [clean_row(1)])
    staging_promote(user=user)
    hrp(tmp_path, [clean_row(1)], name="again.csv")
    assert staging_promote(user=user).proposals == 0
    assert MappingChange.objects.count() == 1


def test_a_code_disagreeing_with_the_live_item_blocks_its_promotion(tmp_path, user):
    ConsumableFactory(material_code="WZ1", charge_code="JF-OLD")
    hrp(tmp_path, [clean_row(1)])
    result = staging_promote(user=user, material_codes=["WZ1"])
    assert (result.promoted, list(result.refused)) == ([], ["WZ1"])
    assert Consumable.objects.get(material_code="WZ1").charge_code == "JF-OLD"


# -- the HRP supplier list in the workspace ---------------------------------------------------

SUPPLIER_HEADINGS = ["供应商编码", "供应商名称", "统一社会信用代码", "医疗器械经营许可证号"]


def suppliers(tmp_path, rows, name="suppliers.csv"):
    return staging_import(path=write(tmp_path / name, SUPPLIER_HEADINGS, rows), source="supplier")


def test_supplier_rows_are_checked_at_load_and_only_clean_ones_promoted(tmp_path, user):
    from consumables.staging.conflicts import conflict_summary
    from organisation.models import Supplier

    Supplier.objects.create(code="GYS1", name="旧名称")
    batch = suppliers(tmp_path, [
        ["GYS1", "国药控股江苏有限公司", "91440300708461136t", "苏械经营许20150123号"],
        ["GYS2", "上海某医疗器械有限公司", "91350100M000100Y44", ""],  # wrong check character
        ["GYS3", "南京甲公司", "", ""],
        ["GYS3", "南京乙公司", "", ""],  # the same code, another name
        ["", "无编码公司", "", ""],  # names nothing: refused at load
        ["GYS4", "苏州某公司", "91110000802100433B", ""],
    ])  # fmt: skip
    assert (batch.rows_loaded, [e["line"] for e in batch.errors]) == (5, [6])
    assert "CREDIT_CODE_INVALID" not in StagingRow.objects.get(supplier_code="GYS1").problems
    assert StagingRow.objects.get(supplier_code="GYS2").problems
    counts = conflict_summary().counts
    assert (counts["SUPPLIER_INVALID_ROW"], counts["SUPPLIER_CONTRADICTS"]) == (1, 1)
    assert counts["INVALID_ROW"] == 0  # supplier rows are not material rows

    result = staging_promote(user=user)

    assert result.suppliers_promoted == ["GYS1", "GYS4"]
    gys1 = Supplier.objects.get(code="GYS1")
    assert (gys1.name, gys1.credit_code, gys1.license_no) == (
        "国药控股江苏有限公司", "91440300708461136T", "苏械经营许20150123号",
    )  # fmt: skip
    assert gys1.history.first().history_user == user
    assert not Supplier.objects.filter(code__in=["GYS2", "GYS3"]).exists()
    assert set(
        StagingRow.objects.filter(source="supplier", status="pending").values_list(
            "supplier_code", flat=True
        )
    ) == {"GYS2", "GYS3"}


def test_a_supplier_row_fixed_in_the_workspace_is_promoted(tmp_path, user):
    from consumables.staging.fixes import staging_row_fix
    from organisation.models import Supplier

    suppliers(tmp_path, [["GYS2", "上海某医疗器械有限公司", "91350100M000100Y44", ""]])
    row = StagingRow.objects.get(supplier_code="GYS2")
    fixed = staging_row_fix(row=row, values={"credit_code": "91350100M000100Y43"}, user=user)
    assert fixed.problems == ""
    assert staging_promote(user=user).suppliers_promoted == ["GYS2"]
    assert Supplier.objects.get(code="GYS2").credit_code == "91350100M000100Y43"


def test_promoting_chosen_materials_leaves_the_suppliers_pending(tmp_path, user):
    suppliers(tmp_path, [["GYS1", "国药控股江苏有限公司", "", ""]])
    hrp(tmp_path, [clean_row(1)])
    result = staging_promote(user=user, material_codes=["WZ1"])
    assert result.promoted == ["WZ1"] and result.suppliers_promoted == []
    assert StagingRow.objects.get(source="supplier").status == "pending"


def test_a_live_items_new_insurance_class_goes_to_review_with_its_codes(tmp_path, user):
    ConsumableFactory(material_code="WZ1", name="旧名称", charge_code="JF1",
                      insurance_code=insurance_code(101))  # fmt: skip
    path = write(tmp_path / "hrp.csv", [*HRP_COLUMNS, "insurance_class", "restriction"],
                 [clean_row(1) + ["restricted", "限儿童患者"]])  # fmt: skip
    staging_import(path=path, source="hrp")

    result = staging_promote(user=user)

    assert (result.promoted, result.proposals) == (["WZ1"], 1)
    assert Consumable.objects.get(material_code="WZ1").insurance_class == "covered"
    assert MappingChange.objects.get().changes == {
        "insurance_class": {"from": "covered", "to": "restricted"},
        "insurance_restriction": {"from": "", "to": "限儿童患者"},
    }


def test_a_new_items_insurance_class_loads_and_a_restricted_one_needs_its_condition(
    tmp_path, user
):
    path = write(tmp_path / "hrp.csv", [*HRP_COLUMNS, "医保支付类别", "限定支付条件"], [
        clean_row(1) + ["self_pay", ""],
        clean_row(2) + ["restricted", ""],
    ])  # fmt: skip
    staging_import(path=path, source="hrp")

    result = staging_promote(user=user)

    assert result.promoted == ["WZ1"] and list(result.refused) == ["WZ2"]
    assert "restricted" in result.refused["WZ2"]
    assert Consumable.objects.get(material_code="WZ1").insurance_class == "self_pay"


def test_the_workspace_page_stages_and_promotes_a_supplier_file(client):
    from django.contrib.auth.models import Group, User
    from django.core.files.uploadedfile import SimpleUploadedFile

    from config import roles
    from organisation.models import Supplier

    buyer = User.objects.create_user("cg01")
    buyer.groups.add(Group.objects.get_or_create(name=roles.PROCUREMENT)[0])
    client.force_login(buyer)
    body = "code,name,credit_code,license_no\nGYS1,国药控股江苏有限公司,91440300708461136T,\n"
    staged = client.post("/master/conflicts/", {
        "source": "supplier", "replace": "on",
        "file": SimpleUploadedFile("供应商.csv", body.encode(), "text/csv"),
    })  # fmt: skip
    assert staged.status_code == 302

    promoted = client.post("/master/conflicts/promote/", {"scope": "all"}, follow=True)

    assert "suppliers: 1 promoted, 0 refused" in promoted.content.decode()
    assert Supplier.objects.get(code="GYS1").credit_code == "91440300708461136T"
