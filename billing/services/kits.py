"""Order kits (医嘱套包), split for charging (拆分计费).

West China Hospital split its order packages because a package charged as a whole charged
items that were never used, or not the ones used. Here a doctor order whose order code is a
kit's order code charges nothing by itself: it *covers* the uses of the kit's components.
The nurse scans the components actually used; each goes through the normal use path
(``billing.services.use``), moved and charged on its own, at its own charge price, with its
own five codes, linked to the kit order. Components left unused stay in ward stock.

- ``kit_upsert``: create or update a kit definition and its components (one transaction).
- ``kit_order_for_use``: the kit order of an encounter that a use of a consumable fulfils
  (the use path's order matching).
- ``encounter_kit_usage``: per kit order of an encounter, planned / used / charged of each
  component, and which components were not used (the kits page).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from consumables.models import Consumable

from ..models import ChargeLine, ChargeRefund, DoctorOrder, Encounter, Kit, KitComponent, Use

ZERO = Decimal("0.00")


@transaction.atomic
def kit_upsert(
    *,
    order_code: str,
    name: str,
    components: Iterable[tuple[Consumable, int]],
    is_active: bool = True,
) -> Kit:
    """Create or update the kit ``order_code`` with exactly ``components``
    (consumable, planned quantity per ordered kit); components not listed are removed."""
    kit = Kit.objects.select_for_update().filter(order_code=order_code).first() or Kit(
        order_code=order_code
    )
    kit.name = name
    kit.is_active = is_active
    kit.full_clean()
    kit.save()
    wanted = {}
    for consumable, quantity in components:
        wanted[consumable.pk] = wanted.get(consumable.pk, 0) + int(quantity)
    kit.components.exclude(consumable_id__in=wanted).delete()
    for consumable_id, quantity in wanted.items():
        component = kit.components.filter(consumable_id=consumable_id).first() or KitComponent(
            kit=kit, consumable_id=consumable_id
        )
        component.quantity = quantity
        component.full_clean()
        component.save()
    return kit


def kit_order_for_use(*, encounter: Encounter, consumable: Consumable) -> DoctorOrder | None:
    """The order of ``encounter`` for an active kit containing ``consumable``, or None.

    Among several such orders (two central lines, two kits), the earliest whose planned
    quantity of the item (component quantity × ordered quantity) is not used up yet, net of
    returns; when all are used up, the earliest, so the over-use stays visible on the kit.
    One query.
    """
    planned = KitComponent.objects.filter(
        kit__order_code=OuterRef("order_code"), kit__is_active=True, consumable=consumable
    ).values("quantity")[:1]
    orders = (
        DoctorOrder.objects.filter(encounter=encounter)
        .annotate(per_kit=Subquery(planned, output_field=IntegerField()))
        .filter(per_kit__isnull=False)
        .annotate(
            used=Coalesce(
                Sum(
                    F("uses__quantity") - F("uses__returned_quantity"),
                    filter=Q(uses__consumable=consumable),
                ),
                Value(0),
            )
        )
        .order_by("ordered_at", "pk")
    )
    first = None
    for order in orders:
        first = first or order
        if order.used < order.per_kit * order.quantity:
            return order
    return first


@dataclass
class ComponentUsage:
    """One item under a kit order: ``planned`` is None for an item outside the kit that was
    used under the kit's order anyway (an explicit ``order`` on the scan)."""

    consumable: Consumable
    planned: int | None
    used: int = 0
    charged: int = 0
    amount: Decimal = ZERO

    @property
    def in_kit(self) -> bool:
        return self.planned is not None

    @property
    def unused(self) -> bool:
        return self.in_kit and self.used <= 0

    @property
    def status(self) -> str:
        if not self.in_kit:
            return "outside"
        if self.used <= 0:
            return "unused"
        if self.used < self.planned:
            return "partial"
        if self.used == self.planned:
            return "used"
        return "over"

    @property
    def status_label(self) -> str:
        return {
            "outside": _("套包外 / not in the kit"),
            "unused": _("未使用 / not used"),
            "partial": _("部分使用 / partly used"),
            "used": _("已使用 / used"),
            "over": _("超出计划 / more than planned"),
        }[self.status]


@dataclass
class KitOrderUsage:
    order: DoctorOrder
    kit: Kit
    components: list[ComponentUsage] = field(default_factory=list)

    @property
    def unused(self) -> list[ComponentUsage]:
        return [c for c in self.components if c.unused]

    @property
    def charged_amount(self) -> Decimal:
        return sum((c.amount for c in self.components), ZERO)


def encounter_kit_usage(*, encounter: Encounter) -> list[KitOrderUsage]:
    """Every order of ``encounter`` whose order code is a kit's (active or not), oldest
    first, with each component's planned quantity (component quantity × ordered quantity),
    used (uses linked to the order, net of returns), charged (charge lines linked to the
    order, net of refunds) and net charged amount. Items used under the kit order but not
    in the kit follow the components. At most six queries, whatever the size.
    """
    orders = list(
        DoctorOrder.objects.filter(
            encounter=encounter, order_code__in=Kit.objects.values("order_code")
        ).order_by("ordered_at", "pk")
    )
    if not orders:
        return []
    components = Prefetch(
        "components",
        queryset=KitComponent.objects.select_related("consumable").order_by(
            "consumable__material_code"
        ),
    )
    kits = {
        kit.order_code: kit
        for kit in Kit.objects.filter(
            order_code__in={o.order_code for o in orders}
        ).prefetch_related(components)
    }
    order_ids = [o.pk for o in orders]
    used = {
        (row["order_id"], row["consumable_id"]): row["net"]
        for row in Use.objects.filter(order_id__in=order_ids)
        .values("order_id", "consumable_id")
        .annotate(net=Sum(F("quantity") - F("returned_quantity")))
    }
    charged = {
        (row["order_id"], row["consumable_id"]): (row["net"], row["amount"])
        for row in ChargeLine.objects.filter(order_id__in=order_ids)
        .values("order_id", "consumable_id")
        .annotate(net=Sum(F("quantity") - F("refunded_quantity")), amount=Sum("amount"))
    }
    refunded = {
        (row["charge__order_id"], row["charge__consumable_id"]): row["amount"]
        for row in ChargeRefund.objects.filter(charge__order_id__in=order_ids)
        .values("charge__order_id", "charge__consumable_id")
        .annotate(amount=Sum("amount"))
    }
    keys = used.keys() | charged.keys()
    extras = {
        order.pk: {cid for (oid, cid) in keys if oid == order.pk}
        - {c.consumable_id for c in kits[order.order_code].components.all()}
        for order in orders
    }
    outside_ids = set().union(*extras.values())
    outside = (
        {c.pk: c for c in Consumable.objects.filter(pk__in=outside_ids)} if outside_ids else {}
    )

    def usage(order, consumable, planned) -> ComponentUsage:
        key = (order.pk, consumable.pk)
        net_charged, amount = charged.get(key, (0, ZERO))
        return ComponentUsage(
            consumable=consumable,
            planned=planned,
            used=used.get(key) or 0,
            charged=net_charged or 0,
            amount=(amount or ZERO) - (refunded.get(key) or ZERO),
        )

    result = []
    for order in orders:
        kit = kits[order.order_code]
        rows = [
            usage(order, c.consumable, c.quantity * order.quantity) for c in kit.components.all()
        ]
        for cid in sorted(extras[order.pk], key=lambda cid: outside[cid].material_code):
            rows.append(usage(order, outside[cid], None))
        result.append(KitOrderUsage(order=order, kit=kit, components=rows))
    return result
