"""The consumable master: five codes in one, package levels, and the four prices."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from consumables.codes import is_valid_hospital_code, is_valid_insurance_code
from consumables.insurance import insurance_terms_problem
from consumables.reviews.models import Reviewed, ReviewStatus, decider_not_proposer


class Consumable(models.Model):
    """One consumable at its smallest unit, with its hospital codes (物资/计费/医嘱/医保编码)."""

    class ValueClass(models.TextChoices):
        HIGH = "high", _("高值 / high value")
        LOW = "low", _("低值 / low value")

    class Tracking(models.TextChoices):
        UNIT = "unit", _("一物一码 / per unit")
        LOT = "lot", _("按批号 / per lot")
        NONE = "none", _("不追踪 / none")

    class BilledBy(models.TextChoices):
        SCAN = "scan", _("扫码计费 / billed by scan")
        HIS = "his", _("HIS 录入计费 / keyed in at HIS")

    class InsuranceClass(models.TextChoices):
        COVERED = "covered", _("医保支付 / covered")
        RESTRICTED = "restricted", _("限定支付 / restricted")
        SELF_PAY = "self_pay", _("自费 / self-pay")

    material_code = models.CharField(_("物资编码 / material code"), max_length=64, unique=True)
    name = models.CharField(_("名称 / name"), max_length=200)
    spec = models.CharField(_("规格型号 / specification"), max_length=200, blank=True)
    unit = models.CharField(_("最小单位 / unit"), max_length=20, default="个")
    manufacturer = models.CharField(_("生产企业 / manufacturer"), max_length=200, blank=True)
    registration_no = models.CharField(_("注册证号 / registration no."), max_length=100, blank=True)
    category = models.CharField(_("类别 / category"), max_length=100, blank=True)
    value_class = models.CharField(
        _("价值类别 / value class"), max_length=4, choices=ValueClass, default=ValueClass.LOW
    )
    tracking = models.CharField(
        _("追踪方式 / tracking"), max_length=4, choices=Tracking, default=Tracking.NONE
    )
    chargeable = models.BooleanField(_("可收费 / chargeable"), default=True)
    billed_by = models.CharField(
        _("计费方式 / billed by"), max_length=4, choices=BilledBy, default=BilledBy.HIS
    )
    charge_code = models.CharField(
        _("计费编码 / charge code"), max_length=64, null=True, blank=True
    )
    order_code = models.CharField(_("医嘱编码 / order code"), max_length=64, null=True, blank=True)
    insurance_code = models.CharField(
        _("医保耗材编码 / insurance code"), max_length=27, null=True, blank=True
    )
    insurance_class = models.CharField(
        _("医保支付类别 / insurance class"), max_length=10, choices=InsuranceClass,
        default=InsuranceClass.COVERED,
    )
    insurance_restriction = models.CharField(
        _("限定支付条件 / payment restriction"), max_length=300, blank=True
    )
    is_active = models.BooleanField(_("在用 / active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("耗材 / consumable")
        verbose_name_plural = _("耗材 / consumables")
        ordering = ["material_code"]
        constraints = [
            # Five codes in one: among live consumables each hospital code names one item.
            models.UniqueConstraint(
                fields=["charge_code"],
                condition=Q(is_active=True, charge_code__isnull=False),
                name="uniq_live_charge_code",
            ),
            models.UniqueConstraint(
                fields=["order_code"],
                condition=Q(is_active=True, order_code__isnull=False),
                name="uniq_live_order_code",
            ),
            models.UniqueConstraint(
                fields=["insurance_code"],
                condition=Q(is_active=True, insurance_code__isnull=False),
                name="uniq_live_insurance_code",
            ),
            models.CheckConstraint(
                condition=~Q(charge_code="") & ~Q(order_code="") & ~Q(insurance_code=""),
                name="codes_null_not_empty",
            ),
        ]
        indexes = [
            models.Index(fields=["charge_code"], name="consumable_charge_code_idx"),
            models.Index(fields=["order_code"], name="consumable_order_code_idx"),
            models.Index(fields=["insurance_code"], name="consumable_ins_code_idx"),
        ]

    def __str__(self):
        return f"{self.material_code} {self.name} {self.spec}".strip()

    def clean(self):
        errors = {}
        for field in ("material_code", "charge_code", "order_code"):
            value = getattr(self, field)
            if value and not is_valid_hospital_code(value):
                errors[field] = (
                    _("编码只能包含字母、数字和 . _ - / / letters, digits and . _ - / only")
                )
        if self.insurance_code and not is_valid_insurance_code(self.insurance_code):
            errors["insurance_code"] = (
                _("医保耗材编码应为 C 加 19 位数字（或 27 位）/ "
                "insurance code must be C + 19 digits (or the 27-character form)")
            )
        problem = insurance_terms_problem(self.insurance_class, self.insurance_restriction)
        if problem is not None:
            errors[problem.field] = problem.text()
        if errors:
            raise ValidationError(errors)


class DeviceIdentifier(models.Model):
    """A UDI-DI of one package level of a consumable (最小销售单元, 中包装, 箱...)."""

    class Issuer(models.TextChoices):
        GS1 = "gs1", "GS1"
        MA = "ma", "MA (IDcode)"
        AHM = "ahm", _("AHM (阿里健康)")
        HIBC = "hibc", "HIBC"

    consumable = models.ForeignKey(
        Consumable, on_delete=models.PROTECT, related_name="device_identifiers"
    )
    udi_di = models.CharField("UDI-DI", max_length=80)
    issuer = models.CharField(_("发码机构 / issuer"), max_length=4, choices=Issuer)
    units_per_package = models.PositiveIntegerField(
        _("包装内最小单位数 / units per package"), default=1, validators=[MinValueValidator(1)]
    )
    package_level = models.CharField(_("包装层级 / package level"), max_length=40, blank=True)
    is_active = models.BooleanField(_("在用 / active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("UDI-DI（包装层级）/ device identifier")
        verbose_name_plural = _("UDI-DI（包装层级）/ device identifiers")
        constraints = [
            models.UniqueConstraint(
                fields=["udi_di"], condition=Q(is_active=True), name="uniq_live_udi_di"
            ),
            models.CheckConstraint(
                condition=Q(units_per_package__gte=1), name="units_per_package_positive"
            ),
        ]
        indexes = [models.Index(fields=["udi_di"], name="di_udi_di_idx")]

    def __str__(self):
        return f"{self.udi_di} ×{self.units_per_package}"


class ExternalPrice(models.Model):
    """A price published by the provincial platform: 挂网价 or 集采价, from a date on.

    A VBP row with an empty price ends the item's volume-procurement programme.
    """

    class Kind(models.TextChoices):
        PLATFORM = "platform", _("挂网价 / platform price")
        VBP = "vbp", _("集采价 / volume-procurement price")

    consumable = models.ForeignKey(
        Consumable, on_delete=models.PROTECT, related_name="external_prices"
    )
    kind = models.CharField(_("类型 / kind"), max_length=8, choices=Kind)
    price = models.DecimalField(
        _("价格 / price"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    effective_from = models.DateTimeField(_("生效时间 / effective from"))
    source = models.CharField(_("来源 / source"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("平台价格 / platform price")
        verbose_name_plural = _("平台价格 / platform prices")
        constraints = [
            models.UniqueConstraint(
                fields=["consumable", "kind", "effective_from"], name="uniq_external_price"
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="external_price_gte0"
            ),
            models.CheckConstraint(
                condition=Q(kind="vbp") | Q(price__isnull=False),
                name="platform_price_not_null",
            ),
        ]
        indexes = [
            models.Index(
                fields=["consumable", "kind", "-effective_from"], name="external_price_lookup"
            )
        ]

    def __str__(self):
        return f"{self.consumable_id} {self.kind} {self.price} @{self.effective_from:%Y-%m-%d}"


class PriceVersion(Reviewed):
    """The hospital's purchase (采购价) and charge (收费价) prices, effective once approved.

    Invariant 6: an approved version satisfied the four-price rule when approved, and its
    approver is not its proposer (a check constraint, not only code). The versions loaded
    as a consumable's first prices by ``import_master`` have origin ``initial_load``: approved
    by the load, with no decider.
    """

    class Origin(models.TextChoices):
        PROPOSAL = "proposal", _("调价申请 / proposal")
        INITIAL_LOAD = "initial_load", _("初始导入 / initial load")

    consumable = models.ForeignKey(
        Consumable, on_delete=models.PROTECT, related_name="price_versions"
    )
    purchase_price = models.DecimalField(
        _("采购价 / purchase price"), max_digits=14, decimal_places=4
    )
    # None only for an item that is not separately chargeable (chargeable = False): its cost
    # is included in a procedure fee, so it has a purchase price and no charge price.
    charge_price = models.DecimalField(
        _("收费价 / charge price"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    effective_from = models.DateTimeField(_("生效时间 / effective from"))
    requested_effective_from = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=12, choices=Origin, default=Origin.PROPOSAL)
    reason = models.CharField(_("调整原因 / reason"), max_length=500, blank=True)
    # An initial load may name no proposer.
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name=_("申请人 / proposed by"),
    )  # fmt: skip
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("价格版本 / price version")
        verbose_name_plural = _("价格版本 / price versions")
        constraints = [
            models.CheckConstraint(
                condition=Q(purchase_price__gte=0)
                & (Q(charge_price__isnull=True) | Q(charge_price__gte=0)),
                name="price_version_gte0",
            ),
            # Two-person rule (价格调整双审核) for approvals. Rejections are left out: before
            # the one review service a proposer could reject (withdraw) their own proposal,
            # and those rows stand.
            decider_not_proposer(
                "price_version", statuses=[ReviewStatus.APPROVED], exempt=Q(origin="initial_load")
            ),
        ]
        indexes = [
            models.Index(
                fields=["consumable", "status", "-effective_from"], name="price_version_lookup"
            )
        ]

    def __str__(self):
        return f"{self.consumable_id} {self.purchase_price}/{self.charge_price} {self.status}"


class HospitalLabel(models.Model):
    """An in-hospital barcode (院内码) printed for a unit that has no serial of its own.

    The label says what the unit is; where the unit is lives in the inventory ledger.
    """

    label = models.CharField(_("院内码 / label"), max_length=32, unique=True)
    consumable = models.ForeignKey(
        Consumable, on_delete=models.PROTECT, related_name="hospital_labels"
    )
    lot = models.CharField(_("批号 / lot"), max_length=64, blank=True)
    expiry = models.DateField(_("失效日期 / expiry"), null=True, blank=True)
    udi_di = models.CharField(_("原厂 UDI-DI / original DI"), max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("院内码 / in-hospital label")
        verbose_name_plural = _("院内码 / in-hospital labels")

    def __str__(self):
        return self.label


class Sequence(models.Model):
    """A named counter, taken under a row lock (in-hospital label numbers)."""

    name = models.CharField(max_length=40, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}={self.value}"


def take_sequence(name: str, count: int = 1) -> int:
    """Reserve ``count`` numbers of the sequence ``name``; return the first. Needs a
    transaction: the row stays locked until it ends, so concurrent takers never overlap."""
    Sequence.objects.get_or_create(name=name)
    row = Sequence.objects.select_for_update().get(name=name)
    first = row.value + 1
    row.value += count
    row.save(update_fields=["value"])
    return first
