"""Invariants 1 and 2 at the database level, beyond the stock moves (issue 13).

On PostgreSQL, whoever connects (the app's role, an administrator at psql, a superuser
unless it first turns triggers off, which the app's role cannot: see the README's
Security section), these rows are history and the database itself refuses to rewrite them:

- ``inventory_stockmove``: UPDATE and DELETE were refused already (0003); TRUNCATE now too.
- ``inventory_receipt``, ``inventory_receiptline``: truly append-only. The code only ever
  inserts them (``get_or_create`` of the receipt, ``create`` of each line); goods received
  by mistake go back by new moves (a return to the supplier), as the ledger is corrected.
  UPDATE, DELETE and TRUNCATE are refused.
- ``inventory_scanevent``: the idempotency record is inserted first in the write's
  transaction with an empty answer and gets the answer at the end of the same
  transaction (``services/idempotency.run_once``): splitting it in two rows would make a
  concurrent duplicate wait on one row and read another. So one UPDATE stays legal: the
  answer (``response``), written once, from empty (``{}``) to filled. Every other column
  (event id, action, fingerprint, user, time) is a fact and never changes; an answer
  once written never changes; DELETE and TRUNCATE are refused.

TRUNCATE is refused by a statement-level BEFORE TRUNCATE trigger (a row trigger never sees
it), which also fires when the table is reached by ``TRUNCATE ... CASCADE``. The test
suite's flush between transactional tests truncates every table: it does so with
``SET LOCAL session_replication_role = replica`` (tests/conftest.py), under which ordinary
triggers do not fire. Only a superuser (or a role granted SET on that parameter, which the
app's role is not) may set it.

``wuma_refuse_change()`` is shared with billing's protected rows (billing 0009).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION wuma_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% refused on %: these rows are history, a correction is a new row',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inventory_stockmove_no_truncate
    BEFORE TRUNCATE ON inventory_stockmove
    FOR EACH STATEMENT EXECUTE FUNCTION wuma_refuse_change();

CREATE TRIGGER inventory_receipt_append_only
    BEFORE UPDATE OR DELETE ON inventory_receipt
    FOR EACH ROW EXECUTE FUNCTION wuma_refuse_change();
CREATE TRIGGER inventory_receipt_no_truncate
    BEFORE TRUNCATE ON inventory_receipt
    FOR EACH STATEMENT EXECUTE FUNCTION wuma_refuse_change();

CREATE TRIGGER inventory_receiptline_append_only
    BEFORE UPDATE OR DELETE ON inventory_receiptline
    FOR EACH ROW EXECUTE FUNCTION wuma_refuse_change();
CREATE TRIGGER inventory_receiptline_no_truncate
    BEFORE TRUNCATE ON inventory_receiptline
    FOR EACH STATEMENT EXECUTE FUNCTION wuma_refuse_change();

CREATE OR REPLACE FUNCTION inventory_scanevent_answer_once() RETURNS trigger AS $$
BEGIN
    IF (to_jsonb(NEW) - 'response') IS DISTINCT FROM (to_jsonb(OLD) - 'response') THEN
        RAISE EXCEPTION 'UPDATE refused on inventory_scanevent: only its answer is written'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.response IS DISTINCT FROM '{}'::jsonb THEN
        RAISE EXCEPTION 'UPDATE refused on inventory_scanevent: its answer is written once'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER inventory_scanevent_answer_once
    BEFORE UPDATE ON inventory_scanevent
    FOR EACH ROW EXECUTE FUNCTION inventory_scanevent_answer_once();
CREATE TRIGGER inventory_scanevent_no_delete
    BEFORE DELETE ON inventory_scanevent
    FOR EACH ROW EXECUTE FUNCTION wuma_refuse_change();
CREATE TRIGGER inventory_scanevent_no_truncate
    BEFORE TRUNCATE ON inventory_scanevent
    FOR EACH STATEMENT EXECUTE FUNCTION wuma_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS inventory_scanevent_no_truncate ON inventory_scanevent;
DROP TRIGGER IF EXISTS inventory_scanevent_no_delete ON inventory_scanevent;
DROP TRIGGER IF EXISTS inventory_scanevent_answer_once ON inventory_scanevent;
DROP FUNCTION IF EXISTS inventory_scanevent_answer_once();
DROP TRIGGER IF EXISTS inventory_receiptline_no_truncate ON inventory_receiptline;
DROP TRIGGER IF EXISTS inventory_receiptline_append_only ON inventory_receiptline;
DROP TRIGGER IF EXISTS inventory_receipt_no_truncate ON inventory_receipt;
DROP TRIGGER IF EXISTS inventory_receipt_append_only ON inventory_receipt;
DROP TRIGGER IF EXISTS inventory_stockmove_no_truncate ON inventory_stockmove;
DROP FUNCTION IF EXISTS wuma_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0005_stocktake")]

    operations = [migrations.RunPython(forward, backward)]
