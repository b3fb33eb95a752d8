"""Which ledger fact needs which platform transaction: the rules, in SQL, in one place.

The database applies them itself, in the transaction of the fact: a trigger on each new
stock move and one on each stocktake that becomes posted insert the outbox records
(migration 0002). The daily completeness check (``selectors.completeness``) calls the very
same SQL functions over a day's ledger, so the check and the writer cannot disagree.

- a move SUPPLIER -> real location: 3503 purchase (商品采购);
- a move real location -> SUPPLIER: 3504 purchase return (商品采购退货);
- a use (real location -> PATIENT) of a chargeable consumable in an encounter whose
  insurance type is insured: 3505 sale (商品销售); a self-pay encounter's use needs none;
- a return from the patient (PATIENT -> real location) whose use needed 3505 (the same
  consumable, the same encounter: the same test): 3506 sale return (商品销售退货);
- every other move touching a real location (issue, transfer, return to a store, scrap,
  stocktake adjustment): 3502 stock change (库存变更) with its change type
  (``insurance_inv_chg_type``);
- each line of a stocktake when it is posted: 3501 stock count (商品盘存).

The tests (``insured``, ``chargeable``) are read when the fact is written. An encounter's
insurance type changed later makes the daily check report the difference (it reads them
again): that is what it is for.

PostgreSQL only: on SQLite (the quick start) no record is written and the check reports
nothing expected (``outbox_supported``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

ZONE = settings.TIME_ZONE  # the business day of a fact: its date in the hospital's zone

# 库存变更类型 (inv_chg_type), the specification's dictionary.
INV_CHG_TYPES = {
    "101": "调拨入库 / transfer in",
    "102": "调拨出库 / transfer out",
    "103": "盘盈 / stocktake surplus",
    "104": "盘损 / stocktake loss",
    "105": "销毁 / destroyed (scrap)",
    "106": "其他入库 / other in",
    "107": "其他出库 / other out",
}

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION insurance_sale_needed(p_consumable bigint, p_encounter_no varchar)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1
        FROM consumables_consumable c, billing_encounter e, billing_insurancetype t
        WHERE c.id = p_consumable AND c.chargeable
          AND e.visit_no = p_encounter_no
          AND t.name = e.insurance_type AND t.insured
    )
$$;

CREATE OR REPLACE FUNCTION insurance_upload_txn(m inventory_stockmove)
RETURNS varchar LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN fl.usage = 'supplier' AND tl.usage = 'internal' THEN '3503'
        WHEN fl.usage = 'internal' AND tl.usage = 'supplier' THEN '3504'
        WHEN fl.usage = 'internal' AND tl.usage = 'patient' THEN
            CASE WHEN insurance_sale_needed(m.consumable_id, m.encounter_no) THEN '3505' END
        WHEN fl.usage = 'patient' AND tl.usage = 'internal' THEN
            CASE WHEN insurance_sale_needed(m.consumable_id, m.encounter_no) THEN '3506' END
        WHEN fl.usage = 'internal' OR tl.usage = 'internal' THEN '3502'
    END::varchar
    FROM organisation_location fl, organisation_location tl
    WHERE fl.id = m.from_location_id AND tl.id = m.to_location_id
$$;

CREATE OR REPLACE FUNCTION insurance_inv_chg_type(m inventory_stockmove)
RETURNS varchar LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN fl.usage = 'adjustment' THEN '103'
        WHEN tl.usage = 'adjustment' THEN '104'
        WHEN tl.usage = 'scrap' THEN '105'
        WHEN fl.usage = 'internal' AND tl.usage = 'internal' THEN
            CASE WHEN m.kind = 'return' THEN '101' ELSE '102' END
        WHEN tl.usage = 'internal' THEN '106'
        ELSE '107'
    END::varchar
    FROM organisation_location fl, organisation_location tl
    WHERE fl.id = m.from_location_id AND tl.id = m.to_location_id
$$;

CREATE OR REPLACE FUNCTION insurance_business_day(at timestamptz)
RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT (at AT TIME ZONE '{ZONE}')::date
$$;

CREATE OR REPLACE FUNCTION insurance_outbox_move() RETURNS trigger AS $$
DECLARE
    txn varchar := insurance_upload_txn(NEW);
BEGIN
    IF txn IS NOT NULL THEN
        INSERT INTO insurance_platform_uploadrecord (txn, move_id, business_day, occurred_at)
        VALUES (txn, NEW.id, insurance_business_day(NEW.occurred_at), NEW.occurred_at);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION insurance_outbox_stocktake() RETURNS trigger AS $$
DECLARE
    at timestamptz := COALESCE(NEW.posted_at, now());
BEGIN
    INSERT INTO insurance_platform_uploadrecord (txn, stocktake_line_id, business_day, occurred_at)
    SELECT '3501', l.id, insurance_business_day(at), at
    FROM inventory_stocktakeline l WHERE l.stocktake_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGERS = """
CREATE TRIGGER insurance_outbox_move
    AFTER INSERT ON inventory_stockmove
    FOR EACH ROW EXECUTE FUNCTION insurance_outbox_move();
CREATE TRIGGER insurance_outbox_stocktake
    AFTER UPDATE OF status ON inventory_stocktake
    FOR EACH ROW WHEN (NEW.status = 'posted' AND OLD.status IS DISTINCT FROM 'posted')
    EXECUTE FUNCTION insurance_outbox_stocktake();
CREATE TRIGGER insurance_outbox_no_delete
    BEFORE DELETE ON insurance_platform_uploadrecord
    FOR EACH ROW EXECUTE FUNCTION wuma_refuse_change();
CREATE TRIGGER insurance_outbox_no_truncate
    BEFORE TRUNCATE ON insurance_platform_uploadrecord
    FOR EACH STATEMENT EXECUTE FUNCTION wuma_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS insurance_outbox_no_truncate ON insurance_platform_uploadrecord;
DROP TRIGGER IF EXISTS insurance_outbox_no_delete ON insurance_platform_uploadrecord;
DROP TRIGGER IF EXISTS insurance_outbox_stocktake ON inventory_stocktake;
DROP TRIGGER IF EXISTS insurance_outbox_move ON inventory_stockmove;
DROP FUNCTION IF EXISTS insurance_outbox_stocktake();
DROP FUNCTION IF EXISTS insurance_outbox_move();
DROP FUNCTION IF EXISTS insurance_business_day(timestamptz);
DROP FUNCTION IF EXISTS insurance_inv_chg_type(inventory_stockmove);
DROP FUNCTION IF EXISTS insurance_upload_txn(inventory_stockmove);
DROP FUNCTION IF EXISTS insurance_sale_needed(bigint, varchar);
"""

# The facts of a business day that need an upload, by the same functions the triggers call:
# (txn, move_id, stocktake_line_id, occurred_at). Parameters: the day, twice.
EXPECTED_FOR_DAY = f"""
SELECT t.txn, t.id, NULL::bigint, t.occurred_at
FROM (
    SELECT m.id, m.occurred_at, insurance_upload_txn(m) AS txn
    FROM inventory_stockmove m
    WHERE m.occurred_at >= (%s::date::timestamp AT TIME ZONE '{ZONE}')
      AND m.occurred_at < ((%s::date + 1)::timestamp AT TIME ZONE '{ZONE}')
) t
WHERE t.txn IS NOT NULL
UNION ALL
SELECT '3501', NULL::bigint, l.id, s.posted_at
FROM inventory_stocktake s JOIN inventory_stocktakeline l ON l.stocktake_id = s.id
WHERE s.status = 'posted' AND insurance_business_day(s.posted_at) = %s::date
"""

# The change type of an outbox record's move, as an SQL expression on the record's row.
INV_CHG_TYPE_OF_RECORD = (
    "(SELECT insurance_inv_chg_type(m) FROM inventory_stockmove m"
    " WHERE m.id = insurance_platform_uploadrecord.move_id)"
)


def outbox_supported() -> bool:
    """Whether the database writes the outbox (PostgreSQL: the triggers of migration 0002)."""
    return connection.vendor == "postgresql"
