"""Where things are. Departments now; locations and the stock ledger come with issue 3."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Department(models.Model):
    """A hospital department that holds stock: the central store, a ward or a theatre."""

    class Kind(models.TextChoices):
        STORE = "store", "库房 / store"
        WARD = "ward", "病区 / ward"
        THEATRE = "theatre", "手术室 / theatre"

    code = models.CharField("科室编码 / code", max_length=32, unique=True)
    name = models.CharField("名称 / name", max_length=100)
    kind = models.CharField("类型 / kind", max_length=8, choices=Kind)
    is_active = models.BooleanField("在用 / active", default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="departments",
        verbose_name="人员 / staff",
    )
    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        verbose_name = "科室 / department"
        verbose_name_plural = "科室 / departments"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"
