"""The outbox of platform transactions (one record per ledger fact that must be uploaded)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class UploadRecord(models.Model):
    """One transaction for the national platform, derived from one ledger fact.

    Written by the database in the same transaction as the fact it comes from (the
    triggers of migration 0002), so a committed move always has its record and a rolled
    back one never does. ``payload`` is built from the (immutable) ledger when the record
    is prepared for sending; ``status`` and the platform's answer are the only things that
    change afterwards.
    """

    class Txn(models.TextChoices):
        STOCK_COUNT = "3501", _("商品盘存 / stock count")
        STOCK_CHANGE = "3502", _("库存变更 / stock change")
        PURCHASE = "3503", _("商品采购 / purchase")
        PURCHASE_RETURN = "3504", _("商品采购退货 / purchase return")
        SALE = "3505", _("商品销售 / sale")
        SALE_RETURN = "3506", _("商品销售退货 / sale return")

    class Status(models.TextChoices):
        PENDING = "pending", _("待上传 / pending")
        SENT = "sent", _("已发送 / sent")
        ACCEPTED = "accepted", _("已接收 / accepted")
        FAILED = "failed", _("失败 / failed")

    txn = models.CharField(_("交易 / transaction"), max_length=4, choices=Txn)
    # The ledger fact: a stock move (3502-3506) or a line of a posted stocktake (3501).
    move = models.OneToOneField(
        "inventory.StockMove",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="upload",
    )
    stocktake_line = models.OneToOneField(
        "inventory.StocktakeLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="upload",
    )
    business_day = models.DateField(_("业务日 / business day"), db_index=True)
    occurred_at = models.DateTimeField(_("发生时间 / occurred at"))
    status = models.CharField(
        _("状态 / status"),
        max_length=10,
        choices=Status,
        default=Status.PENDING,
        db_default=Status.PENDING,
    )
    payload = models.JSONField(_("报文 / payload"), null=True, blank=True)
    error_code = models.CharField(max_length=32, blank=True, default="", db_default="")
    error = models.TextField(
        _("平台信息 / platform message"), blank=True, default="", db_default=""
    )
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    # The last person who sent a failed record again (the insurance office's resend).
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("重新上传人 / resent by"),
    )
    resent_at = models.DateTimeField(_("重新上传时间 / resent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("医保平台上传 / platform upload")
        verbose_name_plural = _("医保平台上传 / platform uploads")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(move__isnull=False, stocktake_line__isnull=True)
                    | models.Q(move__isnull=True, stocktake_line__isnull=False)
                ),
                name="upload_one_ledger_fact",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="upload_due"),
            models.Index(fields=["business_day", "txn", "status"], name="upload_day"),
        ]

    def __str__(self):
        return f"{self.txn} #{self.pk} {self.status}"


class DenialImport(models.Model):
    """One file of denials (拒付明细) from the insurance centre, imported once."""

    file_name = models.CharField(_("文件 / file"), max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)  # the same file twice: refused
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(_("导入时间 / imported at"), auto_now_add=True)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("拒付导入 / denial import")
        verbose_name_plural = _("拒付导入 / denial imports")

    def __str__(self):
        return self.file_name


class Denial(models.Model):
    """One denied item (拒付): the insurance centre refused to pay ``amount`` of an item of a
    settlement, for ``reason``. Matched when imported to the encounter, its charge lines of
    that item and our own findings on them: ``found`` says whether we had found it first."""

    batch = models.ForeignKey(DenialImport, on_delete=models.PROTECT, related_name="denials")
    line = models.PositiveIntegerField(_("行号 / line"))
    setl_id = models.CharField(_("结算ID / settlement id"), max_length=30, blank=True)
    visit_no = models.CharField(_("住院号 / visit no."), max_length=64, blank=True)
    item_code = models.CharField(_("项目编码 / item code"), max_length=64)
    amount = models.DecimalField(_("拒付金额 / amount"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("拒付原因 / reason"), max_length=500)
    month = models.DateField(_("月份 / month"))  # the first day of the denial's month
    # What it matched (empty: unmatched, ``unmatched`` says why).
    encounter = models.ForeignKey(
        "billing.Encounter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    department = models.ForeignKey(
        "organisation.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    material_code = models.CharField(_("物资编码 / material code"), max_length=64, blank=True)
    charge_ids = models.JSONField(default=list)  # the charge lines of that item
    found_kinds = models.JSONField(default=list)  # our findings on them before the denial
    unmatched = models.CharField(_("未匹配原因 / why unmatched"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("拒付 / denial")
        verbose_name_plural = _("拒付 / denials")
        constraints = [
            models.UniqueConstraint(fields=["batch", "line"], name="denial_one_per_line"),
        ]
        indexes = [models.Index(fields=["month", "department"], name="denial_month_dept")]

    def __str__(self):
        return f"{self.visit_no or self.setl_id} {self.item_code} {self.amount}"

    @property
    def found(self) -> bool:
        return bool(self.found_kinds)
