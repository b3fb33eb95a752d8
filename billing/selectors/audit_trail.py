"""The audit trail (审计追踪): who did what and when, for auditors.

One time-ordered list over every source of record the system keeps:
- master data, mappings, prices and approvals: every model with django-simple-history
  (consumables, DIs, platform/VBP prices, price versions and their approvals, departments
  and their staff, suppliers, kits, high-value approvals, and whatever registers later),
  each change with its before/after values;
- scans (``inventory.ScanEvent``: every accepted scan or HIS feed write, by event id);
- charges (``ChargeLine``), refunds (``ChargeRefund``) and self-pay consents (``Consent``).

Set-based: the sources are one SQL ``UNION ALL`` of narrow selects (time, user, source,
model, row id) filtered in SQL, ordered and sliced there; only the page's rows are then read,
one query per source or history model on the page, and the previous versions of the page's
history rows in one more query per model. A page costs a bounded number of queries whatever
the size of the history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import (
    CharField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import ChargeLine, ChargeRefund, Consent
from billing.selectors.ward import patient_name_for
from inventory.models import ScanEvent

SHOWN_APPS = ("organisation", "consumables", "inventory", "billing")
# Fields a free-text search looks in, where a history model has them.
CODE_FIELDS = (
    "material_code",
    "charge_code",
    "order_code",
    "insurance_code",
    "di",
    "code",
    "order_id",
    "visit_no",
    "encounter_no",  # a finding's follow-up steps (FindingFollowUp)
)
HISTORY_TYPES = {
    "+": gettext_lazy("新增 / create"),
    "~": gettext_lazy("修改 / update"),
    "-": gettext_lazy("删除 / delete"),
}
SOURCES = {
    "master": gettext_lazy("主数据与审批 / master data & approvals"),
    "scan": gettext_lazy("扫码 / scans"),
    "charge": gettext_lazy("计费 / charges"),
    "refund": gettext_lazy("退费 / refunds"),
    "consent": gettext_lazy("知情同意 / consents"),
}
# The actions of idempotent writes (ScanEvent.action): scans and the HIS feed's charges.
EVENT_ACTIONS = {
    "receive": gettext_lazy("入库 / receive"),
    "issue": gettext_lazy("出库 / issue"),
    "use": gettext_lazy("使用 / use"),
    "return": gettext_lazy("退回 / return"),
    "scrap": gettext_lazy("报损 / scrap"),
    "charge": gettext_lazy("HIS 计费 / HIS charge"),
    "refund": gettext_lazy("HIS 退费 / HIS refund"),
}
SKIPPED_FIELDS = {"history_id", "history_date", "history_change_reason", "history_type"}


@dataclass
class TrailFilter:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    username: str = ""
    source: str = ""
    text: str = ""


@dataclass
class TrailEntry:
    at: dt.datetime
    username: str
    source: str
    action: str
    subject: str
    reference: str
    details: list[tuple[str, str, str]] = field(default_factory=list)  # (what, before, after)

    @property
    def source_label(self) -> str:
        return str(SOURCES[self.source])


def history_models() -> list[type]:
    """The historical models of our apps, in a stable order (by their label)."""
    found = []
    for label in SHOWN_APPS:
        for model in apps.get_app_config(label).get_models():
            manager = getattr(model._meta, "simple_history_manager_attribute", None)
            if manager:
                found.append(getattr(model, manager).model)
    return sorted(found, key=lambda m: m._meta.label)


COLUMNS = ("t_at", "t_user", "t_source", "t_model", "t_pk")


def _narrow(queryset: QuerySet, *, at: str, user: str, source: str, model: str) -> QuerySet:
    return (
        queryset.annotate(
            t_at=F(at),
            t_user=F(user),
            t_source=Value(source, output_field=CharField()),
            t_model=Value(model, output_field=CharField()),
            t_pk=F("pk"),
        )
        .values_list(*COLUMNS)
        .order_by()
    )


def _window(queryset: QuerySet, at: str, user: str, flt: TrailFilter) -> QuerySet:
    if flt.since:
        queryset = queryset.filter(**{f"{at}__gte": flt.since})
    if flt.until:
        queryset = queryset.filter(**{f"{at}__lt": flt.until})
    if flt.username:
        queryset = queryset.filter(**{f"{user}__username": flt.username})
    return queryset


def _text_q(model, text: str, extra: tuple[str, ...] = ()) -> Q | None:
    names = {f.name for f in model._meta.get_fields()}
    query = Q()
    for name in (*CODE_FIELDS, *extra):
        if "__" in name or name in names:
            query |= Q(**{name: text})
    return query or None


def _selects(flt: TrailFilter) -> list[QuerySet]:
    selects = []
    text = flt.text.strip()
    if flt.source in ("", "master"):
        for model in history_models():
            queryset = _window(model.objects.all(), "history_date", "history_user", flt)
            if text:
                query = _text_q(model, text)
                if query is None:
                    continue
                queryset = queryset.filter(query)
            selects.append(
                _narrow(
                    queryset,
                    at="history_date",
                    user="history_user_id",
                    source="master",
                    model=model._meta.label,
                )
            )
    plain = {
        "scan": (ScanEvent, "created_at", "user", ("response__consumable__material_code",)),
        "charge": (ChargeLine, "charged_at", "user", ("encounter__visit_no", "material_code")),
        "refund": (
            ChargeRefund,
            "refunded_at",
            "user",
            ("charge__encounter__visit_no", "charge__material_code"),
        ),
        "consent": (
            Consent,
            "signed_at",
            "recorded_by",
            ("encounter__visit_no", "consumable__material_code"),
        ),
    }
    for source, (model, at, user, text_fields) in plain.items():
        if flt.source not in ("", source):
            continue
        queryset = _window(model.objects.all(), at, user, flt)
        if text:
            query = Q()
            for name in text_fields:
                query |= Q(**{name: text})
            if source == "scan":
                query |= Q(response__encounter=text) | Q(response__hospital_barcode=text)
            queryset = queryset.filter(query)
        selects.append(
            _narrow(queryset, at=at, user=f"{user}_id", source=source, model=model._meta.label)
        )
    return selects


def _keys(flt: TrailFilter, offset: int, limit: int) -> list[tuple]:
    selects = _selects(flt)
    if not selects:
        return []
    first, *rest = selects
    union = first.union(*rest, all=True) if rest else first
    # Newest first; ties broken by source, model and id so pages never overlap.
    return list(union.order_by("-t_at", "t_source", "t_model", "-t_pk")[offset : offset + limit])


def _usernames(ids: set[int]) -> dict[int, str]:
    from django.contrib.auth import get_user_model

    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


def _history_entries(model, ids: list[int]) -> dict[int, TrailEntry]:
    """The history rows ``ids`` of ``model`` with their changes against the previous version:
    two queries (the rows, then their previous versions)."""
    original = model.instance_type
    pk_name = original._meta.pk.attname
    previous = (
        model.objects.filter(
            **{pk_name: OuterRef(pk_name)}, history_date__lt=OuterRef("history_date")
        )
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    rows = list(model.objects.filter(history_id__in=ids).annotate(prev_id=Subquery(previous)))
    before = model.objects.in_bulk([r.prev_id for r in rows if r.prev_id], field_name="history_id")
    fields = [
        f
        for f in model._meta.concrete_fields
        if f.attname not in SKIPPED_FIELDS and f.attname != "history_user_id"
    ]
    entries = {}
    for row in rows:
        prev = before.get(row.prev_id)
        details = []
        for f in fields:
            after = getattr(row, f.attname)
            was = getattr(prev, f.attname) if prev else None
            if row.history_type == "~" and after == was:
                continue
            if row.history_type == "+" and after in (None, ""):
                continue
            label = str(getattr(original._meta.get_field(f.name), "verbose_name", f.name))
            details.append((label, "" if was is None else str(was), str(after)))
        entries[row.history_id] = TrailEntry(
            at=row.history_date,
            username="",
            source="master",
            action=str(HISTORY_TYPES.get(row.history_type, row.history_type)),
            subject=f"{original._meta.verbose_name}: {row.history_object}",
            reference=f"{original._meta.label_lower}:{getattr(row, pk_name)}",
            details=details if row.history_type != "-" else [],
        )
    return entries


def _scan_entries(ids: list[int], viewer) -> dict[int, TrailEntry]:
    entries = {}
    for event in ScanEvent.objects.filter(pk__in=ids):
        answer = event.response or {}
        consumable = answer.get("consumable") or {}
        details = [
            (_("数量 / quantity"), "", str(answer.get("quantity", ""))),
            (_("批号 / lot"), "", str(answer.get("lot") or "")),
            (_("序列号 / serial"), "", str(answer.get("serial") or "")),
        ]
        if answer.get("encounter"):
            details.append((_("住院号 / visit no."), "", str(answer["encounter"])))
        entries[event.pk] = TrailEntry(
            at=event.created_at,
            username="",
            source="scan",
            action=EVENT_ACTIONS.get(event.action, event.action),
            subject=" ".join(
                str(v) for v in (consumable.get("material_code"), consumable.get("name")) if v
            ),
            reference=f"event:{event.event_id}",
            details=[d for d in details if d[2]],
        )
    return entries


def _charge_entries(ids: list[int], viewer) -> dict[int, TrailEntry]:
    lines = ChargeLine.objects.filter(pk__in=ids).select_related("encounter__patient")
    return {
        line.pk: TrailEntry(
            at=line.charged_at,
            username="",
            source="charge",
            action=_("计费 / charge (%(source)s)") % {"source": line.get_source_display()},
            subject=f"{line.material_code} {line.charge_code}",
            reference=f"charge:{line.pk}",
            details=[
                (_("住院号 / visit no."), "", line.encounter.visit_no),
                (_("患者 / patient"), "", patient_name_for(viewer, line.encounter.patient.name)),
                (_("数量 / quantity"), "", str(line.quantity)),
                (_("单价 / unit price"), "", str(line.unit_price)),
                (_("金额 / amount"), "", str(line.amount)),
            ],
        )
        for line in lines
    }


def _refund_entries(ids: list[int], viewer) -> dict[int, TrailEntry]:
    refunds = ChargeRefund.objects.filter(pk__in=ids).select_related("charge__encounter__patient")
    return {
        refund.pk: TrailEntry(
            at=refund.refunded_at,
            username="",
            source="refund",
            action=_("退费 / refund"),
            subject=f"{refund.charge.material_code} {refund.charge.charge_code}",
            reference=f"charge:{refund.charge_id}",
            details=[
                (_("住院号 / visit no."), "", refund.charge.encounter.visit_no),
                (
                    _("患者 / patient"),
                    "",
                    patient_name_for(viewer, refund.charge.encounter.patient.name),
                ),
                (_("数量 / quantity"), "", str(refund.quantity)),
                (_("金额 / amount"), "", str(refund.amount)),
                (_("原因 / reason"), "", refund.reason),
            ],
        )
        for refund in refunds
    }


def _consent_entries(ids: list[int], viewer) -> dict[int, TrailEntry]:
    consents = Consent.objects.filter(pk__in=ids).select_related(
        "encounter__patient", "consumable"
    )
    return {
        consent.pk: TrailEntry(
            at=consent.signed_at,
            username="",
            source="consent",
            action=_("自费知情同意 / self-pay consent"),
            subject=f"{consent.consumable.material_code} {consent.consumable.name}",
            reference=f"consent:{consent.pk}",
            details=[
                (_("住院号 / visit no."), "", consent.encounter.visit_no),
                (_("患者 / patient"), "", patient_name_for(viewer, consent.encounter.patient.name)),
                (
                    _("签署人 / signed by"),
                    "",
                    _("%(name)s（%(relationship)s）")
                    % {"name": consent.signed_by, "relationship": consent.relationship},
                ),
            ],
        )
        for consent in consents
    }


READERS = {
    "scan": _scan_entries,
    "charge": _charge_entries,
    "refund": _refund_entries,
    "consent": _consent_entries,
}


def audit_trail(*, flt: TrailFilter, viewer, offset: int = 0, limit: int = 50) -> list[TrailEntry]:
    """One page of the audit trail, newest first (patient names masked per ``viewer``)."""
    keys = _keys(flt, offset, limit)
    wanted: dict[tuple[str, str], list[int]] = defaultdict(list)
    for _at, _user, source, model, pk in keys:
        wanted[(source, model)].append(pk)
    found: dict[tuple[str, str, int], TrailEntry] = {}
    for (source, label), ids in wanted.items():
        if source == "master":
            entries = _history_entries(apps.get_model(label), ids)
        else:
            entries = READERS[source](ids, viewer)
        for pk, entry in entries.items():
            found[(source, label, pk)] = entry
    names = _usernames({user for _, user, *_ in keys if user})
    page = []
    for _at, user, source, model, pk in keys:
        entry = found.get((source, model, pk))
        if entry is not None:
            entry.username = names.get(user, "")
            page.append(entry)
    return page


def iter_audit_trail(*, flt: TrailFilter, viewer, chunk: int = 1000) -> Iterator[TrailEntry]:
    """Every entry matching ``flt``, newest first, read a chunk at a time (for exports)."""
    offset = 0
    while True:
        page = audit_trail(flt=flt, viewer=viewer, offset=offset, limit=chunk)
        yield from page
        if len(page) < chunk:
            return
        offset += chunk
