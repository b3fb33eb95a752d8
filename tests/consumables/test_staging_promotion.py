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
