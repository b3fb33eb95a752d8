"""A small hospital over three business days, reconciled every night, for the finance tests.

Departments: the central store CK01, the wards XNK (cardiology, the ``hospital`` fixture's)
and GKB (orthopaedics), the theatre SSS01. Items: a syringe A billed by scan (2.50), a
cannula B keyed in at HIS (30.00), a consignment bone plate C tracked by unit and billed by
scan (3800.00, received straight into the theatre, 跟台), a hospital-owned stent D tracked
by unit and keyed in at HIS (6000.00), and an item E whose platform price fell below its
purchase price. Stock is received on day 0; days 1-3 are reconciled.

What happens, and so what the reports must show (``FIGURES`` below, derived by hand):
- day 1: nurse01 uses A x4 on ZY001 (charged by the scan) and B x3 (HIS charges 2: 漏费 1);
  the store receives 5 more B at 31.00 against an approved purchase price of 30.00.
- day 2: nurse02 uses A x5 on ZY002 and HIS charges 2 more (重复收费 2); HIS charges the
  missing B on ZY001 but at 35.00 (收费价格不符).
- day 3: in the theatre ssn01 uses plate C (charged) and stent D (never charged: 漏费) on
  ZY003; nurse01 uses A x2 and one more B on ZY001, not charged (the 漏费 of day 1 again).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser

from django.contrib.auth.models import Group
from django.test import override_settings
from django.utils import timezone

from billing import reconciliation
from billing.models import DoctorOrder, Encounter, Patient
from config import roles
from config.business_day import BUSINESS_ZONE, business_day
from consumables.models import Consumable, ExternalPrice
from organisation.models import Department, Supplier
from tests.billing.conftest import client_for, gs1, gtin, post_scan
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    ExternalPriceFactory,
    PriceVersionFactory,
)

SHANGHAI = BUSINESS_ZONE
PRICES = {"A": "2.50", "B": "30.00", "C": "3800.00", "D": "6000.00", "E": "10.00"}


def at(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI).isoformat()


@dataclass
class FinanceHospital:
    days: list[dt.date]  # day 1, day 2, day 3 (yesterday)
    items: dict[str, Consumable]
    departments: dict[str, Department]
    users: dict[str, object]  # API clients, with .user
    ids: dict[str, int] = field(default_factory=dict)


def _item(key: str, di_body: str, **fields) -> tuple[Consumable, str]:
    consumable = ConsumableFactory(**fields)
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin(di_body)).udi_di
    price = Decimal(PRICES[key])
    PriceVersionFactory(
        consumable=consumable,
        purchase_price=price,
        charge_price=price,
        effective_from=timezone.now() - dt.timedelta(days=60),
    )
    return consumable, di


def _ok(response):
    assert response.status_code in (200, 201), response.json()
    return response.json()


def _his_charge(his, visit_no, consumable, quantity, price, when):
    return _ok(
        his.post(
            "/api/v1/charges",
            {
                "event_id": str(uuid.uuid4()),
                "encounter": visit_no,
                "charge_code": consumable.charge_code,
                "quantity": quantity,
                "unit_price": price,
                "charged_at": when,
            },
            format="json",
        )
    )["charge"]["id"]


# The month is posted through the scan API and the HIS feed as it happened, days back:
# wider than the live back-dating window (TIME_OUT_OF_RANGE), as a data migration would be.
HISTORY_WINDOW_HOURS = 24 * 400


def build(hospital) -> FinanceHospital:
    with override_settings(SCAN_BACKDATE_HOURS=HISTORY_WINDOW_HOURS):
        return _build(hospital)


def _build(hospital) -> FinanceHospital:
    today = business_day(timezone.now())
    day0, *days = [today - dt.timedelta(days=n) for n in (4, 3, 2, 1)]
    d1, d2, d3 = days
    store, xnk = hospital["store"], hospital["ward"]
    gkb = DepartmentFactory(code="GKB", name="骨科病区")
    theatre = DepartmentFactory(code="SSS01", name="第一手术室", kind=Department.Kind.THEATRE)
    Supplier.objects.create(code="GYS02", name="成都某骨科器械有限公司")
    keeper, nurse01 = hospital["keeper"], hospital["nurse"]
    for department in (xnk, gkb, theatre):
        department.members.add(keeper.user)
    nurse01.user.first_name, nurse01.user.last_name = "小红", "李"
    nurse01.user.save()
    nurse02 = client_for("nurse02", roles.NURSE, gkb)
    ssn01 = client_for("ssn01", roles.NURSE, theatre)
    his = client_for("his01", roles.INTEGRATION)

    a, a_di = _item("A", "690900000001", name="一次性使用无菌注射器", unit="支")
    b, b_di = _item(
        "B", "690900000002", name="静脉留置针", billed_by=Consumable.BilledBy.HIS, unit="支"
    )
    c, c_di = _item(
        "C",
        "690900000003",
        name="锁定接骨板",
        tracking=Consumable.Tracking.UNIT,
        value_class=Consumable.ValueClass.HIGH,
        unit="块",
    )
    d, d_di = _item(
        "D",
        "690900000004",
        name="药物洗脱冠脉支架",
        tracking=Consumable.Tracking.UNIT,
        value_class=Consumable.ValueClass.HIGH,
        billed_by=Consumable.BilledBy.HIS,
        unit="个",
    )
    e, _ = _item("E", "690900000005", name="一次性使用吸痰管")
    ExternalPriceFactory(
        consumable=e,
        kind=ExternalPrice.Kind.PLATFORM,
        price=Decimal("9.00"),
        effective_from=timezone.now() - dt.timedelta(days=10),
    )

    # Day 0: stock in. A and B to both wards through the store; C straight into the theatre
    # on consignment; D owned, through the store.
    for code, quantity, wards in (
        (gs1(a_di, lot="A1"), 20, (xnk, gkb)),
        (gs1(b_di, lot="B1"), 10, (xnk,)),
    ):
        price = PRICES["A"] if code.startswith(f"01{a_di}") else PRICES["B"]
        _ok(
            post_scan(
                keeper,
                "receive",
                code,
                "CK01",
                supplier="GYS01",
                unit_cost=price,
                quantity=quantity,
                occurred_at=at(day0, 8),
            )
        )
        for ward in wards:
            _ok(
                post_scan(
                    keeper,
                    "issue",
                    code,
                    ward.code,
                    from_department="CK01",
                    quantity=quantity // len(wards),
                    occurred_at=at(day0, 9),
                )
            )
    plate = gs1(c_di, lot="C1", serial="S0001")
    _ok(
        post_scan(
            keeper,
            "receive",
            plate,
            "SSS01",
            supplier="GYS02",
            unit_cost=PRICES["C"],
            invoice_no="GT-001",
            ownership="consignment",
            occurred_at=at(day0, 10),
        )
    )
    stent = gs1(d_di, lot="D1", serial="T0001")
    _ok(
        post_scan(
            keeper,
            "receive",
            stent,
            "CK01",
            supplier="GYS01",
            unit_cost=PRICES["D"],
            invoice_no="FP-002",
            occurred_at=at(day0, 10),
        )
    )
    _ok(
        post_scan(keeper, "issue", stent, "SSS01", from_department="CK01", occurred_at=at(day0, 11))
    )

    patients = {"ZY002": ("P002", "李四", gkb), "ZY003": ("P003", "王五", gkb)}
    for visit_no, (patient_id, name, ward) in patients.items():
        Encounter.objects.create(
            visit_no=visit_no,
            patient=Patient.objects.create(patient_id=patient_id, name=name),
            department=ward,
            admitted_at=timezone.now() - dt.timedelta(days=6),
        )
    ordered = timezone.now() - dt.timedelta(days=5)
    for n, (visit_no, item) in enumerate(
        [("ZY001", a), ("ZY001", b), ("ZY002", a), ("ZY003", c), ("ZY003", d)]
    ):
        DoctorOrder.objects.create(
            order_id=f"YZ-{n}",
            encounter=Encounter.objects.get(visit_no=visit_no),
            order_code=item.order_code,
            quantity=10,  # covers the stay: CHARGE_OVER_ORDER has its own tests
            ordered_at=ordered,
            doctor="王医生",
        )

    ids = {}
    # Day 1
    a1 = gs1(a_di, lot="A1")
    b1 = gs1(b_di, lot="B1")
    _ok(post_scan(nurse01, "use", a1, "XNK", encounter="ZY001", quantity=4, occurred_at=at(d1, 9)))
    _ok(post_scan(nurse01, "use", b1, "XNK", encounter="ZY001", quantity=3, occurred_at=at(d1, 10)))
    _his_charge(his, "ZY001", b, 2, PRICES["B"], at(d1, 11))
    _ok(
        post_scan(
            keeper,
            "receive",
            gs1(b_di, lot="B2"),
            "CK01",
            supplier="GYS01",
            unit_cost="31.00",
            quantity=5,
            invoice_no="FP-003",
            occurred_at=at(d1, 14),
        )
    )
    # Day 2
    _ok(post_scan(nurse02, "use", a1, "GKB", encounter="ZY002", quantity=5, occurred_at=at(d2, 9)))
    ids["duplicate_charge"] = _his_charge(his, "ZY002", a, 2, PRICES["A"], at(d2, 10))
    ids["price_mismatch"] = _his_charge(his, "ZY001", b, 1, "35.00", at(d2, 11))
    # Day 3
    _ok(post_scan(ssn01, "use", plate, "SSS01", encounter="ZY003", occurred_at=at(d3, 9)))
    _ok(post_scan(ssn01, "use", stent, "SSS01", encounter="ZY003", occurred_at=at(d3, 10)))
    _ok(post_scan(nurse01, "use", a1, "XNK", encounter="ZY001", quantity=2, occurred_at=at(d3, 11)))
    _ok(post_scan(nurse01, "use", b1, "XNK", encounter="ZY001", quantity=1, occurred_at=at(d3, 12)))

    # Published prices ahead: A enters a VBP programme at 2.00 in 10 days (the hospital's
    # 2.50 will break the rule), C's platform price rises to 4000 in 20 days (still fine),
    # B's platform price changes in 40 days (beyond the 30-day window).
    soon = timezone.now() + dt.timedelta(days=10)
    ExternalPriceFactory(
        consumable=a,
        kind=ExternalPrice.Kind.VBP,
        price=Decimal("2.00"),
        effective_from=soon,
        source="省平台集采公告",
    )
    ExternalPriceFactory(
        consumable=c,
        kind=ExternalPrice.Kind.PLATFORM,
        price=Decimal("4000.00"),
        effective_from=soon + dt.timedelta(days=10),
    )
    ExternalPriceFactory(
        consumable=b,
        kind=ExternalPrice.Kind.PLATFORM,
        price=Decimal("28.00"),
        effective_from=soon + dt.timedelta(days=30),
    )

    for day in days:
        reconciliation.reconciliation_run(day=day)
    Group.objects.get_or_create(name=roles.FINANCE)
    return FinanceHospital(
        days=days,
        items={"A": a, "B": b, "C": c, "D": d, "E": e},
        departments={"CK01": store, "XNK": xnk, "GKB": gkb, "SSS01": theatre},
        users={
            "keeper": keeper,
            "nurse01": nurse01,
            "nurse02": nurse02,
            "ssn01": ssn01,
            "his": his,
        },
        ids=ids,
    )


def price(key: str) -> Decimal:
    return Decimal(PRICES[key])


def gross_pct(gross: int, used: int) -> Decimal:
    return (Decimal(gross) * 100 / used).quantize(Decimal("0.01"))


# The scenario's per-day figures of the rows with a use or a charge:
# (department, item) -> (used, billed, billed amount), from the story above.
DAY_ROWS = {
    1: {("XNK", "A"): (4, 4, 4 * price("A")), ("XNK", "B"): (3, 2, 2 * price("B"))},
    2: {("GKB", "A"): (5, 7, 7 * price("A")), ("XNK", "B"): (0, 1, Decimal("35.00"))},
    3: {
        ("SSS01", "C"): (1, 1, price("C")),
        ("SSS01", "D"): (1, 0, Decimal("0")),
        ("XNK", "A"): (2, 2, 2 * price("A")),
        ("XNK", "B"): (1, 0, Decimal("0")),
    },
}


def expected_day(n: int) -> dict:
    """Used, billed, gross and net variance, the rate and the net amount of day ``n``."""
    rows = DAY_ROWS[n]
    used = sum(u for u, _, _ in rows.values())
    billed = sum(b for _, b, _ in rows.values())
    gross = sum(abs(u - b) for u, b, _ in rows.values())
    net_amount = sum(
        (u * price(item) - amount for (_, item), (u, _, amount) in rows.items()), Decimal("0")
    )
    gross_amount = sum(
        (abs(u * price(item) - amount) for (_, item), (u, _, amount) in rows.items()),
        Decimal("0"),
    )
    return {
        "used": used,
        "billed": billed,
        "gross": gross,
        "net": used - billed,
        "rate": gross_pct(gross, used),
        "net_amount": net_amount,
        "gross_amount": gross_amount,
    }


def expected_department_amounts() -> dict[str, Decimal]:
    """Gross variance amount of each department over the three days."""
    totals: dict[str, Decimal] = {}
    for rows in DAY_ROWS.values():
        for (department, item), (used, _, amount) in rows.items():
            totals[department] = totals.get(department, Decimal("0")) + abs(
                used * price(item) - amount
            )
    return totals


# -- reading the pages -----------------------------------------------------------------------


class _Tables(HTMLParser):
    """Every ``<table data-table=...>`` of a page as header and rows of cell texts, with the
    link of each cell (what a finance user reads and clicks)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict] = {}
        self._table = None
        self._row = None
        self._cell = None
        self._href = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self._table = {"header": [], "rows": [], "links": []}
            self.tables[attrs["data-table"]] = self._table
        elif self._table is not None and tag == "tr":
            self._row = {"cells": [], "links": [], "css": attrs.get("class", "")}
        elif self._row is not None and tag in ("td", "th"):
            self._cell, self._href = [], None
        elif self._cell is not None and tag == "a":
            self._href = attrs.get("href")
        elif self._cell is not None and tag == "span" and attrs.get("class") == "en":
            self._cell.append(" / ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row["cells"].append("".join(self._cell).strip())
            self._row["links"].append(self._href)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table["header"] or not self._row["cells"]:
                if "empty" not in self._row["css"]:
                    self._table["rows"].append(self._row)
            else:
                self._table["header"] = self._row["cells"]
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_tables(response) -> dict[str, dict]:
    """``{key: {"header": [...], "rows": [{"cells", "links", "css"}]}}`` of a page."""
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables


def column(table: dict, zh: str) -> int:
    """The index of the column whose header starts with ``zh``."""
    return next(i for i, h in enumerate(table["header"]) if h.split(" / ")[0] == zh)


def rows_by(table: dict, key_column: str) -> dict[str, dict[str, str]]:
    """Rows keyed by one column's text, each as {column zh: text}."""
    names = [h.split(" / ")[0] for h in table["header"]]
    at = names.index(key_column)
    return {r["cells"][at]: dict(zip(names, r["cells"], strict=True)) for r in table["rows"]}


def logged_in(username: str, role: str, *departments):
    """A test client with a session for a new user of ``role`` (pages, not the API)."""
    client = client_for(username, role, *departments)
    client.force_login(client.user)
    return client
