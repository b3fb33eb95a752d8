"""Fill the payload of outbox records from the ledger, a batch at a time.

Set-based: a batch costs a fixed number of queries (the records with their move or
stocktake line, lot, consumable and user; the receipt lines; the uses with their encounter,
patient, order, charge and unit; the device identifiers), whatever its size. The values
follow the field table of ``insurance_platform.spec`` (``field_errors`` of a prepared
payload is empty when the ledger holds what the specification requires).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models.expressions import RawSQL

from billing.models import Use
from config.business_day import BUSINESS_ZONE, business_day
from consumables.models import DeviceIdentifier
from inventory.models import ReceiptLine

from .. import rules
from ..models import UploadRecord

Txn = UploadRecord.Txn


def prepare(record_ids: Iterable[int]) -> int:
    """Fill ``payload`` of those of ``record_ids`` that have none; return how many."""
    ids = list(record_ids)
    if not ids:
        return 0
    with transaction.atomic():
        records = list(
            UploadRecord.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(pk__in=ids, payload__isnull=True)
            .annotate(inv_chg_type=RawSQL(rules.INV_CHG_TYPE_OF_RECORD, ()))
            .select_related(
                "move__lot",
                "move__consumable",
                "move__user",
                "stocktake_line__lot",
                "stocktake_line__consumable",
                "stocktake_line__stocktake__confirmed_by",
            )
        )
        if not records:
            return 0
        context = _Context(records)
        for record in records:
            record.payload = context.payload(record)
        UploadRecord.objects.bulk_update(records, ["payload"])
    return len(records)


def _time(at: dt.datetime | None) -> str | None:
    return at.astimezone(BUSINESS_ZONE).strftime("%Y-%m-%d %H:%M:%S") if at else None


def _date(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _num(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.000001")))


def _name(user) -> str | None:
    if user is None:
        return None
    full = f"{user.last_name}{user.first_name}".strip()
    return (full or user.get_username())[:50]


class _Context:
    """What a batch of records needs beyond its own rows, read once for the batch."""

    def __init__(self, records: list[UploadRecord]):
        moves = [r.move for r in records if r.move_id]
        lines = [r.stocktake_line for r in records if r.stocktake_line_id]
        consumables = {m.consumable_id for m in moves} | {line.consumable_id for line in lines}
        lots = {m.lot_id for m in moves}
        by_txn: dict[str, list] = {}
        for r in records:
            by_txn.setdefault(r.txn, []).append(r)

        # Receipt lines: a purchase's own; for a purchase return or a stock change, the
        # lot's latest receipt (its supplier, invoice and unit cost).
        purchase_moves = [r.move_id for r in by_txn.get(Txn.PURCHASE, [])]
        self.receipt_of_move: dict[int, ReceiptLine] = {}
        self.receipt_of_lot: dict[int, ReceiptLine] = {}
        if lots:
            rows = (
                ReceiptLine.objects.filter(lot_id__in=lots)
                .select_related("receipt__supplier")
                .order_by("lot_id", "-received_at", "-pk")
            )
            if purchase_moves:
                for line in ReceiptLine.objects.filter(move_id__in=purchase_moves).select_related(
                    "receipt__supplier"
                ):
                    self.receipt_of_move[line.move_id] = line
            if len(by_txn.get(Txn.PURCHASE, [])) != len(records):
                for line in rows.distinct("lot_id"):
                    self.receipt_of_lot[line.lot_id] = line

        # Uses: a sale's own; for a sale return, the use it reverses.
        use_moves = {r.move_id for r in by_txn.get(Txn.SALE, [])}
        use_moves |= {r.move.reverses_id for r in by_txn.get(Txn.SALE_RETURN, [])}
        use_moves.discard(None)
        self.use_of_move: dict[int, Use] = {}
        if use_moves:
            uses = Use.objects.filter(move_id__in=use_moves).select_related(
                "encounter", "tracked_unit__lot", "order", "charge"
            )
            self.use_of_move = {u.move_id: u for u in uses}

        # Device identifiers of the batch's consumables: the package level of a scanned DI,
        # and a consumable's own DI (its smallest unit) for the lot-level code.
        self.di: dict[str, DeviceIdentifier] = {}
        self.base_di: dict[int, DeviceIdentifier] = {}
        if consumables:
            for di in DeviceIdentifier.objects.filter(
                consumable_id__in=consumables, is_active=True
            ).order_by("consumable_id", "units_per_package", "pk"):
                self.di[di.udi_di] = di
                self.base_di.setdefault(di.consumable_id, di)

    # -- the parts ------------------------------------------------------------------
    @staticmethod
    def _item(consumable, lot) -> dict:
        return {
            "med_list_codg": consumable.insurance_code or None,
            "fixmedins_hilist_id": consumable.material_code,
            "fixmedins_hilist_name": consumable.name,
            "fixmedins_bchno": str(lot.pk),
            "rx_flag": "0",
            "manu_lotnum": lot.lot_no or None,
            "manu_date": _date(lot.production_date),
            "expy_end": _date(lot.expiry),
        }

    def _code(self, di: DeviceIdentifier | None, lot, serial: str = "") -> dict | None:
        """The traceability code (the UDI, GS1 human-readable) with its package level."""
        if di is None:
            return {"drug_trac_codg": serial, "trac_pkg_lv": None} if serial else None
        if di.issuer == DeviceIdentifier.Issuer.GS1:
            code = f"(01){di.udi_di}"
            if lot.expiry:
                code += f"(17){lot.expiry:%y%m%d}"
            if lot.lot_no:
                code += f"(10){lot.lot_no}"
            if serial:
                code += f"(21){serial}"
        else:
            code = "/".join(p for p in (di.udi_di, lot.lot_no, serial) if p)
        return {"drug_trac_codg": code, "trac_pkg_lv": di.package_level or None}

    def _lot_codes(self, consumable_id: int, lot) -> list[dict]:
        code = self._code(self.base_di.get(consumable_id), lot)
        return [code] if code else []

    def _use_codes(self, use: Use | None, move) -> tuple[list[dict], str]:
        """The codes of a use (its unit's, else its lot's) and its split flag (拆零: the
        DI scanned is a package of several and the use took part of one)."""
        if use is None:
            return self._lot_codes(move.consumable_id, move.lot), "0"
        charge = getattr(use, "charge", None)
        scanned = self.di.get(charge.udi_di) if charge is not None and charge.udi_di else None
        unit = use.tracked_unit
        if unit is not None:
            di = self.di.get(unit.udi_di) or scanned or self.base_di.get(use.consumable_id)
            code = self._code(di, unit.lot, unit.serial)
            codes = [code] if code else []
        else:
            di = scanned or self.base_di.get(use.consumable_id)
            code = self._code(di, move.lot)
            codes = [code] if code else []
        per = scanned.units_per_package if scanned else 1
        split = "1" if per > 1 and use.quantity % per else "0"
        return codes, split

    def _cost(self, move) -> Decimal | None:
        line = self.receipt_of_move.get(move.pk) or self.receipt_of_lot.get(move.lot_id)
        return line.unit_cost if line else None

    # -- per transaction -------------------------------------------------------------
    def payload(self, record: UploadRecord) -> dict:
        if record.txn == Txn.STOCK_COUNT:
            return self._count(record.stocktake_line)
        move = record.move
        build = {
            Txn.STOCK_CHANGE: self._change,
            Txn.PURCHASE: self._purchase,
            Txn.PURCHASE_RETURN: self._purchase,
            Txn.SALE: self._sale,
            Txn.SALE_RETURN: self._sale,
        }[record.txn]
        payload = build(record, move)
        return {k: v for k, v in payload.items() if v not in (None, "")}

    def _count(self, line) -> dict:
        stocktake = line.stocktake
        payload = self._item(line.consumable, line.lot)
        payload |= {
            "invdate": _date(business_day(stocktake.posted_at or stocktake.opened_at)),
            "inv_cnt": _num(line.counted),
            "memo": f"盘点单 {stocktake.pk}",
        }
        return {k: v for k, v in payload.items() if v not in (None, "")}

    def _change(self, record, move) -> dict:
        payload = self._item(move.consumable, move.lot)
        del payload["manu_date"]
        payload |= {
            "inv_chg_type": record.inv_chg_type,
            "pric": _num(self._cost(move) or 0),
            "cnt": _num(move.quantity),
            "inv_chg_time": _time(move.occurred_at),
            "inv_chg_opter_name": _name(move.user),
            "trdn_flag": "0",
            "memo": move.note or None,
            "drugtracinfo": self._lot_codes(move.consumable_id, move.lot),
        }
        return payload

    def _purchase(self, record, move) -> dict:
        txn = record.txn
        own = self.receipt_of_move.get(move.pk)
        line = own or self.receipt_of_lot.get(move.lot_id)
        receipt = line.receipt if line else None
        supplier = receipt.supplier if receipt else None
        consumable = move.consumable
        payload = self._item(consumable, move.lot)
        payload |= {
            "spler_name": supplier.name if supplier else None,
            "spler_pmtno": supplier.license_no if supplier else None,
            "finl_trns_pric": _num(line.unit_cost) if line else None,
            "purc_retn_cnt": _num(move.quantity),
            "purc_invo_no": receipt.invoice_no if receipt else None,
            "purc_retn_stoin_time": _time(move.occurred_at),
            "purc_retn_opter_name": _name(move.user),
            "memo": move.note or None,
            "drugtracinfo": self._lot_codes(move.consumable_id, move.lot),
        }
        if txn == Txn.PURCHASE:
            payload |= {
                "dynt_no": receipt.invoice_no if receipt else None,
                "prodentp_name": consumable.manufacturer or None,
                "aprvno": consumable.registration_no or None,
            }
        else:
            payload["medins_prod_purc_no"] = str(line.move_id) if line else None
        return payload

    def _sale(self, record, move) -> dict:
        txn = record.txn
        use = self.use_of_move.get(move.pk if txn == Txn.SALE else move.reverses_id)
        codes, split = self._use_codes(use, move)
        encounter = use.encounter if use else None
        charge = getattr(use, "charge", None) if use else None
        payload = self._item(move.consumable, move.lot)
        payload |= {
            "setl_id": encounter.setl_id if encounter else None,
            "mdtrt_sn": (encounter.visit_no if encounter else move.encounter_no)[:30] or None,
            "psn_no": encounter.psn_no if encounter else None,
            "trdn_flag": split,
            "finl_trns_pric": _num(charge.unit_price) if charge is not None else None,
            "sel_retn_cnt": _num(move.quantity),
            "sel_retn_time": _time(move.occurred_at),
            "sel_retn_opter_name": _name(move.user),
            "drugtracinfo": codes,
        }
        if txn == Txn.SALE:
            payload |= {
                "rtal_docno": str(use.pk) if use else str(move.pk),
                "prsc_dr_name": (use.order.doctor or None) if use and use.order else None,
                "rxno": use.order.order_id[:40] if use and use.order else None,
            }
        else:
            payload["medins_prod_sel_no"] = str(move.pk)
        return payload
