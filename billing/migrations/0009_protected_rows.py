"""Money rows protected by PostgreSQL itself (issue 13), as the stock moves are.

Per table, what the code legitimately writes decides the rule:

- ``billing_chargerefund``: truly append-only. A refund is a new row and is never edited
  (``services/charges.refund_quantity`` only inserts); UPDATE, DELETE and TRUNCATE are
  refused.
- ``billing_use`` and ``billing_chargeline``: each carries a running counter and a
  uniqueness holder that the return and refund paths move in place, in the same
  transaction as their new rows (the return move, the ``ChargeRefund``):
  ``returned_quantity`` / ``refunded_quantity`` is what the reconciliation and the
  pre-audit sum, and ``active_unit`` is what makes "a unit is used / charged at most once"
  a unique constraint (invariant 3). Moving those to separate rows would rewrite the
  reconciliation's and the rules' set-based SQL and lose the constraint, so they stay, but
  only in their one legal direction:

  * the counter only grows, never above ``quantity`` (the check constraint says the same);
  * ``active_unit`` only becomes NULL, and only when the use is wholly returned / the charge
    wholly refunded (the unit is freed when nothing of it stands any more);
  * every other column is a fact (encounter, consumable, lot, move, order, department,
    quantity, the five codes, prices, amount, price version, self-pay, source, times,
    user, event id, warnings) and never changes. The trigger compares the whole row less
    the two lifecycle columns, so a column added later is a fact by default.

  DELETE and TRUNCATE are refused.

TRUNCATE needs a statement-level trigger; the test suite's flush passes it with
``SET LOCAL session_replication_role = replica`` (see inventory 0006, whose
``wuma_refuse_change()`` this reuses). Nothing here runs on SQLite (the quick start).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION billing_use_lifecycle_only() RETURNS trigger AS $$
BEGIN
    IF (to_jsonb(NEW) - ARRAY['returned_quantity', 'active_unit_id'])
        IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['returned_quantity', 'active_unit_id']) THEN
        RAISE EXCEPTION 'UPDATE refused on billing_use: only returned_quantity and '
            'active_unit_id change' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.returned_quantity < OLD.returned_quantity
        OR NEW.returned_quantity > NEW.quantity THEN
        RAISE EXCEPTION 'UPDATE refused on billing_use: returned_quantity only grows, up to '
            'quantity' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.active_unit_id IS DISTINCT FROM OLD.active_unit_id
        AND (NEW.active_unit_id IS NOT NULL OR NEW.returned_quantity < NEW.quantity) THEN
        RAISE EXCEPTION 'UPDATE refused on billing_use: active_unit_id is only cleared, when '
            'the use is wholly returned' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER billing_use_lifecycle_only
    BEFORE UPDATE ON billing_use
    FOR EACH ROW EXECUTE FUNCTION billing_use_lifecycle_only();
CREATE TRIGGER billing_use_no_delete
    BEFORE DELETE ON billing_use
    FOR EACH ROW EXECUTE FUNCTION wuma_refuse_change();
CREATE TRIGGER billing_use_no_truncate
    BEFORE TRUNCATE ON billing_use
    FOR EACH STATEMENT EXECUTE FUNCTION wuma_refuse_change();

CREATE OR REPLACE FUNCTION billing_chargeline_lifecycle_only() RETURNS trigger AS $$
BEGIN
    IF (to_jsonb(NEW) - ARRAY['refunded_quantity', 'active_unit_id'])
        IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['refunded_quantity', 'active_unit_id']) THEN
        RAISE EXCEPTION 'UPDATE refused on billing_chargeline: only refunded_quantity and '
            'active_unit_id change' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.refunded_quantity < OLD.refunded_quantity
        OR NEW.refunded_quantity > NEW.quantity THEN
        RAISE EXCEPTION 'UPDATE refused on billing_chargeline: refunded_quantity only grows, '
            'up to quantity' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.active_unit_id IS DISTINCT FROM OLD.active_unit_id
        AND (NEW.active_unit_id IS NOT NULL OR NEW.refunded_quantity < NEW.quantity) THEN
        RAISE EXCEPTION 'UPDATE refused on billing_chargeline: active_unit_id is only cleared, '
            'when the charge is wholly refunded' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER billing_chargeline_lifecycle_only
    BEFORE UPDATE ON billing_chargeline
    FOR EACH ROW EXECUTE FUNCTION billing_chargeline_lifecycle_only();
CREATE TRIGGER billing_chargeline_no_delete
    BEFORE DELETE ON billing_chargeline
    FOR EACH ROW EXECUTE FUNCTION wuma_refuse_change();
CREATE TRIGGER billing_chargeline_no_truncate
    BEFORE TRUNCATE ON billing_chargeline
    FOR EACH STATEMENT EXECUTE FUNCTION wuma_refuse_change();

CREATE TRIGGER billing_chargerefund_append_only
    BEFORE UPDATE OR DELETE ON billing_chargerefund
    FOR EACH ROW EXECUTE FUNCTION wuma_refuse_change();
CREATE TRIGGER billing_chargerefund_no_truncate
    BEFORE TRUNCATE ON billing_chargerefund
    FOR EACH STATEMENT EXECUTE FUNCTION wuma_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS billing_chargerefund_no_truncate ON billing_chargerefund;
DROP TRIGGER IF EXISTS billing_chargerefund_append_only ON billing_chargerefund;
DROP TRIGGER IF EXISTS billing_chargeline_no_truncate ON billing_chargeline;
DROP TRIGGER IF EXISTS billing_chargeline_no_delete ON billing_chargeline;
DROP TRIGGER IF EXISTS billing_chargeline_lifecycle_only ON billing_chargeline;
DROP FUNCTION IF EXISTS billing_chargeline_lifecycle_only();
DROP TRIGGER IF EXISTS billing_use_no_truncate ON billing_use;
DROP TRIGGER IF EXISTS billing_use_no_delete ON billing_use;
DROP TRIGGER IF EXISTS billing_use_lifecycle_only ON billing_use;
DROP FUNCTION IF EXISTS billing_use_lifecycle_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_encounter_history"),
        ("inventory", "0006_protected_rows"),
    ]

    operations = [migrations.RunPython(forward, backward)]
