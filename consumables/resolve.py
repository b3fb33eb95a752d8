"""Code resolution: any scanned or typed text -> consumable, package, lot, serial, expiry.

Read-only. A code that names several live consumables is refused with ``AMBIGUOUS_CODE``:
never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from config.errors import DomainError

from .models import Consumable, DeviceIdentifier, HospitalLabel
from .udi import CodeParseError, ParsedCode, parse_code

DI_ISSUERS = {"gs1", "ma", "ahm", "hibc"}


@dataclass(frozen=True)
class Resolution:
    parsed: ParsedCode
    consumable: Consumable | None
    units_per_package: int | None
    udi_di: str | None
    lot: str | None
    expiry: object | None
    hospital_label: HospitalLabel | None = None


def unreadable(error: CodeParseError) -> DomainError:
    return DomainError(
        "UNREADABLE_CODE",
        error.message,
        detail={"reason": error.reason, **(error.detail or {})},
        http_status=400,
    )


def _ambiguous(consumables: list[Consumable], code: str) -> DomainError:
    return DomainError(
        "AMBIGUOUS_CODE",
        detail={"code": code, "material_codes": sorted(c.material_code for c in consumables)},
    )


def _by_hospital_codes(text: str) -> list[Consumable]:
    """Live consumables any of whose four hospital codes (or a DI) equals ``text``."""
    return list(
        Consumable.objects.filter(is_active=True)
        .filter(
            Q(material_code=text)
            | Q(charge_code=text)
            | Q(order_code=text)
            | Q(insurance_code=text)
            | Q(device_identifiers__udi_di=text, device_identifiers__is_active=True)
        )
        .distinct()
    )


def _smallest_di(consumable: Consumable) -> str | None:
    di = (
        DeviceIdentifier.objects.filter(consumable=consumable, is_active=True)
        .order_by("units_per_package", "pk")
        .values_list("udi_di", flat=True)
        .first()
    )
    return di


def resolve_code(raw: str) -> Resolution:
    """Parse ``raw`` and find what it names. Raises DomainError UNREADABLE/AMBIGUOUS_CODE."""
    try:
        parsed = parse_code(raw)
    except CodeParseError as error:
        raise unreadable(error) from error

    if parsed.issuer == "hospital":
        label = HospitalLabel.objects.select_related("consumable").filter(label=parsed.di).first()
        return Resolution(
            parsed=parsed,
            consumable=label.consumable if label else None,
            units_per_package=1,
            udi_di=(label.udi_di or None) if label else None,
            lot=label.lot if label else None,
            expiry=label.expiry if label else None,
            hospital_label=label,
        )

    if parsed.issuer in DI_ISSUERS:
        matches = list(
            DeviceIdentifier.objects.select_related("consumable").filter(
                udi_di=parsed.di, is_active=True, consumable__is_active=True
            )
        )
        consumables = {m.consumable_id: m.consumable for m in matches}
        bare = raw.strip()
        if bare.isdigit():
            # A bare number may be a GTIN or a hospital code typed by hand: both count.
            consumables.update({c.pk: c for c in _by_hospital_codes(bare)})
        if len(consumables) > 1:
            raise _ambiguous(list(consumables.values()), parsed.di)
        if consumables and not matches:
            (consumable,) = consumables.values()
            return Resolution(
                parsed=parsed,
                consumable=consumable,
                units_per_package=1,
                udi_di=_smallest_di(consumable),
                lot=None,
                expiry=None,
            )
        if matches:
            match = matches[0]
            return Resolution(
                parsed=parsed,
                consumable=match.consumable,
                units_per_package=match.units_per_package,
                udi_di=match.udi_di,
                lot=parsed.lot,
                expiry=parsed.expiry,
            )
        return Resolution(
            parsed=parsed,
            consumable=None,
            units_per_package=None,
            udi_di=parsed.di,
            lot=parsed.lot,
            expiry=parsed.expiry,
        )

    text = parsed.text or raw.strip()
    consumables = _by_hospital_codes(text)
    if len(consumables) > 1:
        raise _ambiguous(consumables, text)
    consumable = consumables[0] if consumables else None
    return Resolution(
        parsed=parsed,
        consumable=consumable,
        units_per_package=1 if consumable else None,
        udi_di=_smallest_di(consumable) if consumable else None,
        lot=None,
        expiry=None,
    )
