"""python manage.py rebuild_balances [--check]."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from inventory.ledger import NewMove, department_location, post_moves, virtual_location
from inventory.models import Lot, StockBalance
from organisation.models import Department, Location
from tests.factories import ConsumableFactory, DepartmentFactory


@pytest.fixture
def ledger(db):
    """10 received into the store, 4 issued to the ward: balances 6 and 4."""
    store = department_location(DepartmentFactory(code="CK01", kind=Department.Kind.STORE))
    ward = department_location(DepartmentFactory(code="XNK"))
    lot = Lot.objects.create(consumable=ConsumableFactory(), lot_no="L1")
    supplier = virtual_location(Location.Usage.SUPPLIER)
    with transaction.atomic():
        post_moves(
            [
                NewMove("receive", lot, 10, supplier, store, timezone.now()),
                NewMove("issue", lot, 4, store, ward, timezone.now()),
            ]
        )
    return {"store": store, "ward": ward, "lot": lot}


def run(*args):
    out = StringIO()
    call_command("rebuild_balances", *args, stdout=out)
    return out.getvalue()


def tamper(location, lot, quantity):
    StockBalance.objects.filter(location=location, lot=lot).update(quantity=quantity)


def test_check_passes_on_a_consistent_ledger(ledger):
    assert "agree" in run("--check")


def test_check_fails_and_lists_a_tampered_balance(ledger):
    tamper(ledger["store"], ledger["lot"], 9)
    out = StringIO()
    with pytest.raises(CommandError, match="1 balances differ"):
        call_command("rebuild_balances", "--check", stdout=out)
    assert "DEPT-CK01\t" in out.getvalue()
    assert out.getvalue().splitlines()[-1].endswith("L1\t9\t6")
    assert StockBalance.objects.get(location=ledger["store"]).quantity == 9


def test_check_notices_a_deleted_balance_row(ledger):
    StockBalance.objects.filter(location=ledger["ward"]).delete()
    with pytest.raises(CommandError):
        run("--check")


def test_rebuild_repairs_tampered_balances(ledger):
    tamper(ledger["store"], ledger["lot"], 9)
    tamper(ledger["ward"], ledger["lot"], 0)
    assert "2 rows changed" in run()
    balances = dict(StockBalance.objects.values_list("location", "quantity"))
    assert balances == {ledger["store"].pk: 6, ledger["ward"].pk: 4}
    assert "agree" in run("--check")


def test_rebuild_of_a_consistent_ledger_changes_nothing(ledger):
    assert "0 rows changed" in run()
