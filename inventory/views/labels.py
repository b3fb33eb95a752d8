"""Page: the printable sheet of in-hospital labels (院内码打印).

``GET /inventory/labels/`` with any of

- ``labels=YN…,YN…`` (commas, blanks or new lines between; the parameter may repeat),
- ``receipt=<receipt id>``: every label created by the lines of one receipt (入库单),
- ``event=<event_id>``: every label created by one receive scan,

renders one 50 × 30 mm label per unit: Code 128 of the label text, a small DataMatrix (GS1
``(01)(17)(10)(21)`` with the label as serial when the unit has a GS1 DI, else the label
text), material name, spec, lot and expiry. On screen the labels show in a grid with a print
button; printed (``static/css/labels.css``) each label is one 50 × 30 mm page.

Labels of a receipt or an event are found through the units received by its receipt lines
(same consumable, lot and time of receipt) that carry an in-hospital label.

Storekeepers, nurses and administrators only. A non-administrator prints only labels of
units at a location of a department he may see (``visible_departments``) or of units that
have already left stock (used, scrapped, returned to the supplier); a label with no unit
is for administrators only. Unknown and refused labels are listed with a message; when
nothing is left to print the page answers 404 (nothing found) or 403 (nothing allowed).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.db.models import Q
from django.shortcuts import render
from django.urls import path
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from config import roles
from config.permissions import has_role, role_required
from consumables.models import HospitalLabel
from organisation.selectors import visible_departments

from ..labels import LabelError, label_symbols
from ..models import Receipt, ReceiptLine, TrackedUnit

PRINTERS = (roles.STOREKEEPER, roles.NURSE, roles.ADMINISTRATOR)
MAX_LABELS = 500
_SPLIT = re.compile(r"[\s,，;；、]+")


@dataclass
class Sheet:
    """What the page shows: printable labels and what could not be printed, and why."""

    items: list
    unknown: list[str]
    denied: list[str]
    problems: list[str]
    truncated: bool = False


def _requested_texts(request) -> list[str]:
    texts: list[str] = []
    for value in request.GET.getlist("labels"):
        texts.extend(t.upper() for t in _SPLIT.split(value) if t)
    return list(dict.fromkeys(texts))  # unique, in the order asked


def _labels_of_lines(lines) -> list[str]:
    """Labels of the units received by ``lines`` (ReceiptLine rows)."""
    condition = Q()
    for line in lines:
        condition |= Q(
            consumable_id=line.consumable_id, lot_id=line.lot_id, received_at=line.received_at
        )
    if not condition:
        return []
    return list(
        TrackedUnit.objects.filter(condition, hospital_label__isnull=False)
        .order_by("hospital_label__label")
        .values_list("hospital_label__label", flat=True)
    )


def _from_receipt(value: str, problems: list[str]) -> list[str]:
    receipt = Receipt.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if receipt is None:
        problems.append(_("入库单 %(no)s 不存在 / Receipt %(no)s not found") % {"no": value})
        return []
    found = _labels_of_lines(receipt.lines.all())
    if not found:
        problems.append(
            _("入库单 %(no)s 没有生成院内码 / Receipt %(no)s created no in-hospital labels")
            % {"no": value}
        )
    return found


def _from_event(value: str, problems: list[str]) -> list[str]:
    try:
        event_id = uuid.UUID(value)
    except ValueError:
        problems.append(
            _("扫码事件编号 %(id)s 格式错误 / Malformed event id %(id)s") % {"id": value}
        )
        return []
    found = _labels_of_lines(ReceiptLine.objects.filter(move__event_id=event_id))
    if not found:
        problems.append(
            _(
                "扫码事件 %(id)s 没有生成院内码（不是入库扫码，或该耗材有原厂序列号）/ "
                "Event %(id)s created no in-hospital labels"
            )
            % {"id": value}
        )
    return found


def _may_print(label: HospitalLabel, department_ids: set[int] | None) -> bool:
    if department_ids is None:  # administrators
        return True
    try:
        unit = label.unit
    except TrackedUnit.DoesNotExist:
        return False
    location = unit.location
    if location is None or location.department_id is None:
        return True  # it has left stock: reprinting its label harms nobody
    return location.department_id in department_ids


def _item(label: HospitalLabel) -> dict:
    symbols = label_symbols(
        label.label, udi_di=label.udi_di, lot=label.lot or None, expiry=label.expiry
    )
    consumable = label.consumable
    return {
        "label": label.label,
        "name": consumable.name,
        "spec": consumable.spec,
        "unit": consumable.unit,
        "material_code": consumable.material_code,
        "lot": label.lot,
        "expiry": label.expiry,
        # SVG made by inventory.labels from the label's own data, attributes escaped there.
        "code128_svg": mark_safe(symbols.code128_svg),
        "datamatrix_svg": mark_safe(symbols.datamatrix_svg),
        "datamatrix_gs1": symbols.datamatrix.gs1,
        "datamatrix_hri": symbols.datamatrix.hri or symbols.datamatrix.content,
    }


def build_sheet(user, *, texts: list[str], receipt: str = "", event: str = "") -> Sheet:
    problems: list[str] = []
    wanted = list(texts)
    if receipt:
        wanted += _from_receipt(receipt.strip(), problems)
    if event:
        wanted += _from_event(event.strip(), problems)
    wanted = list(dict.fromkeys(wanted))
    truncated = len(wanted) > MAX_LABELS
    wanted = wanted[:MAX_LABELS]

    rows = {
        row.label: row
        for row in HospitalLabel.objects.filter(label__in=wanted).select_related(
            "consumable", "unit__location"
        )
    }
    department_ids = (
        None
        if has_role(user, roles.ADMINISTRATOR)
        else set(visible_departments(user).values_list("pk", flat=True))
    )
    sheet = Sheet(items=[], unknown=[], denied=[], problems=problems, truncated=truncated)
    for text in wanted:
        row = rows.get(text)
        if row is None:
            sheet.unknown.append(text)
        elif not _may_print(row, department_ids):
            sheet.denied.append(text)
        else:
            try:
                sheet.items.append(_item(row))
            except LabelError:
                sheet.problems.append(
                    _("院内码 %(label)s 无法生成条码 / Cannot draw %(label)s") % {"label": text}
                )
    return sheet


@role_required(*PRINTERS)
def label_sheet(request):
    texts = _requested_texts(request)
    receipt = request.GET.get("receipt", "")
    event = request.GET.get("event", "")
    asked = bool(texts or receipt.strip() or event.strip())
    sheet = build_sheet(request.user, texts=texts, receipt=receipt, event=event) if asked else None
    status = 200
    if sheet is not None and not sheet.items:
        status = 403 if sheet.denied else 404
    return render(
        request,
        "inventory/labels/sheet.html",
        {
            "asked": asked,
            "sheet": sheet,
            "labels_text": "\n".join(texts),
            "max_labels": MAX_LABELS,
        },
        status=status,
    )


urlpatterns = [
    path("", label_sheet, name="label-sheet"),
]
