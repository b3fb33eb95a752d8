"""Insurance types (医保类型): the hospital's configured list (``billing.InsuranceType``,
kept in the admin, where a hospital adds 新农合 or 异地医保).

An encounter holds its type's name, the string HIS sends. The two rules live here alone:
HIS may send only a configured, active type (``insurance_type_or_refuse``), and a
self-pay patient (自费患者) is one whose type is not insured (``insured_expression``,
``encounter_is_insured``).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from inventory import errors as stock_errors

from ..models import Encounter, InsuranceType

# (name, English name, insured, order): the national types every hospital has on day one.
# Migration 0010 creates them; ``ensure_national_types`` puts back a missing one after a
# migrate or a flush (it never changes a type the hospital has edited).
NATIONAL_TYPES = [
    ("职工医保", "employee insurance", True, 10),
    ("居民医保", "resident insurance", True, 20),
    ("离休", "retired cadre", True, 30),
    ("工伤保险", "work injury insurance", True, 40),
    ("生育保险", "maternity insurance", True, 50),
    ("自费", "self-pay", False, 90),
]


def ensure_national_types(using: str = "default") -> None:
    for name, name_en, insured, order in NATIONAL_TYPES:
        InsuranceType.objects.using(using).get_or_create(
            name=name, defaults={"name_en": name_en, "insured": insured, "sort_order": order}
        )


def insured_expression(ref: str = "insurance_type"):
    """A query expression, true when the encounter's type (the field ``ref``) is insured:
    annotated on the encounter so a caller learns it in the query that reads the encounter.
    A name that is not configured is not insured (no fund pays an unknown type)."""
    return Exists(InsuranceType.objects.filter(name=OuterRef(ref), insured=True))


def encounter_is_insured(encounter: Encounter) -> bool:
    """Whether a fund pays for ``encounter``: the ``insured`` annotation when the encounter
    was read with it (``encounter_for_write`` adds it), else one query."""
    insured = getattr(encounter, "insured", None)
    if insured is None:
        insured = InsuranceType.objects.filter(
            name=encounter.insurance_type, insured=True
        ).exists()
    return insured


def configured_insurance_types() -> list[str]:
    """The names HIS may send, in the configured order."""
    return list(InsuranceType.objects.filter(is_active=True).values_list("name", flat=True))


def insurance_type_or_refuse(name: str, *, current: str | None = None) -> str:
    """``name`` if it is an active configured type (or the encounter's ``current`` type,
    which a retired type stays for the encounters that hold it); VALIDATION_ERROR (400)
    listing the configured types otherwise. Every entrance (the HIS feed, the admin) asks
    here."""
    if name == current:
        return name
    configured = configured_insurance_types()
    if name not in configured:
        listed = "、".join(configured)
        raise stock_errors.validation(
            "insurance_type",
            f"医保类型 {name} 未配置，可用：{listed}（新类型由管理员在后台添加）",
            f"Unknown insurance type {name}; configured: {', '.join(configured)}",
            reason="UNKNOWN_INSURANCE_TYPE",
            insurance_type=name,
            configured=configured,
        )
    return name
