"""Reviewed changes to the codes of a live consumable, applied under a row lock.

One write path for everything a review decides about a live item's codes: an approved
mapping change and an approved supplier submission. The checks are the master's own: the
model's ``full_clean`` (code formats, ``codes.py``) and the partial unique indexes of the five
codes; before writing, a code or DI held by another live consumable is refused with that
item named (the error codes of ``import_master``). Bulk loads go through ``import_master``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from config.error_codes import Both
from config.errors import DomainError

from .importing.master import CONFLICT_CODES
from .importing.rows import parse_code_columns
from .models import Consumable, DeviceIdentifier

LINKED_CODES = ("charge_code", "order_code", "insurance_code")


@dataclass(frozen=True)
class PackageDI:
    """A UDI-DI of one package level, as submitted or proposed."""

    udi_di: str
    issuer: str
    units_per_package: int = 1
    package_level: str = ""

    def as_dict(self) -> dict:
        return {
            "udi_di": self.udi_di,
            "issuer": self.issuer,
            "units_per_package": self.units_per_package,
            "package_level": self.package_level,
        }


def _invalid(errors) -> DomainError:
    first = errors[0]
    return DomainError(
        first.code,
        first.message.split(" / ")[0],
        first.message.split(" / ")[-1],
        detail={"errors": [{"code": e.code, "message": e.message} for e in errors]},
        http_status=400,
    )


def checked_codes(values: dict[str, str | None]) -> dict[str, str | None]:
    """Codes in their normal form, checked with import_master's row rules; raises
    ``DomainError`` (VALIDATION_ERROR, INSURANCE_CODE_INVALID). None/'' means no code."""
    raw = {name: (value or "") for name, value in values.items()}
    parsed = parse_code_columns(0, raw)
    if parsed.errors:
        raise _invalid(parsed.errors)
    return {name: parsed.values.get(name) for name in values}


def checked_di(text: str, units_per_package=1, package_level: str = "") -> PackageDI:
    """A scanned or typed UDI (any form ``udi.parse_code`` reads) as a package DI; raises
    ``DomainError`` (UNREADABLE_CODE, VALIDATION_ERROR)."""
    parsed = parse_code_columns(
        0,
        {
            "udi_di": text or "",
            "units_per_package": str(units_per_package or ""),
            "package_level": package_level or "",
        },
    )
    if not parsed.errors and not parsed.udi_di:
        raise DomainError(
            "VALIDATION_ERROR", "UDI-DI 必填", "a UDI-DI is required", http_status=400
        )
    if parsed.errors:
        raise _invalid(parsed.errors)
    return PackageDI(
        udi_di=parsed.udi_di,
        issuer=parsed.issuer,
        units_per_package=parsed.units_per_package or 1,
        package_level=parsed.package_level or "",
    )


def link_conflicts(
    *, consumable: Consumable, codes: dict[str, str | None], dis: list[str]
) -> list[dict]:
    """Each code of ``codes`` and each DI of ``dis`` that another live consumable holds,
    with that consumable named: ``[{field, value, material_code, name, spec}]``. Two queries."""
    found = []
    wanted = {name: value for name, value in codes.items() if value}
    if wanted:
        condition = Q()
        for name, value in wanted.items():
            condition |= Q(**{name: value})
        holders = Consumable.objects.filter(condition, is_active=True).exclude(pk=consumable.pk)
        for holder in holders:
            for name, value in wanted.items():
                if getattr(holder, name) == value:
                    found.append(_conflict(name, value, holder))
    if dis:
        held = (
            DeviceIdentifier.objects.filter(
                udi_di__in=dis, is_active=True, consumable__is_active=True
            )
            .exclude(consumable=consumable)
            .select_related("consumable")
        )
        found += [_conflict("udi_di", d.udi_di, d.consumable) for d in held]
    return found


def _conflict(name: str, value: str, holder: Consumable) -> dict:
    return {
        "field": name,
        "value": value,
        "material_code": holder.material_code,
        "name": holder.name,
        "spec": holder.spec,
    }


def conflict_error(conflicts: list[dict]) -> DomainError:
    """The refusal of a code or DI already linked elsewhere, naming the item that has it."""
    first = conflicts[0]
    code, label = CONFLICT_CODES.get(first["field"], ("UDI_DI_CONFLICT", "UDI-DI"))
    item = f"{first['material_code']} {first['name']} {first['spec']}".strip()
    return DomainError(
        code,
        field=Both(label, first["field"]),
        value=first["value"],
        item=item,
        detail={"conflicts": conflicts},
    )


def _validation_error(error: ValidationError) -> DomainError:
    messages = {field: [str(m) for m in msgs] for field, msgs in error.message_dict.items()}
    code = "INSURANCE_CODE_INVALID" if "insurance_code" in messages else "VALIDATION_ERROR"
    text = "；".join(m for msgs in messages.values() for m in msgs)
    return DomainError(code, text, text, detail={"fields": messages}, http_status=400)


@transaction.atomic
def link_apply(
    *,
    consumable_id: int,
    codes: dict[str, str | None] | None = None,
    add_dis: list[PackageDI] = (),
    retire_dis: list[str] = (),
    fields: dict[str, str] | None = None,
    user,
    reason: str,
) -> Consumable:
    """Set codes (None clears one), link and retire DIs and set plain ``fields`` (e.g.
    ``registration_no``) of one live consumable, in one transaction, with history naming
    ``user`` and ``reason``. Raises ``DomainError``: a code or DI linked elsewhere
    (``*_CONFLICT``), an invalid value, a retired consumable (CONSUMABLE_INACTIVE)."""
    codes = codes or {}
    consumable = Consumable.objects.select_for_update().get(pk=consumable_id)
    if not consumable.is_active:
        raise DomainError("CONSUMABLE_INACTIVE", material_code=consumable.material_code)
    conflicts = link_conflicts(
        consumable=consumable, codes=codes, dis=[d.udi_di for d in add_dis]
    )
    if conflicts:
        raise conflict_error(conflicts)
    changed = False
    for name, value in {**codes, **(fields or {})}.items():
        if getattr(consumable, name) != value:
            setattr(consumable, name, value)
            changed = True
    try:
        with transaction.atomic():
            if changed:
                consumable.full_clean()
                _save(consumable, user, reason)
            _retire(consumable, retire_dis, user, reason)
            _link(consumable, add_dis, user, reason)
    except ValidationError as error:
        raise _validation_error(error) from error
    except IntegrityError as error:
        # Another transaction linked the same code meanwhile: the unique index decides.
        conflicts = link_conflicts(
            consumable=consumable, codes=codes, dis=[d.udi_di for d in add_dis]
        )
        if conflicts:
            raise conflict_error(conflicts) from error
        raise
    return consumable


def _save(instance, user, reason: str) -> None:
    instance._history_user = user
    instance._change_reason = reason[:100]
    instance.save()


def _retire(consumable: Consumable, udi_dis: list[str], user, reason: str) -> None:
    for di in DeviceIdentifier.objects.filter(
        consumable=consumable, udi_di__in=list(udi_dis), is_active=True
    ):
        di.is_active = False
        _save(di, user, reason)


def _link(consumable: Consumable, packages: list[PackageDI], user, reason: str) -> None:
    own = {
        d.udi_di: d
        for d in DeviceIdentifier.objects.filter(
            consumable=consumable, udi_di__in=[p.udi_di for p in packages], is_active=True
        )
    }
    for package in packages:
        di = own.get(package.udi_di)
        if di is None:
            di = DeviceIdentifier(consumable=consumable, udi_di=package.udi_di)
        elif (di.units_per_package, di.package_level) == (
            package.units_per_package,
            package.package_level,
        ):
            continue
        di.issuer = package.issuer
        di.units_per_package = package.units_per_package
        di.package_level = package.package_level
        di.full_clean(validate_constraints=False)
        _save(di, user, reason)
