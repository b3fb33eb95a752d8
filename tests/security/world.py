"""A small hospital with one user of every role and one object of every kind a URL names.

Used by the access matrix (every URL with every role) and the schemathesis run.
"""

import datetime as dt

from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from billing.models import ChargeLine, ExceptionRow, ReconciliationRun
from config import roles
from consumables.mappings.services import mapping_change_propose
from consumables.models import Consumable
from consumables.services import price_version_propose
from consumables.staging.conflicts import KINDS as CONFLICT_KINDS
from consumables.staging.models import StagingImport, StagingRow
from consumables.submissions.services import submission_create, supplier_product_assign
from insurance_platform.models import UploadRecord
from inventory.services.recall import recall_register
from inventory.services.stocktake import stocktake_open
from organisation.models import Department, Supplier
from tests.billing.conftest import post_scan, stocked_item
from tests.factories import ConsumableFactory, DepartmentFactory, gtin14, insurance_code

ANONYMOUS = "anonymous"
NURSE_OTHER_WARD = "nurse_other_ward"
KEEPER_OTHER_STORE = "storekeeper_other_store"
# Roles that work in the admin (as load_demo makes them): all but the ward and the outside.
NOT_STAFF = {roles.NURSE, roles.SUPPLIER, roles.INTEGRATION}


def make_user(username: str, role: str, *departments) -> User:
    user = User.objects.create_user(username, password="pw-123456!", is_staff=role not in NOT_STAFF)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    for department in departments:
        department.members.add(user)
    return user


def build_world(hospital) -> dict:
    """``hospital`` is tests/billing/conftest.py's: store CK01, ward XNK, nurse01, store01,
    inpatient ZY001. Adds stock, a use with its charge, a stocktake, a recall, a
    reconciliation run with an exception, another ward and store, and a user per role."""
    ward, store = hospital["ward"], hospital["store"]
    consumable, di, codes = stocked_item(
        hospital, "690000000101", tracking=Consumable.Tracking.LOT, quantity=10
    )
    use = post_scan(hospital["nurse"], "use", codes[0], "XNK", encounter="ZY001", quantity=1)
    assert use.status_code == 201, use.json()

    users = {
        roles.NURSE: hospital["nurse"].user,
        roles.STOREKEEPER: hospital["keeper"].user,  # its store, and the ward it supplies
    }
    users[roles.STOREKEEPER].is_staff = True
    users[roles.STOREKEEPER].save(update_fields=["is_staff"])
    for role in roles.ROLES:
        if role not in users:
            users[role] = make_user(f"{role}01", role)
    other_ward = DepartmentFactory(code="SJK", name="神经内科病区")
    other_store = DepartmentFactory(code="CK02", name="二级库房", kind=Department.Kind.STORE)
    users[NURSE_OTHER_WARD] = make_user("nurse_sjk", roles.NURSE, other_ward)
    users[KEEPER_OTHER_STORE] = make_user("store_ck02", roles.STOREKEEPER, other_store)

    stocktake = stocktake_open(department=ward, user=users[roles.NURSE])
    recall = recall_register(
        code_or_di=di, lot_nos=[], reason="厂家召回 / recall", user=users[roles.ADMINISTRATOR]
    )[0]
    day = timezone.localdate()
    run = ReconciliationRun.objects.create(
        date=day, status=ReconciliationRun.Status.SUCCEEDED, computed_at=timezone.now()
    )
    exception = ExceptionRow.objects.create(
        run=run,
        kind="UNBILLED_USE",
        department_code="XNK",
        material_code=consumable.material_code,
        encounter_no="ZY001",
        quantity=1,
    )
    master = _master_data(users, consumable)
    return {
        **master,
        "users": users,
        "ward": ward,
        "store": store,
        "other_ward": other_ward,
        "consumable": consumable,
        "di": di,
        "codes": codes,
        "encounter": hospital["encounter"],
        "charge": ChargeLine.objects.get(pk=use.json()["charge"]["id"]),
        "stocktake": stocktake,
        "stocktake_line": stocktake.lines.first(),
        "recall": recall,
        "run_date": day - dt.timedelta(days=0),
        "exception": exception,
        # The outbox record the database wrote for the receipt (PostgreSQL's triggers).
        "upload": UploadRecord.objects.order_by("pk").first(),
    }


def _master_data(users, consumable) -> dict:
    """What the procurement, pricing office and supplier pages name: a staged import and
    row, a mapping change and a price proposal awaiting review, a supplier's submission."""
    buyer, pricer = users[roles.PROCUREMENT], users[roles.PRICING_OFFICE]
    batch = StagingImport.objects.create(source="hrp", file_name="HRP物资.csv", imported_by=buyer)
    row = StagingRow.objects.create(
        batch=batch, source="hrp", line=2, material_code=consumable.material_code
    )
    change = mapping_change_propose(
        consumable=consumable,
        codes={"order_code": "YZ-NEW-1"},
        reason="HIS 医嘱编码调整",
        proposed_by=buyer,
    )
    proposal = price_version_propose(
        consumable=consumable,
        purchase_price="25.5",
        charge_price="25.5",
        effective_from=timezone.now() + dt.timedelta(days=1),
        reason="新价格",
        proposed_by=pricer,
    )
    Supplier.objects.get(code="GYS01").users.add(users[roles.SUPPLIER])
    supplied = ConsumableFactory(insurance_code=None)
    supplier_product_assign(supplier_code="GYS01", consumable=supplied, user=buyer)
    submission = submission_create(
        user=users[roles.SUPPLIER],
        consumable_id=supplied.pk,
        # Far beyond the factories' sequences, which pass 901 in a full run (a collision).
        insurance_code=insurance_code(99_999_901),
        registration_no="国械注准20243140001",
        dis=[
            {"udi_di": gtin14(99_999_901), "units_per_package": 1, "package_level": "最小销售单元"}
        ],
    )
    return {
        "staging_import": batch,
        "staging_row": row,
        "conflict_kind": next(iter(CONFLICT_KINDS)),
        "mapping_change": change,
        "price_proposal": proposal,
        "supplied": supplied,
        "submission": submission,
    }


def client_as(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
