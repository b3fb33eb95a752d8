"""The slice of HIS we need: patients, encounters and doctor orders.

Uses, charge lines and reconciliation come with issues 4 and 5.
"""

from django.db import models


class Patient(models.Model):
    patient_id = models.CharField("患者 ID / patient id", max_length=64, unique=True)
    name = models.CharField("姓名 / name", max_length=100)

    class Meta:
        verbose_name = "患者 / patient"
        verbose_name_plural = "患者 / patients"

    def __str__(self):
        return self.patient_id


class Encounter(models.Model):
    """A hospital visit (住院/门诊), identified by its visit number (住院号)."""

    class InsuranceType(models.TextChoices):
        EMPLOYEE = "职工医保", "职工医保 / employee insurance"
        RESIDENT = "居民医保", "居民医保 / resident insurance"
        SELF_PAY = "自费", "自费 / self-pay"

    visit_no = models.CharField("住院号 / visit no.", max_length=64, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    insurance_type = models.CharField(
        "医保类型 / insurance type", max_length=8, choices=InsuranceType,
        default=InsuranceType.EMPLOYEE,
    )
    department = models.ForeignKey(
        "inventory.Department", on_delete=models.PROTECT, related_name="encounters"
    )
    admitted_at = models.DateTimeField("入院时间 / admitted at")
    discharged_at = models.DateTimeField("出院时间 / discharged at", null=True, blank=True)

    class Meta:
        verbose_name = "就诊 / encounter"
        verbose_name_plural = "就诊 / encounters"

    def __str__(self):
        return self.visit_no


class DoctorOrder(models.Model):
    """A doctor's order (医嘱) as HIS sent it."""

    order_id = models.CharField("医嘱号 / order id", max_length=64, unique=True)
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="orders")
    order_code = models.CharField("医嘱编码 / order code", max_length=64, db_index=True)
    quantity = models.PositiveIntegerField("数量 / quantity", default=1)
    ordered_at = models.DateTimeField("开立时间 / ordered at")
    doctor = models.CharField("医生 / doctor", max_length=100, blank=True)

    class Meta:
        verbose_name = "医嘱 / doctor order"
        verbose_name_plural = "医嘱 / doctor orders"

    def __str__(self):
        return self.order_id
