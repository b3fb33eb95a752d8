"""The stock ledger: lots, moves between locations, balances, receipts, tracked units,
recalls, scan events and stocktakes. Departments, locations and suppliers are the
organisation's (``organisation.models``).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from organisation.models import Department, Location, Supplier


class Lot(models.Model):
    """A production lot of a consumable; ``lot_no`` '' stands for 'no lot' (untracked)."""

    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="lots"
    )
    lot_no = models.CharField(_("批号 / lot"), max_length=64, blank=True)
    expiry = models.DateField(_("失效日期 / expiry"), null=True, blank=True)
    production_date = models.DateField(_("生产日期 / production date"), null=True, blank=True)

    class Meta:
        verbose_name = _("批次 / lot")
        verbose_name_plural = _("批次 / lots")
        constraints = [models.UniqueConstraint(fields=["consumable", "lot_no"], name="uniq_lot")]

    def __str__(self):
        return self.lot_no or "-"


class StockMove(models.Model):
    """One immutable movement of stock from a location to a location (the ledger).

    Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0003);
    a correction is a new reversing move. Only ``inventory.ledger`` writes moves.
    """

    class Kind(models.TextChoices):
        RECEIVE = "receive", _("入库 / receive")
        ISSUE = "issue", _("出库 / issue")
        TRANSFER = "transfer", _("调拨 / transfer")
        USE = "use", _("使用 / use")
        RETURN = "return", _("退回 / return")
        SCRAP = "scrap", _("报损 / scrap")
        ADJUST = "adjust", _("盘点调整 / stocktake adjustment")

    kind = models.CharField(max_length=8, choices=Kind)
    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="moves"
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="moves")
    quantity = models.PositiveIntegerField()
    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField(db_index=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    event_id = models.UUIDField(null=True, blank=True, db_index=True)
    # The visit number of a use or a return from a patient (a plain reference: billing owns
    # encounters, and inventory does not depend on billing).
    encounter_no = models.CharField(max_length=64, blank=True, db_index=True)
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("库存流水 / stock move")
        verbose_name_plural = _("库存流水 / stock moves")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="move_quantity_gt0"),
            models.CheckConstraint(
                condition=~models.Q(from_location=models.F("to_location")),
                name="move_between_two_locations",
            ),
        ]
        indexes = [
            models.Index(fields=["consumable", "occurred_at"], name="move_item_time"),
            models.Index(fields=["to_location", "occurred_at"], name="move_to_time"),
            models.Index(fields=["from_location", "occurred_at"], name="move_from_time"),
        ]

    def __str__(self):
        return f"{self.kind} {self.quantity} {self.from_location_id}->{self.to_location_id}"


class StockBalance(models.Model):
    """On-hand quantity per (real location, consumable, lot), kept in step with the moves.

    Never negative (a check constraint); rebuilt from the ledger by ``rebuild_balances``.
    """

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="balances")
    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="balances"
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="balances")
    quantity = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("库存余额 / stock balance")
        verbose_name_plural = _("库存余额 / stock balances")
        constraints = [
            models.UniqueConstraint(fields=["location", "consumable", "lot"], name="uniq_balance"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="balance_never_negative"
            ),
        ]

    def __str__(self):
        return f"{self.location_id}/{self.lot_id}: {self.quantity}"




class Receipt(models.Model):
    """Goods received from a supplier against one invoice (入库单)."""

    class Ownership(models.TextChoices):
        OWNED = "owned", _("医院自有 / hospital-owned")
        CONSIGNMENT = "consignment", _("寄售/跟台 / consignment")

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="receipts")
    invoice_no = models.CharField(_("发票号 / invoice no."), max_length=64)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    ownership = models.CharField(max_length=12, choices=Ownership, default=Ownership.OWNED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("入库单 / receipt")
        verbose_name_plural = _("入库单 / receipts")
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "invoice_no", "department"], name="uniq_receipt_invoice"
            )
        ]

    def __str__(self):
        return f"{self.supplier.code}/{self.invoice_no}"


class ReceiptLine(models.Model):
    """One received scan: what came in at what cost, flagged when the cost is not the
    approved purchase price in force (accepted, reported by reconciliation)."""

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="lines")
    move = models.OneToOneField(StockMove, on_delete=models.PROTECT, related_name="receipt_line")
    consumable = models.ForeignKey("consumables.Consumable", on_delete=models.PROTECT)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4)
    purchase_price = models.DecimalField(max_digits=14, decimal_places=4, null=True)
    price_mismatch = models.BooleanField(default=False)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("入库明细 / receipt line")
        verbose_name_plural = _("入库明细 / receipt lines")

    def __str__(self):
        return f"{self.receipt} {self.consumable_id} ×{self.quantity}"


class TrackedUnit(models.Model):
    """One physical unit of an item tracked one-item-one-code (一物一码).

    Identified by DI + serial, or by its in-hospital label when it has no serial of its own.
    ``location`` is where it is now (None once it has left: used, scrapped, returned).
    """

    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="units"
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="units")
    serial = models.CharField(_("序列号 / serial"), max_length=64)
    udi_di = models.CharField(max_length=80, blank=True)
    hospital_label = models.OneToOneField(
        "consumables.HospitalLabel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="unit",
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="units"
    )
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("单件 / tracked unit")
        verbose_name_plural = _("单件 / tracked units")
        constraints = [
            models.UniqueConstraint(fields=["consumable", "serial"], name="uniq_unit_serial")
        ]

    def __str__(self):
        return f"{self.consumable_id}:{self.serial}"


class Recall(models.Model):
    """A recall (召回) of a DI's lots: from registration on, those units are refused."""

    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="recalls"
    )
    udi_di = models.CharField(max_length=80, blank=True)
    lot_no = models.CharField(
        _("批号 / lot"), max_length=64, blank=True, help_text=_("空表示全部批次 / empty: all lots")
    )
    reason = models.CharField(_("原因 / reason"), max_length=500)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("召回 / recall")
        verbose_name_plural = _("召回 / recalls")
        indexes = [models.Index(fields=["consumable", "lot_no"], name="recall_lookup")]

    def __str__(self):
        return f"{self.consumable_id} {self.lot_no or '*'}"


class ScanEvent(models.Model):
    """The idempotency record of a write from a scanner or another system (invariant 2).

    Inserted last in the write's transaction, with its answer (``services/idempotency``):
    of two writes with one ``event_id`` the first to commit is the write, the other rolls
    back and replays the stored answer. Refusals are not stored (nothing recorded).
    """

    event_id = models.UUIDField(unique=True)
    action = models.CharField(max_length=16)
    fingerprint = models.CharField(max_length=64)
    response = models.JSONField(default=dict)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("扫码事件 / scan event")
        verbose_name_plural = _("扫码事件 / scan events")

    def __str__(self):
        return f"{self.action} {self.event_id}"


class Stocktake(models.Model):
    """A count (盘点) of one department's location, confirmed by a second person.

    ``expected`` on each line is the book quantity when the count was opened (a snapshot);
    the adjustment posted on confirmation brings the book to the counted quantity as it
    stands at posting time, and the confirmer is shown (and must accept) any drift.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("盘点中 / counting")
        SUBMITTED = "submitted", _("待复核 / awaiting confirmation")
        POSTED = "posted", _("已过账 / posted")
        CANCELLED = "cancelled", _("已取消 / cancelled")

    LIVE = (Status.OPEN, Status.SUBMITTED)

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="stocktakes"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stocktakes")
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("盘点人 / counted by"),
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("复核人 / confirmed by"),
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    drift_accepted = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("盘点单 / stocktake")
        verbose_name_plural = _("盘点单 / stocktakes")
        ordering = ["-opened_at"]
        constraints = [
            # Two-person rule (盘点复核): a posted count was confirmed by someone else.
            models.CheckConstraint(
                condition=~models.Q(status="posted")
                | (
                    models.Q(confirmed_by__isnull=False)
                    & ~models.Q(confirmed_by=models.F("counted_by"))
                ),
                name="stocktake_confirmed_by_another",
            ),
            # Two live counts of one location would adjust the same stock twice.
            models.UniqueConstraint(
                fields=["location"],
                condition=models.Q(status__in=["open", "submitted"]),
                name="one_live_stocktake_per_location",
            ),
        ]

    def __str__(self):
        return f"盘点 #{self.pk} {self.location_id} {self.status}"


class StocktakeLine(models.Model):
    """Counted vs expected for one lot of one consumable in a stocktake.

    ``on_hand_at_post`` and ``adjusted`` record what the book said when the count was
    posted and the adjustment that was posted (``counted - on_hand_at_post``).
    """

    stocktake = models.ForeignKey(Stocktake, on_delete=models.PROTECT, related_name="lines")
    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(_("账面数 / expected"), default=0)
    counted = models.IntegerField(_("实盘数 / counted"), default=0)
    on_hand_at_post = models.IntegerField(null=True, blank=True)
    adjusted = models.IntegerField(null=True, blank=True)
    reason = models.CharField(_("差异原因 / reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("盘点明细 / stocktake line")
        verbose_name_plural = _("盘点明细 / stocktake lines")
        constraints = [
            models.UniqueConstraint(fields=["stocktake", "lot"], name="uniq_stocktake_lot"),
            models.CheckConstraint(
                condition=models.Q(expected__gte=0, counted__gte=0),
                name="stocktake_line_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.stocktake_id}/{self.lot_id}: {self.counted}/{self.expected}"

    @property
    def difference(self) -> int:
        return self.counted - self.expected


class StocktakeEntry(models.Model):
    """Who counted what (the audit trail of a count): one scan, one correction, or one
    tracked unit found missing when the count was posted."""

    class Kind(models.TextChoices):
        SCAN = "scan", _("扫码 / scan")
        CORRECTION = "correction", _("更正 / correction")
        MISSING = "missing", _("盘亏单件 / unit missing")

    stocktake = models.ForeignKey(Stocktake, on_delete=models.PROTECT, related_name="entries")
    line = models.ForeignKey(StocktakeLine, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.SCAN)
    quantity = models.IntegerField()
    unit = models.ForeignKey(
        TrackedUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Where the ledger had a counted unit when it was scanned, if not here (or None).
    unit_was_at = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    code = models.CharField(max_length=1024, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("盘点记录 / stocktake entry")
        verbose_name_plural = _("盘点记录 / stocktake entries")
        constraints = [
            models.UniqueConstraint(
                fields=["stocktake", "unit"],
                condition=models.Q(unit__isnull=False),
                name="unit_counted_once_per_stocktake",
            )
        ]

    def __str__(self):
        return f"{self.stocktake_id} {self.kind} {self.quantity}"
