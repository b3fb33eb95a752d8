"""What PostgreSQL itself refuses on the history and money rows, with raw SQL (issue 13).

The app's code never tries any of this; these tests are the administrator at psql, a bug in
a future migration, or a stolen app password: the database answers, not the code. Inventory
0003/0006 and billing 0009 hold the triggers; docker/postgres-init.sql makes the role the
app connects as, which cannot switch them off.
"""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone

from billing.models import ChargeLine, ChargeRefund, Encounter, Use
from config import roles
from consumables.models import Consumable
from inventory.models import Receipt, ReceiptLine, ScanEvent, StockMove
from tests.billing.conftest import (  # noqa: F401  (fixtures)
    client_for,
    hospital,
    post_scan,
    stocked_item,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

INIT_SCRIPT = Path(settings.BASE_DIR) / "docker" / "postgres-init.sql"
PROTECTED = [
    "inventory_stockmove",
    "inventory_receipt",
    "inventory_receiptline",
    "inventory_scanevent",
    "billing_use",
    "billing_chargeline",
    "billing_chargerefund",
    "billing_hischargecheck",
]


@pytest.fixture
def history(hospital):  # noqa: F811  (the imported fixture)
    """Receipts, moves and scan events; a lot used 3 times with 1 returned (so a refund);
    a tracked unit used and charged (its ``active_unit`` held); an HIS charge without an
    order (its boundary check kept); a second encounter."""
    nurse = hospital["nurse"]
    item, _, (lot_code,) = stocked_item(hospital, "690770000001", price="10", quantity=10)
    response = post_scan(nurse, "use", lot_code, "XNK", encounter="ZY001", quantity=3)
    assert response.status_code == 201, response.json()
    response = post_scan(nurse, "return", lot_code, "XNK", encounter="ZY001", quantity=1)
    assert response.status_code == 201, response.json()
    _, _, (unit_code,) = stocked_item(
        hospital, "690770000002", tracking=Consumable.Tracking.UNIT, serials=["H5-SN1"]
    )
    response = post_scan(nurse, "use", unit_code, "XNK", encounter="ZY001")
    assert response.status_code == 201, response.json()
    response = client_for("his", roles.INTEGRATION).post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": "ZY001",
            "charge_code": item.charge_code,
            "quantity": 1,
            "unit_price": "10",
            "charged_at": timezone.now().isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["warnings"], response.json()
    other = Encounter.objects.create(
        visit_no="ZY002",
        patient=hospital["encounter"].patient,
        department=hospital["ward"],
        admitted_at=timezone.now(),
    )
    lot_use = Use.objects.get(tracked_unit__isnull=True)
    unit_use = Use.objects.get(tracked_unit__isnull=False)
    return {
        "lot_use": lot_use,
        "unit_use": unit_use,
        "lot_charge": lot_use.charge,
        "unit_charge": unit_use.charge,
        "other_encounter": other,
    }


def table_rows(table: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_jsonb(t) FROM {table} t ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def refused(sql: str, params=None, error=IntegrityError, match="refused"):
    with pytest.raises(error, match=match), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def settle_foreign_keys():
    """The test's own inserts leave deferred foreign-key checks pending, and PostgreSQL will
    not TRUNCATE a table with pending trigger events: run them now, as a commit would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def run(sql: str, params=None) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def test_the_history_holds_a_row_of_every_protected_table(history):
    assert all(table_rows(table) for table in PROTECTED)
    assert ChargeRefund.objects.count() == 1
    assert Receipt.objects.exists() and ReceiptLine.objects.exists()


# -- UPDATE of a fact ----------------------------------------------------------------------

FACT_UPDATES = [
    ("inventory_receipt", "invoice_no = invoice_no || 'X'"),
    ("inventory_receipt", "ownership = 'consignment'"),
    ("inventory_receiptline", "quantity = quantity + 1"),
    ("inventory_receiptline", "unit_cost = unit_cost + 1"),
    ("inventory_receiptline", "received_at = received_at - interval '1 day'"),
    ("inventory_scanevent", "fingerprint = 'forged'"),
    ("inventory_scanevent", "user_id = NULL"),
    ("inventory_scanevent", "event_id = gen_random_uuid()"),
    ("inventory_scanevent", "created_at = created_at - interval '1 day'"),
    ("billing_use", "quantity = quantity + 1"),
    ("billing_use", "encounter_id = %(other_encounter)s"),
    ("billing_use", "occurred_at = occurred_at - interval '1 day'"),
    ("billing_use", "user_id = NULL"),
    ("billing_use", "event_id = gen_random_uuid()"),
    ("billing_chargeline", "amount = amount + 1"),
    ("billing_chargeline", "unit_price = unit_price * 2"),
    ("billing_chargeline", "quantity = quantity + 1"),
    ("billing_chargeline", "charge_code = 'JF-FORGED'"),
    ("billing_chargeline", "insurance_code = ''"),
    ("billing_chargeline", "encounter_id = %(other_encounter)s"),
    ("billing_chargeline", "charged_at = charged_at - interval '1 day'"),
    ("billing_chargeline", "self_pay = NOT self_pay"),
    ("billing_chargeline", "user_id = NULL"),
    ("billing_chargerefund", "amount = amount + 1"),
    ("billing_chargerefund", "quantity = quantity + 1"),
    ("billing_chargerefund", "refunded_at = refunded_at - interval '1 day'"),
    ("billing_chargerefund", "reason = 'edited'"),
    ("billing_hischargecheck", "outcome = 'refused'"),
    ("billing_hischargecheck", "kinds = '[]'"),
    ("billing_hischargecheck", "checked_at = checked_at - interval '1 day'"),
]


@pytest.mark.parametrize(("table", "assignment"), FACT_UPDATES)
def test_update_of_a_fact_is_refused(history, table, assignment):
    before = table_rows(table)
    refused(f"UPDATE {table} SET {assignment}", {"other_encounter": history["other_encounter"].pk})
    assert table_rows(table) == before


# -- the lifecycle columns move one way only -------------------------------------------------


def test_use_returned_quantity_may_grow_up_to_quantity(history):
    use = history["lot_use"]  # 3 used, 1 returned
    assert run("UPDATE billing_use SET returned_quantity = 3 WHERE id = %s", [use.pk]) == 1
    use.refresh_from_db()
    assert use.returned_quantity == 3


def test_use_returned_quantity_never_shrinks(history):
    use = history["lot_use"]
    refused("UPDATE billing_use SET returned_quantity = 0 WHERE id = %s", [use.pk])


def test_use_returned_quantity_never_passes_quantity(history):
    use = history["lot_use"]
    refused("UPDATE billing_use SET returned_quantity = 4 WHERE id = %s", [use.pk])


def test_use_unit_is_freed_when_the_use_is_wholly_returned(history):
    use = history["unit_use"]
    sql = "UPDATE billing_use SET returned_quantity = 1, active_unit_id = NULL WHERE id = %s"
    assert run(sql, [use.pk]) == 1


def test_use_unit_is_not_freed_while_the_use_stands(history):
    use = history["unit_use"]
    refused("UPDATE billing_use SET active_unit_id = NULL WHERE id = %s", [use.pk])


def test_use_unit_is_never_set_or_moved(history):
    unit = history["unit_use"].active_unit_id
    refused(
        "UPDATE billing_use SET active_unit_id = %s WHERE id = %s",
        [unit, history["lot_use"].pk],
    )


def test_charge_refunded_quantity_may_grow_up_to_quantity(history):
    charge = history["lot_charge"]  # 3 charged, 1 refunded
    assert run("UPDATE billing_chargeline SET refunded_quantity = 2 WHERE id = %s", [charge.pk])


def test_charge_refunded_quantity_never_shrinks(history):
    charge = history["lot_charge"]
    refused("UPDATE billing_chargeline SET refunded_quantity = 0 WHERE id = %s", [charge.pk])


def test_charge_unit_is_freed_when_the_charge_is_wholly_refunded(history):
    charge = history["unit_charge"]
    sql = "UPDATE billing_chargeline SET refunded_quantity = 1, active_unit_id = NULL WHERE id = %s"
    assert run(sql, [charge.pk]) == 1


def test_charge_unit_is_not_freed_while_the_charge_stands(history):
    charge = history["unit_charge"]
    refused("UPDATE billing_chargeline SET active_unit_id = NULL WHERE id = %s", [charge.pk])


def test_scan_event_answer_is_written_once_from_empty(history):
    event = ScanEvent.objects.order_by("pk").first()
    assert event.response  # the answer its write stored
    refused(
        "UPDATE inventory_scanevent SET response = '{\"forged\": true}' WHERE id = %s",
        [event.pk],
    )


def test_scan_event_claimed_empty_gets_its_answer(history):
    # As services/idempotency.run_once does: the claim goes in empty, the answer follows.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_scanevent (event_id, action, fingerprint, response, "
            "created_at) VALUES (gen_random_uuid(), 'use', 'f', '{}', now()) RETURNING id"
        )
        (pk,) = cursor.fetchone()
        cursor.execute(
            "UPDATE inventory_scanevent SET response = '{\"ok\": 1}' WHERE id = %s", [pk]
        )
    assert ScanEvent.objects.get(pk=pk).response == {"ok": 1}


# -- DELETE and TRUNCATE -------------------------------------------------------------------


@pytest.mark.parametrize("table", PROTECTED)
def test_delete_is_refused(history, table):
    before = table_rows(table)
    refused(f"DELETE FROM {table}")
    assert table_rows(table) == before


@pytest.mark.parametrize("table", PROTECTED)
def test_truncate_is_refused(history, table):
    before = table_rows(table)
    settle_foreign_keys()
    refused(f"TRUNCATE {table} CASCADE")
    assert table_rows(table) == before


def test_truncate_of_a_parent_reaching_the_money_rows_is_refused(history):
    settle_foreign_keys()
    refused("TRUNCATE billing_encounter CASCADE", match="TRUNCATE refused on billing_")
    assert Use.objects.count() == 2 and ChargeLine.objects.count() == 3
    assert StockMove.objects.exists()


# -- the role the app connects as ----------------------------------------------------------


@pytest.fixture
def app_role(db):
    """A role made as docker/postgres-init.sql makes wuma_app, in the test's transaction
    (rolled back with it; a name of its own, roles being shared by the whole server)."""
    name = f"test_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            "NOBYPASSRLS NOINHERIT"
        )
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}"
        )
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}")
    return name


def run_as(role: str, sql: str):
    """``sql`` as ``role`` in a savepoint; SET LOCAL ROLE ends with it, refused or not."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(sql)
        rows = cursor.fetchall() if cursor.description else None
        cursor.execute("RESET ROLE")
        return rows


def test_app_role_reads_and_writes_rows(history, app_role):
    assert run_as(app_role, "SELECT count(*) FROM billing_use") == [(2,)]
    assert run_as(app_role, "SELECT current_user") == [(app_role,)]


def test_app_role_cannot_update_a_use(history, app_role):
    with pytest.raises(IntegrityError, match="refused on billing_use"):
        run_as(app_role, "UPDATE billing_use SET quantity = quantity + 1")


def test_app_role_cannot_disable_the_triggers(history, app_role):
    for sql in (
        "ALTER TABLE billing_use DISABLE TRIGGER ALL",
        "ALTER TABLE billing_use DISABLE TRIGGER billing_use_lifecycle_only",
        "ALTER TABLE inventory_stockmove DISABLE TRIGGER inventory_stockmove_append_only",
        "DROP TRIGGER billing_chargeline_no_delete ON billing_chargeline",
    ):
        with pytest.raises(ProgrammingError, match="must be owner"):
            run_as(app_role, sql)


def test_app_role_cannot_set_session_replication_role(history, app_role):
    with pytest.raises(ProgrammingError, match="permission denied to set parameter"):
        run_as(app_role, "SET session_replication_role = replica")


def test_app_role_cannot_truncate(history, app_role):
    settle_foreign_keys()
    with pytest.raises(ProgrammingError, match="permission denied"):
        run_as(app_role, "TRUNCATE billing_chargeline CASCADE")


# -- docker/postgres-init.sql itself ---------------------------------------------------------


def _server(dbname: str) -> dict:
    db = settings.DATABASES["default"]
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "dbname": dbname,
        "autocommit": True,
    }


def _init_script(dbname: str, owner: str, app: str) -> subprocess.CompletedProcess:
    server = _server(dbname)
    env = {
        **os.environ,
        "PGHOST": str(server["host"]),
        "PGPORT": str(server["port"]),
        "PGUSER": server["user"],
        "PGDATABASE": dbname,
        "WUMA_OWNER_PASSWORD": "owner-pw",
        "WUMA_APP_PASSWORD": "app-pw",
    }
    if server["password"]:
        env["PGPASSWORD"] = server["password"]
    return subprocess.run(
        ["psql", "-X", "-q", "-v", f"owner={owner}", "-v", f"app={app}", "-f", str(INIT_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def scratch_database():
    """An empty database of its own and role names of their own, dropped afterwards."""
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    tag = uuid.uuid4().hex[:10]
    names = {"db": f"test_roles_{tag}", "owner": f"test_owner_{tag}", "app": f"test_app_{tag}"}
    with psycopg.connect(**_server("postgres")) as admin:
        admin.execute(f"CREATE DATABASE {names['db']}")
    yield names
    with psycopg.connect(**_server("postgres")) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {names['db']} WITH (FORCE)")
        admin.execute(f"DROP ROLE IF EXISTS {names['app']}")
        admin.execute(f"DROP ROLE IF EXISTS {names['owner']}")


@pytest.mark.django_db(databases=[])
def test_init_script_makes_an_owner_and_an_app_role_that_cannot_bypass_triggers(
    scratch_database,
):
    names = scratch_database
    owner, app = names["owner"], names["app"]
    done = _init_script(names["db"], owner, app)
    assert done.returncode == 0, done.stderr
    again = _init_script(names["db"], owner, app)  # every `docker compose up` runs it
    assert again.returncode == 0, again.stderr

    with psycopg.connect(**_server(names["db"])) as db:
        roles = dict(
            db.execute(
                "SELECT rolname, (rolsuper, rolcreatedb, rolcreaterole, rolreplication, "
                "rolbypassrls, rolcanlogin)::text FROM pg_roles WHERE rolname IN (%s, %s)",
                [owner, app],
            ).fetchall()
        )
        assert roles == {owner: "(f,f,f,f,f,t)", app: "(f,f,f,f,f,t)"}
        assert db.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone() == (owner,)

        # What a migration does, as the owner: a table with a guard trigger.
        db.execute(f"SET ROLE {owner}")
        db.execute(
            "CREATE TABLE guarded (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "amount numeric(14, 2) NOT NULL)"
        )
        db.execute(
            "CREATE FUNCTION guarded_refuse() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION '% refused', TG_OP; END $$ LANGUAGE plpgsql"
        )
        db.execute(
            "CREATE TRIGGER guarded_refuse BEFORE UPDATE OR DELETE ON guarded "
            "FOR EACH ROW EXECUTE FUNCTION guarded_refuse()"
        )
        db.execute("RESET ROLE")

        db.execute(f"SET ROLE {app}")
        db.execute("INSERT INTO guarded (amount) VALUES (10)")  # default privileges
        assert db.execute("SELECT amount FROM guarded").fetchone()[0] == 10
        for sql, message in [
            ("UPDATE guarded SET amount = 0", "UPDATE refused"),
            ("ALTER TABLE guarded DISABLE TRIGGER ALL", "must be owner"),
            ("SET session_replication_role = replica", "permission denied to set parameter"),
            ("TRUNCATE guarded", "permission denied"),
            ("CREATE TABLE mine (id int)", "permission denied for schema public"),
            (
                "CREATE OR REPLACE FUNCTION guarded_refuse() RETURNS trigger AS $$ BEGIN "
                "RETURN NEW; END $$ LANGUAGE plpgsql",
                "permission denied for schema public",
            ),
        ]:
            with pytest.raises(psycopg.Error, match=message):
                db.execute(sql)
        assert db.execute("SELECT amount FROM guarded").fetchone()[0] == 10
