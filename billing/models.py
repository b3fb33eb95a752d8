"""The slice of HIS we need: patients, encounters and doctor orders.

Uses, charge lines and reconciliation come with issues 4 and 5.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from consumables.codes import is_valid_hospital_code
from consumables.models import Consumable


class Patient(models.Model):
    patient_id = models.CharField(_("患者 ID / patient id"), max_length=64, unique=True)
    name = models.CharField(_("姓名 / name"), max_length=100)

    class Meta:
        verbose_name = _("患者 / patient")
        verbose_name_plural = _("患者 / patients")

    def __str__(self):
        return self.patient_id


class InsuranceType(models.Model):
    """An insurance type (医保类型) as HIS names it: 职工医保, 居民医保, 离休, 自费...

    The hospital keeps the list in the admin (新农合, 异地医保 are added there). ``insured``
    says whether a fund pays: an encounter of a type that is not insured is a self-pay
    patient, every charge line of it self-pay. A type is retired (``is_active`` off), not
    deleted or renamed: encounters hold its name (``Encounter.insurance_type``).
    """

    name = models.CharField(_("名称 / name"), max_length=32, unique=True)
    name_en = models.CharField(_("英文名称 / English name"), max_length=64, blank=True)
    insured = models.BooleanField(
        _("医保支付 / insured"),
        default=True,
        help_text=_("基金支付则勾选；不勾选即自费患者 / Ticked when a fund pays; else self-pay"),
    )
    is_active = models.BooleanField(_("在用 / active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序 / order"), default=100)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("医保类型 / insurance type")
        verbose_name_plural = _("医保类型 / insurance types")
        ordering = ["sort_order", "name"]

    def __str__(self):
        return self.name


class Encounter(models.Model):
    """A hospital visit (住院/门诊), identified by its visit number (住院号)."""

    # HIS may name only a configured type (services.encounters.insurance_type_or_refuse).
    DEFAULT_INSURANCE_TYPE = "职工医保"

    visit_no = models.CharField(_("住院号 / visit no."), max_length=64, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    # The name of an InsuranceType, as HIS sends it (the contract's string, not a key).
    insurance_type = models.CharField(
        _("医保类型 / insurance type"),
        max_length=InsuranceType._meta.get_field("name").max_length,
        default=DEFAULT_INSURANCE_TYPE,
    )
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="encounters"
    )
    admitted_at = models.DateTimeField(_("入院时间 / admitted at"))
    discharged_at = models.DateTimeField(_("出院时间 / discharged at"), null=True, blank=True)
    # The national platform's identifiers, where HIS sends them: the insured person's
    # number (人员编号) with the encounter, the settlement id (结算ID) at discharge. The
    # platform's sale records (3505) and the insurance centre's denials refer to them.
    # db_default: a row written by SQL alone (a bulk load, bench/generate.py) has them empty.
    psn_no = models.CharField(
        _("人员编号 / insured person no."), max_length=30, blank=True, db_default=""
    )
    setl_id = models.CharField(
        _("结算ID / settlement id"), max_length=30, blank=True, db_index=True, db_default=""
    )
    # Who changed the insurance type or the ward, when, from what to what: an insurance
    # auditor reads it (billing.services.encounters.encounter_upsert writes the reason).
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("就诊 / encounter")
        verbose_name_plural = _("就诊 / encounters")

    def __str__(self):
        return self.visit_no


class DoctorOrder(models.Model):
    """A doctor's order (医嘱) as HIS sent it."""

    order_id = models.CharField(_("医嘱号 / order id"), max_length=64, unique=True)
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="orders")
    order_code = models.CharField(_("医嘱编码 / order code"), max_length=64, db_index=True)
    quantity = models.PositiveIntegerField(_("数量 / quantity"), default=1)
    ordered_at = models.DateTimeField(_("开立时间 / ordered at"))
    doctor = models.CharField(_("医生 / doctor"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("医嘱 / doctor order")
        verbose_name_plural = _("医嘱 / doctor orders")
        indexes = [
            # The audit rules sum the orders of an encounter per order code up to a cut-off
            # (CHARGE_OVER_ORDER) and look one up (CHARGE_WITHOUT_ORDER): index-only.
            models.Index(
                fields=["encounter", "order_code", "ordered_at", "quantity"],
                name="order_enc_code_time_qty",
            ),
        ]

    def __str__(self):
        return self.order_id


class Use(models.Model):
    """A bedside use (使用): stock moved from a ward to a patient, for an encounter.

    ``active_unit`` holds the tracked unit while the use stands and is cleared when the
    unit comes back unused: the unique constraint makes "a unit is used at most once" a
    database fact (invariant 3), not only a check in code.
    """

    event_id = models.UUIDField(db_index=True)
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="uses")
    move = models.OneToOneField("inventory.StockMove", on_delete=models.PROTECT, related_name="use")
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="+"
    )
    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="uses"
    )
    lot = models.ForeignKey("inventory.Lot", on_delete=models.PROTECT, related_name="+")
    tracked_unit = models.ForeignKey(
        "inventory.TrackedUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="uses",
    )
    active_unit = models.OneToOneField(
        "inventory.TrackedUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="active_use",
    )
    quantity = models.PositiveIntegerField()
    returned_quantity = models.PositiveIntegerField(default=0)
    order = models.ForeignKey(
        DoctorOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="uses"
    )
    occurred_at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    warnings = models.JSONField(default=list)

    class Meta:
        verbose_name = _("使用记录 / use")
        verbose_name_plural = _("使用记录 / uses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(returned_quantity__lte=models.F("quantity")),
                name="use_returned_not_above_used",
            ),
        ]
        indexes = [
            # The reconciliation reads the uses of the encounters touched on a day by range
            # scans of this index alone (index-only: it carries what it sums; a key column
            # rather than INCLUDE, which SQLite, the quick start, does not have).
            models.Index(
                fields=["encounter", "consumable", "occurred_at", "quantity"],
                name="use_enc_item_time_qty",
            ),
            # The few uses with a return: where timed returns must be looked up at all.
            models.Index(
                fields=["encounter"],
                condition=models.Q(returned_quantity__gt=0),
                name="use_with_return",
            ),
        ]

    def __str__(self):
        return f"{self.encounter_id} {self.consumable_id} ×{self.quantity}"


class ChargeLine(models.Model):
    """A charge (计费) on an encounter, with the five codes copied at the time of charging.

    Created by a scan-billed use in the same transaction (invariant 5) or keyed in at HIS.
    ``active_unit`` makes "a unit is charged at most once" a database constraint: it is
    cleared when the charge is fully refunded.
    """

    class Source(models.TextChoices):
        SCAN = "scan", _("扫码计费 / scan")
        HIS = "his", _("HIS 计费 / HIS")

    event_id = models.UUIDField(db_index=True)
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="charges")
    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="charges"
    )
    use = models.OneToOneField(
        Use, on_delete=models.PROTECT, null=True, blank=True, related_name="charge"
    )
    active_unit = models.OneToOneField(
        "inventory.TrackedUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="active_charge",
    )
    material_code = models.CharField(max_length=64)
    charge_code = models.CharField(max_length=64)
    order_code = models.CharField(max_length=64, blank=True)
    insurance_code = models.CharField(max_length=27, blank=True)
    udi_di = models.CharField(max_length=80, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    price_version = models.ForeignKey(
        "consumables.PriceVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    self_pay = models.BooleanField(default=False)
    source = models.CharField(max_length=4, choices=Source)
    order = models.ForeignKey(
        DoctorOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, null=True, related_name="+"
    )
    charged_at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    refunded_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("计费明细 / charge line")
        verbose_name_plural = _("计费明细 / charge lines")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="charge_qty_gt0"),
            models.CheckConstraint(
                condition=models.Q(refunded_quantity__lte=models.F("quantity")),
                name="charge_refund_not_above_charged",
            ),
        ]
        indexes = [
            models.Index(
                fields=["encounter", "consumable", "charged_at", "quantity"],
                name="charge_enc_item_time_qty",
            ),
            models.Index(
                fields=["encounter"],
                condition=models.Q(refunded_quantity__gt=0),
                name="charge_with_refund",
            ),
            # 进销存: a department's charges between two stocktakes (selectors.stock_side).
            models.Index(fields=["department", "charged_at"], name="charge_dept_time"),
        ]

    def __str__(self):
        return f"{self.charge_code} ×{self.quantity} @{self.unit_price}"


class ChargeRefund(models.Model):
    """A refund (退费) of part or all of a charge line: a new row, never an edit."""

    event_id = models.UUIDField(db_index=True)
    charge = models.ForeignKey(ChargeLine, on_delete=models.PROTECT, related_name="refunds")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    refunded_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("退费 / refund")
        verbose_name_plural = _("退费 / refunds")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="refund_qty_gt0")
        ]

    def __str__(self):
        return f"refund {self.charge_id} ×{self.quantity}"


class HisChargeCheck(models.Model):
    """What the HIS boundary (事中) told HIS about a charge it keyed in: the warnings an
    accepted charge was answered with (written with the line, in its transaction), or the
    refusal (written after the refused transaction rolled back, so the line is not there
    and ``charge`` is null). Finance and the auditors read what HIS was told here; a clean
    charge has no row."""

    class Outcome(models.TextChoices):
        WARNED = "warned", _("已警告 / warned")
        REFUSED = "refused", _("已拒绝 / refused")

    event_id = models.UUIDField(db_index=True)
    charge = models.OneToOneField(
        ChargeLine, on_delete=models.PROTECT, null=True, blank=True, related_name="his_check"
    )
    outcome = models.CharField(_("结果 / outcome"), max_length=8, choices=Outcome)
    encounter = models.CharField(_("住院号 / visit no."), max_length=64)
    charge_code = models.CharField(_("计费编码 / charge code"), max_length=64)
    kinds = models.JSONField(_("问题 / kinds"), default=list)
    findings = models.JSONField(_("说明 / findings"), default=list)
    checked_at = models.DateTimeField(_("审核时间 / checked at"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("HIS 计费事中审核 / HIS charge check")
        verbose_name_plural = _("HIS 计费事中审核 / HIS charge checks")

    def __str__(self):
        return f"{self.outcome} {self.encounter} {self.charge_code} {','.join(self.kinds)}"


class Consent(models.Model):
    """Self-pay informed consent (自费知情同意) for one item in one encounter."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="consents")
    consumable = models.ForeignKey("consumables.Consumable", on_delete=models.PROTECT)
    signed_by = models.CharField(_("签署人 / signed by"), max_length=100)
    relationship = models.CharField(_("与患者关系 / relationship"), max_length=20, default="本人")
    signed_at = models.DateTimeField(_("签署时间 / signed at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("自费知情同意 / consent")
        verbose_name_plural = _("自费知情同意 / consents")
        constraints = [
            models.UniqueConstraint(fields=["encounter", "consumable"], name="uniq_consent")
        ]

    def __str__(self):
        return f"{self.encounter_id} {self.consumable_id}"


class ReconciliationRun(models.Model):
    """The reconciliation of one business day (日对账). Its rows are replaced only by a run
    that succeeds, in one transaction: a failed or killed run leaves the previous result."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中 / queued")
        RUNNING = "running", _("运行中 / running")
        SUCCEEDED = "succeeded", _("已完成 / succeeded")
        FAILED = "failed", _("失败 / failed")

    date = models.DateField(_("业务日 / business day"), unique=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(
        _("结果生成时间 / result computed at"), null=True, blank=True
    )
    totals = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    threshold_pct = models.DecimalField(max_digits=6, decimal_places=2, null=True)

    class Meta:
        verbose_name = _("日对账 / reconciliation run")
        verbose_name_plural = _("日对账 / reconciliation runs")

    def __str__(self):
        return f"{self.date} {self.status}"


class VarianceRow(models.Model):
    """Received / issued / used / billed of one department and item on the run's day.

    Derived rows, tens of thousands a night, written only by the reconciliation's
    ``INSERT ... SELECT``, which joins the department and the consumable it names: the
    database does not check those two references again row by row at commit (Django still
    protects them on delete), and ``uniq_variance_row`` serves the look-ups by run.
    Every reader asks by run first (a day, a period, then a department and an item), so the
    two references have no index of their own: each would cost a tenth of a second of the
    nightly write (bench/reconciliation.py), and only deleting a department or a consumable,
    which PROTECT refuses anyway once it has rows, would scan without them.
    """

    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="variances", db_index=False
    )
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    department_code = models.CharField(max_length=32)
    material_code = models.CharField(max_length=64)
    received = models.IntegerField(default=0)
    issued = models.IntegerField(default=0)
    used = models.IntegerField(default=0)
    billed = models.IntegerField(default=0)
    variance_qty = models.IntegerField(default=0)
    variance_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    variance_pct = models.DecimalField(max_digits=9, decimal_places=2, null=True)

    class Meta:
        verbose_name = _("对账差异 / variance row")
        verbose_name_plural = _("对账差异 / variance rows")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "department", "consumable"], name="uniq_variance_row"
            )
        ]
        ordering = ["department_code", "material_code"]

    def __str__(self):
        return f"{self.department_code} {self.material_code} {self.variance_qty}"


class ExceptionRow(models.Model):
    """One finding of the run's day (docs/contract.md exception kinds)."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="exceptions")
    kind = models.CharField(max_length=32, db_index=True)
    department_code = models.CharField(max_length=32, blank=True)
    material_code = models.CharField(max_length=64, blank=True)
    encounter_no = models.CharField(max_length=64, blank=True)
    quantity = models.IntegerField(null=True)
    ref = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("对账异常 / reconciliation exception")
        verbose_name_plural = _("对账异常 / reconciliation exceptions")
        ordering = ["kind", "department_code", "material_code", "encounter_no", "ref"]

    def __str__(self):
        return f"{self.kind} {self.material_code} {self.encounter_no}"


class Kit(models.Model):
    """An order package (医嘱套包): one HIS order code that covers several consumables.

    Kits are split (拆分计费): ordering the kit charges nothing. Each component the nurse
    scans is used and charged on its own (its own price and five codes) under the kit's
    order; the components left unused are neither moved nor charged.
    """

    order_code = models.CharField(_("套包医嘱编码 / kit order code"), max_length=64, unique=True)
    name = models.CharField(_("套包名称 / kit name"), max_length=200)
    is_active = models.BooleanField(
        _("在用 / active"),
        default=True,
        help_text=_(
            "停用后，其组件的使用不再归入该套包医嘱 / "
            "when inactive, uses of its components no longer link to its orders"
        ),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("医嘱套包 / order kit")
        verbose_name_plural = _("医嘱套包 / order kits")
        ordering = ["order_code"]

    def __str__(self):
        return f"{self.order_code} {self.name}"

    def clean(self):
        if not self.order_code:
            return
        if not is_valid_hospital_code(self.order_code):
            raise ValidationError(
                {
                    "order_code": _(
                        "编码只能包含字母、数字和 . _ - / / letters, digits and . _ - / only"
                    )
                }
            )
        # Five codes in one: an order code names one thing, a consumable or a kit.
        if Consumable.objects.filter(order_code=self.order_code, is_active=True).exists():
            raise ValidationError(
                {
                    "order_code": _(
                        "该医嘱编码已是某个耗材的医嘱编码 / "
                        "this order code already belongs to a consumable"
                    )
                }
            )


class KitComponent(models.Model):
    """A consumable in a kit, with the quantity the kit plans for one ordered kit."""

    kit = models.ForeignKey(Kit, on_delete=models.CASCADE, related_name="components")
    consumable = models.ForeignKey(
        "consumables.Consumable",
        on_delete=models.PROTECT,
        related_name="kit_components",
        verbose_name=_("耗材 / consumable"),
    )
    quantity = models.PositiveIntegerField(
        _("计划数量 / planned quantity"), default=1, validators=[MinValueValidator(1)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("套包组件 / kit component")
        verbose_name_plural = _("套包组件 / kit components")
        constraints = [
            models.UniqueConstraint(fields=["kit", "consumable"], name="uniq_kit_component"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="kit_component_qty_gt0"
            ),
        ]

    def __str__(self):
        return f"{self.kit_id} {self.consumable_id} ×{self.quantity}"


class HighValueApproval(models.Model):
    """Approval to use high-value items (高值耗材使用审批) in one encounter.

    With ``consumable`` empty it covers every high-value item of the encounter; otherwise
    only that consumable. A use whose charge price in force is at or above
    ``BILLING_HIGH_VALUE_THRESHOLD`` needs one (``billing.services.approvals``).
    """

    encounter = models.ForeignKey(
        Encounter,
        on_delete=models.PROTECT,
        related_name="high_value_approvals",
        verbose_name=_("就诊 / encounter"),
    )
    consumable = models.ForeignKey(
        "consumables.Consumable",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("耗材 / consumable"),
        help_text=_("留空：本次就诊的全部高值耗材 / empty: every high-value item of the encounter"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("审批人 / approved by"),
    )
    approved_at = models.DateTimeField(_("审批时间 / approved at"))
    note = models.CharField(_("审批意见 / note"), max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("高值耗材使用审批 / high-value approval")
        verbose_name_plural = _("高值耗材使用审批 / high-value approvals")
        indexes = [
            models.Index(fields=["encounter", "consumable"], name="hv_approval_enc_item"),
        ]

    def __str__(self):
        return f"{self.encounter_id} {self.consumable_id or '*'}"


class FindingFollowUp(models.Model):
    """The follow-up (整改/申诉) of one finding, kept apart from the run's rows.

    The nightly run replaces its ``ExceptionRow``s (invariant 8) and the pre-discharge audit
    keeps none, so the follow-up is keyed by the finding's identity, not by a row:
    ``key`` = kind | encounter | material code | ref for a finding of an encounter, and
    kind | department | material code | ref | day for one without (a variance over threshold
    is a finding of its day). ``billing.services.followup.finding_key`` makes it; the state
    machine is ``billing.services.followup`` (no other writer). Every step is a history row
    (who, when, status, reason): the audit trail shows them.
    """

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("已确认 / confirmed")
        DISMISSED = "dismissed", _("不予认定 / dismissed")
        APPEALED = "appealed", _("科室申诉中 / appealed")
        APPEAL_UPHELD = "appeal_upheld", _("申诉通过 / appeal upheld")
        APPEAL_REJECTED = "appeal_rejected", _("申诉驳回 / appeal rejected")

    key = models.CharField(max_length=400, unique=True)
    kind = models.CharField(_("类型 / kind"), max_length=32)
    encounter_no = models.CharField(_("住院号 / visit no."), max_length=64, blank=True)
    department_code = models.CharField(_("科室 / department"), max_length=32, blank=True)
    material_code = models.CharField(_("物资编码 / material code"), max_length=64, blank=True)
    ref = models.CharField(max_length=64, blank=True)
    day = models.DateField(_("业务日 / business day"), null=True, blank=True)
    status = models.CharField(_("状态 / status"), max_length=16, choices=Status)
    amount = models.DecimalField(_("金额 / amount"), max_digits=16, decimal_places=2, default=0)
    reason = models.TextField(_("意见 / reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("医保办处理人 / decided by"),
    )
    decided_at = models.DateTimeField(_("处理时间 / decided at"), null=True, blank=True)
    appeal_reason = models.TextField(_("申诉理由 / appeal reason"), blank=True)
    appeal_evidence = models.TextField(_("申诉材料 / evidence"), blank=True)
    appealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申诉人 / appealed by"),
    )
    appealed_at = models.DateTimeField(_("申诉时间 / appealed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间 / updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("问题跟踪 / finding follow-up")
        verbose_name_plural = _("问题跟踪 / finding follow-ups")
        constraints = [
            # Nobody decides their own appeal (the service refuses first, with its code).
            models.CheckConstraint(
                condition=~models.Q(status__in=["appeal_upheld", "appeal_rejected"])
                | ~models.Q(decided_by=models.F("appealed_by")),
                name="followup_appeal_decided_by_another",
            ),
        ]
        indexes = [
            models.Index(fields=["department_code", "status"], name="followup_dept_status"),
            models.Index(fields=["encounter_no"], name="followup_encounter"),
        ]

    def __str__(self):
        return f"{self.key} {self.status}"


class WatchListEntry(models.Model):
    """One of the top three of a month kept under watch (重点监测) for three months.

    Tianjin's practice: the three with the most refused amount each month are monitored for
    three consecutive months. ``dimension`` says what is ranked (department, doctor, the
    staff who recorded), ``subject`` names it (a department code, a doctor's name as HIS
    sends it, a user id); ``since``/``until`` are first days of months, both included.
    Written by ``billing.services.followup.watch_list_update``; the trend is computed from
    the findings of each month (``billing.selectors.followup.watch_list``).
    """

    class Dimension(models.TextChoices):
        DEPARTMENT = "department", _("科室 / department")
        DOCTOR = "doctor", _("医生 / doctor")
        STAFF = "staff", _("记录人 / recorded by")

    dimension = models.CharField(_("维度 / dimension"), max_length=12, choices=Dimension)
    subject = models.CharField(_("对象 / subject"), max_length=100)
    label = models.CharField(_("名称 / name"), max_length=200, blank=True)
    since = models.DateField(_("起始月 / since month"))
    until = models.DateField(_("截止月 / until month"))
    rank = models.PositiveSmallIntegerField(_("入选排名 / rank"))
    amount = models.DecimalField(_("入选月金额 / amount"), max_digits=16, decimal_places=2)
    findings = models.PositiveIntegerField(_("入选月问题数 / findings"))
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("重点监测名单 / watch list entry")
        verbose_name_plural = _("重点监测名单 / watch list")
        constraints = [
            models.UniqueConstraint(
                fields=["dimension", "subject", "since"], name="uniq_watch_entry"
            ),
            models.CheckConstraint(
                condition=models.Q(until__gte=models.F("since")), name="watch_until_after_since"
            ),
        ]
        ordering = ["-since", "dimension", "rank"]

    def __str__(self):
        return f"{self.dimension} {self.subject} {self.since:%Y-%m}..{self.until:%Y-%m}"
