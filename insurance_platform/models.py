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
