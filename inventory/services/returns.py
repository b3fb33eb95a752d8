"""Returns (退库/退货) and scrap (报损).

``return`` with an ``encounter`` is a return from a patient, handled by the billing app
(it reverses the charge); without one it sends stock back up the chain: a ward or theatre
returns to a store (``to_department``, default the hospital's only store), a store returns
to its supplier. Recalled and expired stock may always be returned or scrapped.
"""

from __future__ import annotations

from organisation.models import Department, Location

from .. import errors
from ..ledger import department_location, virtual_location
from .issue import move_scanned_stock
from .scans import HANDLERS, ScanContext, ScanResult, department_by_code, register

PATIENT_RETURN = "return_from_patient"


def _default_store() -> Department:
    stores = list(Department.objects.filter(kind=Department.Kind.STORE, is_active=True)[:2])
    if len(stores) != 1:
        raise errors.validation(
            "to_department", "请指定退回的库房", "to_department is required (several stores)"
        )
    return stores[0]


def return_stock(context: ScanContext) -> ScanResult:
    if context.request.encounter:
        handler = HANDLERS.get(PATIENT_RETURN)
        if handler is None:
            raise errors.validation(
                "encounter", "暂不支持患者退回", "Returns from patients are not available"
            )
        return handler(context)
    source = context.department
    if source.kind == Department.Kind.STORE:
        target = virtual_location(Location.Usage.SUPPLIER)
    else:
        store = (
            department_by_code(context.request.to_department, "to_department")
            if context.request.to_department
            else _default_store()
        )
        if store.kind != Department.Kind.STORE:
            # Ward to ward is a transfer, not a return: a return goes back up to a store.
            raise errors.validation(
                "to_department",
                f"退回只能退到库房：{store.name} 不是库房",
                f"A return goes back to a store only: {store.code} is not a store",
                reason="NOT_A_STORE",
            )
        target = department_location(store)
    return move_scanned_stock(
        context,
        kind="return",
        source=department_location(source),
        target=target,
        allow_unusable=True,
    ).result(context, to=target.code)


def scrap(context: ScanContext) -> ScanResult:
    if not (context.request.reason or "").strip():
        raise errors.validation("reason", "报损须填写原因", "A scrap needs a reason")
    return move_scanned_stock(
        context,
        kind="scrap",
        source=department_location(context.department),
        target=virtual_location(Location.Usage.SCRAP),
        allow_unusable=True,
    ).result(context)


register("return", return_stock)
register("scrap", scrap)
