"""Code resolution: any scanned or typed text -> consumable, package, lot, serial, expiry.

Read-only. A code that names several live consumables is refused with ``AMBIGUOUS_CODE``:
never a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import FilteredRelation, Q

from config.errors import DomainError
from config.prepared import PreparedQuery

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
    # What the caller asked to read with the consumable (``Reads``), by name: a row or None.
    reads: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reads:
    """What a caller reads about the consumable in the very query that finds it, to spare a
    round trip per row it needs next (a scan reads its lot and the price in force so).

    ``annotate(path, lot_no=..., **values)`` returns annotations by name, given the path from
    the query's rows to the consumable (``"consumable__"`` from a DI or a label, ``""`` from
    the consumable itself; ``consumable_ref(path)`` names it for an ``OuterRef``), the lot the
    code names (``""``: none) and ``values``. A ``FilteredRelation`` is read as its row (None
    when there is none), anything else as its value; all land in ``Resolution.reads``.

    The query by DI, the common case, is compiled once per ``annotate`` function and kind of
    values (``config.prepared``), so their shape must not depend on the values.
    """

    annotate: Callable[..., dict[str, Any]]
    values: dict[str, Any] = field(default_factory=dict)

    def annotations(self, path: str, parsed: ParsedCode) -> dict[str, Any]:
        return self.annotate(path, lot_no=parsed.lot or "", **self.values)


def consumable_ref(path: str) -> str:
    return path.removesuffix("__") or "pk"


def _with_reads(queryset, parsed: ParsedCode, path: str, reads: Reads | None):
    if reads is None:
        return queryset, ()
    annotations = reads.annotations(path, parsed)
    return _annotated(queryset, annotations), tuple(annotations)


def _annotated(queryset, annotations: dict[str, Any]):
    relations = [name for name, value in annotations.items() if isinstance(value, FilteredRelation)]
    return queryset.annotate(**annotations).select_related(*relations)


def _read(row, names) -> dict[str, Any]:
    return {name: getattr(row, name, None) for name in names}


def _identifiers():
    return DeviceIdentifier.objects.select_related("consumable")


_PREPARED: dict[tuple, tuple[PreparedQuery, tuple[str, ...]]] = {}


def _identifiers_of(di: str, parsed: ParsedCode, reads: Reads | None):
    """The live DIs ``di`` with their consumables, and the names ``reads`` read with them."""
    if reads is None:
        return _live(_identifiers(), di), ()
    kinds = {name: type(value) for name, value in reads.values.items()}
    key = (reads.annotate, tuple(kinds.items()))
    if key not in _PREPARED:

        def build(di, lot_no, **values):
            annotations = reads.annotate("consumable__", lot_no=lot_no, **values)
            return _live(_annotated(_identifiers(), annotations), di)

        names = tuple(reads.annotations("consumable__", parsed))
        _PREPARED[key] = (PreparedQuery(build, di=str, lot_no=str, **kinds), names)
    prepared, names = _PREPARED[key]
    return prepared.rows(di=di, lot_no=parsed.lot or "", **reads.values), names


def _live(identifiers, di: str):
    return identifiers.filter(udi_di=di, is_active=True, consumable__is_active=True)


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


def _by_hospital_codes(
    text: str, parsed: ParsedCode, reads: Reads | None = None
) -> list[Consumable]:
    """Live consumables any of whose four hospital codes (or a DI) equals ``text``; with
    ``reads``, each carries what they read as ``_reads``."""
    consumables, names = _with_reads(
        Consumable.objects.filter(is_active=True).filter(
            Q(material_code=text)
            | Q(charge_code=text)
            | Q(order_code=text)
            | Q(insurance_code=text)
            | Q(device_identifiers__udi_di=text, device_identifiers__is_active=True)
        ),
        parsed,
        "",
        reads,
    )
    found = list(consumables.distinct())
    for consumable in found:
        consumable._reads = _read(consumable, names)
    return found


def _smallest_di(consumable: Consumable) -> str | None:
    di = (
        DeviceIdentifier.objects.filter(consumable=consumable, is_active=True)
        .order_by("units_per_package", "pk")
        .values_list("udi_di", flat=True)
        .first()
    )
    return di


def resolve_code(raw: str, *, reads: Reads | None = None) -> Resolution:
    """Parse ``raw`` and find what it names. Raises DomainError UNREADABLE/AMBIGUOUS_CODE.

    ``reads``: what else to read about the consumable in the same query (``Reads``)."""
    try:
        parsed = parse_code(raw)
    except CodeParseError as error:
        raise unreadable(error) from error

    if parsed.issuer == "hospital":
        labels, names = _with_reads(
            HospitalLabel.objects.select_related("consumable"), parsed, "consumable__", reads
        )
        label = labels.filter(label=parsed.di).first()
        return Resolution(
            parsed=parsed,
            consumable=label.consumable if label else None,
            units_per_package=1,
            udi_di=(label.udi_di or None) if label else None,
            lot=label.lot if label else None,
            expiry=label.expiry if label else None,
            hospital_label=label,
            reads=_read(label, names) if label else {},
        )

    if parsed.issuer in DI_ISSUERS:
        matches, names = _identifiers_of(parsed.di, parsed, reads)
        matches = list(matches)
        consumables = {m.consumable_id: m.consumable for m in matches}
        bare = raw.strip()
        if bare.isdigit():
            # A bare number may be a GTIN or a hospital code typed by hand: both count.
            consumables.update({c.pk: c for c in _by_hospital_codes(bare, parsed, reads)})
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
                reads=consumable._reads,
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
                reads=_read(match, names),
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
    consumables = _by_hospital_codes(text, parsed, reads)
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
        reads=consumable._reads if consumable else {},
    )
