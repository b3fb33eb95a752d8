"""Supplier products and submissions.

Suppliers are the organisation's (``organisation.Supplier``); a supplier product refers to
its supplier by the supplier's code (a foreign key to ``Supplier.code``), and a user's
suppliers are found by ``organisation.selectors.supplier_codes_for``.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from consumables.models.master import Consumable, DeviceIdentifier

from ..reviews.models import Reviewed, decider_not_proposer


class SupplierProduct(models.Model):
    """The hospital buys ``consumable`` from ``supplier``: the supplier sees this item, and
    only its own items, and may submit codes for it."""

    # The column holds the supplier's code (``supplier_id`` is the code, as it was).
    supplier = models.ForeignKey(
        "organisation.Supplier", on_delete=models.PROTECT, to_field="code",
        db_column="supplier_code", db_index=False, related_name="products",
        verbose_name=_("供应商 / supplier"),
    )  # fmt: skip
    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="supplier_products",
        verbose_name=_("耗材 / consumable"),
    )
    supplier_item_code = models.CharField(
        _("供应商货号 / supplier item code"), max_length=64, blank=True
    )
    is_active = models.BooleanField(_("在用 / active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("供应商供货品种 / supplier product")
        verbose_name_plural = _("供应商供货品种 / supplier products")
        ordering = ["supplier_id", "consumable__material_code"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "consumable"], name="uniq_supplier_product")
        ]
        indexes = [models.Index(fields=["supplier"], name="supplier_product_code_idx")]

    def __str__(self):
        return f"{self.supplier_id} {self.consumable_id}"

    @property
    def supplier_code(self) -> str:
        return self.supplier_id


class SupplierSubmission(Reviewed):
    """What a supplier says an item's insurance code, UDI-DIs, registration number and
    insurance class (with its payment restriction) are.

    Reviewed by the hospital: approval links the codes into the live master, rejection
    returns it with a reason (the supplier then submits again).
    """

    class Status(models.TextChoices):
        # A supplier's proposal is "submitted": the word the supplier API publishes.
        PROPOSED = "submitted", _("待审核 / awaiting review")
        APPROVED = "approved", _("已通过 / approved")
        REJECTED = "rejected", _("已退回 / returned")

    supplier_code = models.CharField(_("供应商编码 / supplier code"), max_length=32)
    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="supplier_submissions",
        verbose_name=_("耗材 / consumable"),
    )
    insurance_code = models.CharField(
        _("医保耗材编码 / insurance code"), max_length=27, null=True, blank=True
    )
    registration_no = models.CharField(_("注册证号 / registration no."), max_length=100)
    # The item's insurance class and 限定支付 condition as the supplier states them; an empty
    # class means "not stated" (approval leaves the master's as it is).
    insurance_class = models.CharField(
        _("医保支付类别 / insurance class"), max_length=10,
        choices=Consumable.InsuranceClass, blank=True,
    )  # fmt: skip
    restriction = models.CharField(_("限定支付条件 / payment restriction"), max_length=300,
                                   blank=True)  # fmt: skip
    status = models.CharField(
        _("状态 / status"), max_length=10, choices=Status, default=Status.PROPOSED
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("供应商提交 / supplier submission")
        verbose_name_plural = _("供应商提交 / supplier submissions")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            # One submission of an item by a supplier awaits review at a time.
            models.UniqueConstraint(
                fields=["supplier_code", "consumable"],
                condition=Q(status="submitted"),
                name="uniq_open_submission",
            ),
            decider_not_proposer("supplier_submission"),
        ]
        indexes = [
            models.Index(fields=["supplier_code", "-proposed_at"], name="submission_supplier_idx"),
            models.Index(fields=["status", "-proposed_at"], name="submission_status_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.supplier_code} {self.consumable_id} {self.status}"


class SubmissionDI(models.Model):
    """One package level of a submission: its UDI-DI and the smallest units it holds."""

    submission = models.ForeignKey(
        SupplierSubmission, on_delete=models.CASCADE, related_name="dis"
    )
    udi_di = models.CharField("UDI-DI", max_length=80)
    issuer = models.CharField(
        _("发码机构 / issuer"), max_length=4, choices=DeviceIdentifier.Issuer
    )
    units_per_package = models.PositiveIntegerField(
        _("包装内最小单位数 / units per package"), default=1, validators=[MinValueValidator(1)]
    )
    package_level = models.CharField(_("包装层级 / package level"), max_length=40, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("提交的 UDI-DI / submitted DI")
        verbose_name_plural = _("提交的 UDI-DI / submitted DIs")
        ordering = ["units_per_package", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "udi_di"], name="uniq_submission_di"),
            models.CheckConstraint(
                condition=Q(units_per_package__gte=1), name="submission_units_positive"
            ),
        ]

    def __str__(self):
        return f"{self.udi_di} ×{self.units_per_package}"
