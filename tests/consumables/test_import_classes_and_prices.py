"""import_master: items not separately chargeable (purchase price only), and the insurance
class and payment restriction columns."""

from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from consumables.models import Consumable, PriceVersion
from consumables.price_review import misaligned_in_force, proposal_checks
from consumables.prices import FourPrices, four_price_violations, prices_in_force
from consumables.services import price_version_approve
from tests.consumables.test_import_master import errors_of, item, load, write_csv, write_xlsx

pytestmark = pytest.mark.django_db


def again(**values) -> dict:
    """A later row of item 1 (the first row of a material in a file carries its name)."""
    return {"material_code": "WZ00001", "name": "医用纱布块 1", **values}


def gauze(n: int, **overrides) -> dict:
    """A non-chargeable row: gauze, included in the procedure fee."""
    row = item(
        n, name=f"医用纱布块 {n}", chargeable="0", charge_code="", order_code="",
        insurance_code="", charge_price="", purchase_price="1.20", platform_price="1.50",
    )  # fmt: skip
    row.update(overrides)
    return row


# -- chargeable=0: a purchase price and no charge price ---------------------------------------


def test_non_chargeable_row_with_a_purchase_price_only_loads_with_an_approved_version():
    report = load([gauze(1)])

    assert report.ok, report.errors
    version = PriceVersion.objects.get(consumable__material_code="WZ00001")
    assert version.status == PriceVersion.Status.APPROVED
    assert (version.purchase_price, version.charge_price) == (D("1.2000"), None)
    assert not Consumable.objects.get(material_code="WZ00001").chargeable
    in_force = prices_in_force(version.consumable_id, timezone.now())
    assert (in_force.purchase, in_force.charge) == (D("1.2000"), None)
    assert four_price_violations(in_force) == []
    assert not misaligned_in_force().filter(pk=version.consumable_id).exists()


def test_non_chargeable_row_still_meets_the_platform_and_vbp_rules():
    report = load([
        gauze(1, purchase_price="1.80"),  # above the platform price 1.50
        gauze(2, vbp_price="1.00"),  # not the VBP price
    ])  # fmt: skip

    assert errors_of(report) == [(2, "FOUR_PRICE_VIOLATION"), (3, "FOUR_PRICE_VIOLATION")]
    assert "platform" in report.errors[0].message
    assert "VBP" in report.errors[1].message
    assert not PriceVersion.objects.exists()


def test_non_chargeable_row_with_a_charge_price_is_refused_with_the_reason():
    report = load([gauze(1, charge_price="1.20"), gauze(2)])

    assert errors_of(report) == [(2, "VALIDATION_ERROR")]
    assert "not separately chargeable" in report.errors[0].message
    assert list(Consumable.objects.values_list("material_code", flat=True)) == ["WZ00002"]


def test_chargeable_row_still_needs_both_prices():
    report = load([item(1, charge_price=""), item(2, purchase_price=""), item(3)])

    assert errors_of(report) == [(2, "VALIDATION_ERROR"), (3, "VALIDATION_ERROR")]
    assert all("go together" in e.message for e in report.errors)


def test_without_a_chargeable_column_the_stored_value_decides():
    load([gauze(1)])
    row = again(purchase_price="1.10")
    report = load([row, again(purchase_price="1.10",
                         charge_price="1.10")])  # fmt: skip

    # The first row proposes 1.10 with no charge price; the second contradicts it.
    assert errors_of(report) == [(3, "VALIDATION_ERROR")]
    proposal = PriceVersion.objects.get(status=PriceVersion.Status.PROPOSED)
    assert (proposal.purchase_price, proposal.charge_price) == (D("1.1000"), None)


def test_a_purchase_only_proposal_can_be_reviewed_and_approved(user, django_user_model):
    load([gauze(1)])
    load([again(purchase_price="1.10")], user=user)
    proposal = PriceVersion.objects.get(status=PriceVersion.Status.PROPOSED)

    [check] = proposal_checks([proposal])
    assert check.violations == [] and check.current_charge is None

    approver = django_user_model.objects.create_user("approver2")
    approved = price_version_approve(version=proposal, approver=approver)
    assert approved.status == PriceVersion.Status.APPROVED
    assert prices_in_force(approved.consumable_id, timezone.now()).purchase == D("1.1000")


def test_a_version_without_a_charge_price_cannot_be_approved_for_a_chargeable_item(
    user, django_user_model
):
    load([gauze(1)])
    load([again(purchase_price="1.10")], user=user)
    Consumable.objects.filter(material_code="WZ00001").update(chargeable=True)
    proposal = PriceVersion.objects.get(status=PriceVersion.Status.PROPOSED)

    approver = django_user_model.objects.create_user("approver2")
    with pytest.raises(Exception) as raised:
        price_version_approve(version=proposal, approver=approver)
    assert raised.value.code == "FOUR_PRICE_VIOLATION"


def test_making_an_item_chargeable_needs_a_charge_price():
    load([gauze(1)])

    refused = load([again(chargeable="1")])
    assert errors_of(refused) == [(2, "VALIDATION_ERROR")]
    assert "charge price" in refused.errors[0].message
    assert not Consumable.objects.get(material_code="WZ00001").chargeable


def test_four_price_rule_with_and_without_knowing_the_item_is_chargeable():
    def codes(prices):
        return [v.code for v in four_price_violations(prices)]

    assert codes(FourPrices(D("2"), None, D("1"), None)) == []
    assert codes(FourPrices(D("2"), None, D("1"), None, chargeable=False)) == []
    assert codes(FourPrices(D("2"), None, D("1"), None, chargeable=True)) == ["NO_CHARGE_PRICE"]
    assert codes(FourPrices(D("2"), None, D("1"), D("1"), chargeable=False)) == [
        "CHARGE_NOT_CHARGEABLE"
    ]
    assert codes(FourPrices(D("2"), D("0.9"), D("1"), None, chargeable=False)) == [
        "PURCHASE_NE_VBP"
    ]


# -- insurance_class and restriction ---------------------------------------------------------


def test_class_columns_load():
    report = load([
        item(1, insurance_class="self_pay"),
        item(2, insurance_class="restricted", restriction="限儿童患者使用"),
        item(3),
    ])  # fmt: skip

    assert report.ok, report.errors
    stored = dict(
        Consumable.objects.values_list("material_code", "insurance_class")
    )
    assert stored == {"WZ00001": "self_pay", "WZ00002": "restricted", "WZ00003": "covered"}
    assert Consumable.objects.get(material_code="WZ00002").insurance_restriction == (
        "限儿童患者使用"
    )


def test_restricted_without_a_restriction_and_an_unknown_class_are_refused_by_line():
    report = load([
        item(1, insurance_class="restricted"),
        item(2, insurance_class="甲类"),
        item(3, insurance_class="covered", restriction="限二级以上医院"),
        item(4),
    ])  # fmt: skip

    assert errors_of(report) == [
        (2, "VALIDATION_ERROR"), (3, "VALIDATION_ERROR"), (4, "VALIDATION_ERROR"),
    ]  # fmt: skip
    assert "restriction" in report.errors[0].message
    assert "insurance_class" in report.errors[1].message
    assert list(Consumable.objects.values_list("material_code", flat=True)) == ["WZ00004"]


def test_reimport_changes_the_class_and_restriction_directly():
    load([item(1, insurance_class="restricted", restriction="限儿童")])

    kept = load([{"material_code": "WZ00001", "name": "改名"}])  # empty class: kept
    assert kept.ok
    consumable = Consumable.objects.get(material_code="WZ00001")
    assert (consumable.insurance_class, consumable.insurance_restriction) == (
        "restricted", "限儿童",
    )  # fmt: skip

    changed = load([again(restriction="限儿童及孕妇")])
    assert changed.updated == 1
    consumable.refresh_from_db()
    assert consumable.insurance_restriction == "限儿童及孕妇"

    covered = load([again(insurance_class="covered")])
    assert covered.updated == 1
    consumable.refresh_from_db()
    assert (consumable.insurance_class, consumable.insurance_restriction) == ("covered", "")
    assert consumable.history.first().history_change_reason == "import_master"


def test_xlsx_with_class_columns_via_the_command(tmp_path, capsys):
    header = ["material_code", "name", "chargeable", "insurance_class", "restriction",
              "purchase_price", "charge_price"]  # fmt: skip
    path = write_xlsx(tmp_path / "c.xlsx", header, [
        ["WZ1", "医用纱布块", 0, "", "", 1.2, None],
        ["WZ2", "人工晶体", 1, "self_pay", "", 3200, 3200],
        ["WZ3", "药物球囊", 1, "restricted", "", 8000, 8000],
    ])  # fmt: skip

    with pytest.raises(CommandError) as raised:
        call_command("import_master", str(path))

    assert raised.value.returncode == 2
    out = capsys.readouterr().out
    assert "第 4 行 / line 4: VALIDATION_ERROR" in out
    assert sorted(Consumable.objects.values_list("material_code", "insurance_class")) == [
        ("WZ1", "covered"), ("WZ2", "self_pay"),
    ]  # fmt: skip
    assert PriceVersion.objects.get(consumable__material_code="WZ1").charge_price is None


def test_csv_columns_named_as_documented(tmp_path):
    path = write_csv(tmp_path / "c.csv", [gauze(1, insurance_class="self_pay")])
    call_command("import_master", str(path))
    assert Consumable.objects.get().insurance_class == "self_pay"
