"""Demo stock for ``load_demo``: received and issued through the real scan service, with
deterministic event ids, so a second run replays instead of doubling."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

from django.utils import timezone

from consumables.importing.suppliers import import_supplier_rows
from consumables.models import Consumable
from consumables.prices import approved_version_in_force
from consumables.submissions.models import SupplierProduct
from organisation.models import Supplier

from .api.scans import scan_answer
from .services.scans import ScanRequest, scan_record

DEMO_NAMESPACE = uuid.UUID("7f1d2c4e-5a8b-4c3d-9e0f-20261122a001")
SUPPLIERS = [
    ("GYS01", "四川康达医疗器械有限公司"),
    ("GYS02", "成都蓉西医药供应链有限公司"),
    ("GYS03", "重庆瑞康医疗科技有限公司"),
]
# Their papers, as the HRP supplier list gives them (统一社会信用代码, 医疗器械经营许可证号):
# check_master finds nothing missing on the demo.
SUPPLIER_PAPERS = {
    "GYS01": ("91510100MA6C7KD3XU", "川蓉食药监械经营许20190031号"),
    "GYS02": ("91510107MA61W2QH88", "川蓉食药监械经营许20200117号"),
    "GYS03": ("91500108MA5U4RKE2R", "渝食药监械经营许20180452号"),
}
STORE = "CK01"
THEATRES = ["SS01", "DG01"]
LOW_VALUE_WARDS = ["XN01", "GK01", "PW01", "SN01", "HX01", "MW01", "XH01"]
# Far enough for a long demo; every 15th lot expires soon, to show 近效期 on the stock page.
LONG_EXPIRY = dt.date(2028, 6, 30)
NEAR_EXPIRY = dt.date(2026, 12, 20)
UNITS_PER_TRACKED_ITEM = 3


def scan_code(di: str, lot: str, expiry: dt.date, serial: str | None = None) -> str:
    """The text a scanner sends for ``di`` with its production identifiers."""
    if di.startswith("MA."):
        return f"{di}.L{lot}.E{expiry:%y%m%d}" + (f".S{serial}" if serial else "")
    code = f"01{di}17{expiry:%y%m%d}10{lot}"
    return code + (f"\x1d21{serial}" if serial else "")


def _scan(counts: Counter, user, key: str, **fields) -> dict:
    event_id = uuid.uuid5(DEMO_NAMESPACE, key)
    outcome = scan_record(
        request=ScanRequest(event_id=event_id, **fields), user=user, answer=scan_answer
    )
    counts["recorded" if outcome.status == 201 else "replayed"] += 1
    return outcome.body


def load_demo_suppliers() -> None:
    """The demo suppliers, through the same import as the HRP supplier list (a re-run finds
    them unchanged and writes nothing)."""
    rows = [
        (line, {"code": code, "name": name, "credit_code": SUPPLIER_PAPERS[code][0],
                "license_no": SUPPLIER_PAPERS[code][1]})
        for line, (code, name) in enumerate(SUPPLIERS, 2)
    ]
    report = import_supplier_rows(rows, change_reason="load_demo")
    if report.errors:  # the demo's own papers: a refusal is a bug in this file
        raise RuntimeError("; ".join(str(e) for e in report.errors))


def load_demo_stock(items, *, storekeeper) -> Counter:
    """Receive every demo item into the central store, then issue some to the wards."""
    load_demo_suppliers()
    counts: Counter = Counter()
    now = timezone.now()
    for index, item in enumerate(items):
        supplier = SUPPLIERS[index % len(SUPPLIERS)][0]
        expiry = NEAR_EXPIRY if index % 15 == 7 else LONG_EXPIRY
        lot = f"D26{index:04d}"
        consumable = Consumable.objects.get(material_code=item.material_code)
        cost = approved_version_in_force(consumable.pk, now).purchase_price
        common = {
            "action": "receive",
            "department": STORE,
            "supplier": supplier,
            "invoice_no": f"FP2026{index // 20:04d}",
            "unit_cost": cost,
        }
        if item.tracking == "unit":
            di = item.dis[0][0]
            codes = [
                scan_code(di, lot, expiry, f"SN{index:04d}{n:02d}")
                for n in range(1, UNITS_PER_TRACKED_ITEM + 1)
            ]
            for n, code in enumerate(codes, start=1):
                _scan(counts, storekeeper, f"receive:{item.material_code}:{n}", code=code, **common)
            theatre = THEATRES[index % len(THEATRES)]
            _scan(
                counts,
                storekeeper,
                f"issue:{item.material_code}:1",
                action="issue",
                code=codes[0],
                department=theatre,
                from_department=STORE,
            )
            continue
        di, per_package = item.dis[-1]
        code = f"01{di}" if item.tracking == "none" else scan_code(di, lot, expiry)
        _scan(
            counts,
            storekeeper,
            f"receive:{item.material_code}",
            code=code,
            quantity=per_package * 4,
            **common,
        )
        if item.value_class == "low" and index % 3 == 0:
            for ward in LOW_VALUE_WARDS:
                _scan(
                    counts,
                    storekeeper,
                    f"issue:{item.material_code}:{ward}",
                    action="issue",
                    code=code,
                    department=ward,
                    from_department=STORE,
                    quantity=max(per_package // 2, 5),
                )
    return counts


def link_demo_supplier(items, *, supplier_user) -> int:
    """The demo supplier account speaks for GYS01 and sees the items GYS01 delivers (every
    third demo item, as ``load_demo_stock`` assigns them): the supplier pages have content."""
    code = SUPPLIERS[0][0]
    load_demo_suppliers()
    supplier = Supplier.objects.get(code=code)
    supplier.users.add(supplier_user)
    delivered = Consumable.objects.filter(
        material_code__in=[item.material_code for n, item in enumerate(items) if n % 3 == 0]
    )
    known = set(
        SupplierProduct.objects.filter(supplier_id=code).values_list("consumable_id", flat=True)
    )
    SupplierProduct.objects.bulk_create(
        [
            SupplierProduct(supplier_id=code, consumable=consumable)
            for consumable in delivered
            if consumable.pk not in known
        ]
    )
    return len(delivered)
