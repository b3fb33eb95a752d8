"""Staging tables of the code-conflict workspace.

A ``StagingRow`` is one line of an HRP or HIS export, kept as the file says it (codes are
stripped, empty means none): many-to-one and one-to-many links are exactly what this area is
for, so nothing here is unique. Each row remembers its file and line.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class StagingSource(models.TextChoices):
    HRP = "hrp", _("HRP 物资目录 / HRP material list")
    HIS_CHARGE = "his_charge", _("HIS 收费目录 / HIS charge catalogue")
    HIS_ORDER = "his_order", _("HIS 医嘱目录 / HIS order catalogue")
    SUPPLIER = "supplier", _("HRP 供应商目录 / HRP supplier list")


class StagingImport(models.Model):
    """One file loaded into the workspace; it supersedes the pending rows of its source."""

    source = models.CharField(_("来源 / source"), max_length=10, choices=StagingSource)
    file_name = models.CharField(_("文件 / file"), max_length=255)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name=_("导入人 / imported by"),
    )
    imported_at = models.DateTimeField(_("导入时间 / imported at"), auto_now_add=True)
    rows_read = models.PositiveIntegerField(_("读取行数 / rows read"), default=0)
    rows_loaded = models.PositiveIntegerField(_("载入行数 / rows loaded"), default=0)
    rows_superseded = models.PositiveIntegerField(_("被替换行数 / rows superseded"), default=0)
    # Refused lines: [{"line", "code", "message"}], message Chinese / English.
    errors = models.JSONField(_("错误行 / refused rows"), default=list, blank=True)

    class Meta:
        verbose_name = _("对码导入 / staging import")
        verbose_name_plural = _("对码导入 / staging imports")
        ordering = ["-imported_at", "-pk"]

    def __str__(self):
        return f"{self.get_source_display()} {self.file_name}"


class StagingRow(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待处理 / pending")
        PROMOTED = "promoted", _("已入主数据 / promoted")
        EXCLUDED = "excluded", _("已排除 / excluded")
        SUPERSEDED = "superseded", _("已被新导入替换 / superseded")

    batch = models.ForeignKey(StagingImport, on_delete=models.PROTECT, related_name="rows")
    source = models.CharField(_("来源 / source"), max_length=10, choices=StagingSource)
    line = models.PositiveIntegerField(_("行号 / line"))
    status = models.CharField(
        _("状态 / status"), max_length=10, choices=Status, default=Status.PENDING
    )
    material_code = models.CharField(_("物资编码 / material code"), max_length=200, null=True)
    charge_code = models.CharField(_("计费编码 / charge code"), max_length=200, null=True)
    order_code = models.CharField(_("医嘱编码 / order code"), max_length=200, null=True)
    insurance_code = models.CharField(_("医保耗材编码 / insurance code"), max_length=200, null=True)
    udi_di = models.CharField("UDI-DI", max_length=200, null=True)
    units_per_package = models.PositiveIntegerField(_("包装数量 / units per package"), null=True)
    package_level = models.CharField(_("包装层级 / package level"), max_length=200, blank=True)
    name = models.CharField(_("名称 / name"), max_length=300, blank=True)
    spec = models.CharField(_("规格型号 / specification"), max_length=300, blank=True)
    unit = models.CharField(_("单位 / unit"), max_length=300, blank=True)
    manufacturer = models.CharField(_("生产企业 / manufacturer"), max_length=300, blank=True)
    registration_no = models.CharField(_("注册证号 / registration no."), max_length=300, blank=True)
    category = models.CharField(_("类别 / category"), max_length=300, blank=True)
    chargeable = models.BooleanField(_("可收费 / chargeable"), null=True)
    # A row of the HRP supplier list (source ``supplier``): its code and licence columns.
    # Such a row names no material; it is checked and promoted on its own (``suppliers``).
    supplier_code = models.CharField(_("供应商编码 / supplier code"), max_length=200, null=True)
    credit_code = models.CharField(
        _("统一社会信用代码 / unified social credit code"), max_length=200, blank=True
    )
    license_no = models.CharField(
        _("医疗器械经营许可证号 / medical device trading licence no."), max_length=200, blank=True
    )
    # The other consumables.csv columns of an HRP row, as text (value_class, tracking, prices):
    # promotion hands them to import_master unchanged.
    extra = models.JSONField(default=dict, blank=True)
    # What import_master's row check says about this row ('' = nothing): such a row is kept
    # and reported, never promoted until fixed.
    problems = models.TextField(_("数据问题 / problems"), blank=True)
    note = models.CharField(_("处理说明 / note"), max_length=300, blank=True)
    promotion_error = models.TextField(_("入主数据失败原因 / promotion refused"), blank=True)
    promoted_at = models.DateTimeField(_("入主数据时间 / promoted at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("对码数据行 / staging row")
        verbose_name_plural = _("对码数据行 / staging rows")
        ordering = ["source", "batch_id", "line"]
        indexes = [
            models.Index(fields=["status", "material_code"], name="staging_material_idx"),
            models.Index(fields=["status", "charge_code"], name="staging_charge_idx"),
            models.Index(fields=["status", "order_code"], name="staging_order_idx"),
            models.Index(fields=["status", "insurance_code"], name="staging_insurance_idx"),
            models.Index(fields=["status", "udi_di"], name="staging_di_idx"),
            models.Index(fields=["status", "source"], name="staging_source_idx"),
            models.Index(fields=["status", "supplier_code"], name="staging_supplier_idx"),
        ]

    def __str__(self):
        return f"{self.batch.file_name}:{self.line}"

    @property
    def where(self) -> str:
        return f"{self.batch.file_name} 第 {self.line} 行 / line {self.line}"


class ConflictSnapshot(models.Model):
    """The conflict counts per kind at one moment: after every import, fix and promotion."""

    class Trigger(models.TextChoices):
        IMPORT = "import", _("导入 / import")
        FIX = "fix", _("逐条修正 / fix")
        PROMOTION = "promotion", _("入主数据 / promotion")
        MASTER = "master", _("主数据变更 / master change")

    taken_at = models.DateTimeField(_("时间 / taken at"), auto_now_add=True, db_index=True)
    trigger = models.CharField(_("触发 / trigger"), max_length=10, choices=Trigger)
    batch = models.ForeignKey(
        StagingImport, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    counts = models.JSONField(default=dict)  # kind -> count
    total = models.PositiveIntegerField(_("冲突合计 / conflicts"))
    materials_pending = models.PositiveIntegerField(_("待处理物资 / materials pending"), default=0)
    materials_clean = models.PositiveIntegerField(_("可入主数据 / clean materials"), default=0)

    class Meta:
        verbose_name = _("冲突统计快照 / conflict snapshot")
        verbose_name_plural = _("冲突统计快照 / conflict snapshots")
        ordering = ["-taken_at", "-pk"]

    def __str__(self):
        return f"{self.taken_at:%Y-%m-%d %H:%M} {self.total}"
