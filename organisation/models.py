"""The organisation: departments (库房、病区、手术室) and who works in them, the locations
stock can be at, and the suppliers with their portal accounts.

The ground floor: every other app of the hospital's own refers to these; they refer to
nothing of ours. The tables keep the names they had (``inventory_*``): only the Python
home of the models moved.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Department(models.Model):
    """A hospital department that holds stock: the central store, a ward or a theatre."""

    class Kind(models.TextChoices):
        STORE = "store", _("库房 / store")
        WARD = "ward", _("病区 / ward")
        THEATRE = "theatre", _("手术室 / theatre")

    code = models.CharField(_("科室编码 / code"), max_length=32, unique=True)
    name = models.CharField(_("名称 / name"), max_length=100)
    kind = models.CharField(_("类型 / kind"), max_length=8, choices=Kind)
    is_active = models.BooleanField(_("在用 / active"), default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="departments",
        verbose_name=_("人员 / staff"),
    )
    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        verbose_name = _("科室 / department")
        verbose_name_plural = _("科室 / departments")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class Location(models.Model):
    """A place stock can be: real (a department's shelf) or virtual (supplier, patient...).

    Like Odoo's stock locations: every movement is a move between two of these.
    """

    class Usage(models.TextChoices):
        INTERNAL = "internal", _("实物库位 / internal")
        SUPPLIER = "supplier", _("供应商 / supplier")
        PATIENT = "patient", _("患者 / patient")
        SCRAP = "scrap", _("报损 / scrap")
        ADJUSTMENT = "adjustment", _("盘点调整 / adjustment")

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    usage = models.CharField(max_length=10, choices=Usage)
    department = models.OneToOneField(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="location"
    )

    class Meta:
        verbose_name = _("库位 / location")
        verbose_name_plural = _("库位 / locations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(usage="internal", department__isnull=False)
                | (~models.Q(usage="internal") & models.Q(department__isnull=True)),
                name="internal_location_has_department",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def is_real(self) -> bool:
        return self.usage == self.Usage.INTERNAL


class Supplier(models.Model):
    code = models.CharField(_("供应商编码 / code"), max_length=32, unique=True)
    name = models.CharField(_("名称 / name"), max_length=200)
    # 统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character.
    credit_code = models.CharField(
        _("统一社会信用代码 / unified social credit code"), max_length=18, blank=True
    )
    license_no = models.CharField(
        _("医疗器械经营许可证号 / medical device trading licence no."), max_length=64, blank=True
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="suppliers",
        verbose_name=_("供应商账号 / supplier users"),
    )
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords(m2m_fields=[users])

    class Meta:
        verbose_name = _("供应商 / supplier")
        verbose_name_plural = _("供应商 / suppliers")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"
