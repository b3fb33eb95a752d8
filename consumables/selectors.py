"""The consumable master as a spreadsheet, in the layout of ``import_master``.

``consumable_master_rows`` gives the master as docs/contract.md's consumables.csv has it: one
row per UDI-DI, so an exported file imports back unchanged. The file itself is written by
the project's one spreadsheet writer, ``config.exports`` (text never a formula, numbers
numeric, dates dates): this module only reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from .models import Consumable, DeviceIdentifier, ExternalPrice
from .prices import with_prices_in_force

# consumables.csv columns, in docs/contract.md's order, then extra columns the importer may ignore.
MASTER_COLUMNS: list[tuple[str, str]] = [
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("spec", "规格型号"),
    ("unit", "单位"),
    ("manufacturer", "生产企业"),
    ("value_class", "价值类别"),
    ("tracking", "追踪方式"),
    ("chargeable", "可收费"),
    ("billed_by", "计费方式"),
    ("charge_code", "计费编码"),
    ("order_code", "医嘱编码"),
    ("insurance_code", "医保耗材编码"),
    ("insurance_class", "医保支付类别"),
    ("restriction", "限定支付条件"),
    ("udi_di", "UDI-DI"),
    ("units_per_package", "包装数量"),
    ("package_level", "包装层级"),
    ("platform_price", "挂网价"),
    ("vbp_price", "集采价"),
    ("purchase_price", "采购价"),
    ("charge_price", "收费价"),
    ("price_effective_from", "价格生效日期"),
    ("registration_no", "注册证号"),
    ("category", "类别"),
]


def _external_from(kind: str, at: dt.datetime):
    return Subquery(
        ExternalPrice.objects.filter(consumable=OuterRef("pk"), kind=kind, effective_from__lte=at)
        .order_by("-effective_from")
        .values("effective_from")[:1]
    )


def consumable_master_rows(
    queryset: QuerySet[Consumable], *, at: dt.datetime | None = None
) -> Iterator[dict]:
    """The master in ``import_master`` layout, one row per live UDI-DI (smallest first).

    Prices are those in force at ``at`` (default now); ``price_effective_from`` is the date
    the platform price in force was published, so re-importing the file changes nothing.
    Three queries in all, whatever the number of rows.
    """
    at = at or timezone.now()
    queryset = with_prices_in_force(queryset, at).annotate(
        platform_from=_external_from(ExternalPrice.Kind.PLATFORM, at),
        vbp_from=_external_from(ExternalPrice.Kind.VBP, at),
    )
    queryset = queryset.prefetch_related(
        Prefetch(
            "device_identifiers",
            queryset=DeviceIdentifier.objects.filter(is_active=True).order_by(
                "units_per_package", "pk"
            ),
            to_attr="live_dis",
        )
    ).order_by("material_code")
    for consumable in queryset:
        # The later announcement: at that date both external prices in force are today's,
        # so a re-import finds them already recorded.
        dates = [d for d in (consumable.platform_from, consumable.vbp_from) if d]
        price_from = max(dates) if dates else None
        base = {
            "material_code": consumable.material_code,
            "name": consumable.name,
            "spec": consumable.spec,
            "unit": consumable.unit,
            "manufacturer": consumable.manufacturer,
            "value_class": consumable.value_class,
            "tracking": consumable.tracking,
            "chargeable": "1" if consumable.chargeable else "0",
            "billed_by": consumable.billed_by,
            "charge_code": consumable.charge_code or "",
            "order_code": consumable.order_code or "",
            "insurance_code": consumable.insurance_code or "",
            "insurance_class": consumable.insurance_class,
            "restriction": consumable.insurance_restriction,
            "platform_price": _money(consumable.platform_price),
            "vbp_price": _money(consumable.vbp_price),
            "purchase_price": _money(consumable.purchase_price),
            "charge_price": _money(consumable.charge_price),
            "price_effective_from": (
                timezone.localdate(price_from).isoformat() if price_from else ""
            ),
            "registration_no": consumable.registration_no,
            "category": consumable.category,
        }
        dis = consumable.live_dis or [None]
        for di in dis:
            yield {
                **base,
                "udi_di": di.udi_di if di else "",
                "units_per_package": di.units_per_package if di else None,
                "package_level": di.package_level if di else "",
            }


def _money(value: Decimal | None) -> str:
    """A price as the text the import format has (12.5000 -> 12.50, 700 -> 700.00): the
    master export is a file that imports back unchanged, so its prices are written as typed."""
    if value is None:
        return ""
    value = Decimal(value)
    places = max(2, -value.normalize().as_tuple().exponent)
    return f"{value:.{min(places, 4)}f}"
