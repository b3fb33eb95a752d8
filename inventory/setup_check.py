"""The set-up check (主数据检查): what in the master data would stop the hospital working.

One read per kind of finding, each a single SQL query (a count, and the first rows for a
page), over the consumable master (consumables) and the departments and suppliers
(inventory). It lives in inventory because it reads both apps and inventory may import
consumables, never the reverse. Used by ``manage.py check_master`` and the procurement page
``inventory:master-check``; both list the same findings in the same order.

Kinds (``KINDS``, in this order):
- ``NO_CHARGE_CODE``: a live chargeable consumable without a charge code (HIS cannot bill
  it, a scan cannot name what to charge);
- ``NO_CHARGE_PRICE``: a live chargeable consumable with no approved charge price in force
  now (a bedside use cannot be priced);
- ``NO_RESTRICTION``: a live item of insurance class ``restricted`` (限定支付) without the
  condition in words (the nurse's consent question has nothing to show);
- ``DI_OF_RETIRED_ITEM``: a live UDI-DI whose consumable is retired. A DI always names a
  consumable (the foreign key is not null), so this is the DI "without a consumable" that
  can occur: scanning it finds no live item;
- ``STAGED_DI_UNLINKED``: a UDI-DI of a pending row of the code-conflict workspace that no
  live DI holds (the product cannot be scanned until the row is promoted);
- ``SUPPLIER_NO_LICENCE``: an active supplier without its medical device trading licence
  number (医疗器械经营许可证号);
- ``DEPARTMENT_NO_STAFF``: an active ward or theatre with no active member (nobody can scan
  there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Trim
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from consumables.models import Consumable, DeviceIdentifier, StagingRow
from consumables.prices import with_prices_in_force
from organisation.models import Department, Supplier

PAGE_LIMIT = 200  # rows of one kind shown on the page (the count is always exact)


@dataclass(frozen=True)
class Kind:
    code: str
    label: str  # what is wrong, Chinese / English
    action: str  # what to do, Chinese / English
    object_label: str  # what the object is


@dataclass(frozen=True)
class Finding:
    kind: str
    code: str  # the object's code (material code, DI, supplier or department code)
    name: str
    url: str | None  # where to fix it: the object's admin change page (or the workspace)


def _consumables() -> QuerySet:
    return Consumable.objects.filter(is_active=True)


def _chargeable() -> QuerySet:
    return _consumables().filter(chargeable=True)


def no_charge_code() -> QuerySet:
    return _chargeable().filter(charge_code__isnull=True)


def no_charge_price() -> QuerySet:
    return with_prices_in_force(_chargeable(), timezone.now()).filter(charge_price__isnull=True)


def no_restriction() -> QuerySet:
    return (
        _consumables()
        .filter(insurance_class=Consumable.InsuranceClass.RESTRICTED)
        .annotate(restriction_text=Trim("insurance_restriction"))
        .filter(restriction_text="")
    )


def di_of_retired_item() -> QuerySet:
    return DeviceIdentifier.objects.filter(is_active=True, consumable__is_active=False)


def staged_di_unlinked() -> QuerySet:
    live = DeviceIdentifier.objects.filter(
        udi_di=OuterRef("udi_di"), is_active=True, consumable__is_active=True
    )
    return (
        StagingRow.objects.filter(status=StagingRow.Status.PENDING, udi_di__isnull=False)
        .exclude(udi_di="")
        .filter(~Exists(live))
        .values("udi_di")
        .annotate(name=Min("name"))
    )


def supplier_no_licence() -> QuerySet:
    return (
        Supplier.objects.filter(is_active=True)
        .annotate(licence=Trim("license_no"))
        .filter(licence="")
    )


def department_no_staff() -> QuerySet:
    return (
        Department.objects.filter(
            is_active=True, kind__in=[Department.Kind.WARD, Department.Kind.THEATRE]
        )
        .annotate(staff=Count("members", filter=Q(members__is_active=True)))
        .filter(staff=0)
    )


def _admin_url(name: str, pk) -> str | None:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:  # the model has no admin page
        return None


def _staging_url(udi_di: str) -> str:
    return reverse("master:staging-rows") + "?" + urlencode({"status": "pending", "q": udi_di})


# Each kind: its description, and how to read its findings as (code, name, url) rows, in
# the order they are listed. ``count`` and ``rows`` share the queryset.
@dataclass(frozen=True)
class Check:
    kind: Kind
    queryset: Callable[[], QuerySet]
    fields: tuple[str, str, str | None]  # code, name, key of the link (None: the code)
    link: Callable[[object], str | None]


def _consumable_link(pk):
    return _admin_url("admin:consumables_consumable_change", pk)


CHECKS: tuple[Check, ...] = (
    Check(
        Kind(
            "NO_CHARGE_CODE",
            _("可收费耗材缺计费编码 / chargeable item without a charge code"),
            _("提出对码变更补录计费编码；如该耗材含在治疗费中不单独收费，改为不可收费 / "
              "propose a mapping change adding the charge code; if the item is included in a "
              "procedure fee, mark it not chargeable"),
            _("耗材 / consumable"),
        ),
        no_charge_code,
        ("material_code", "name", "pk"),
        _consumable_link,
    ),
    Check(
        Kind(
            "NO_CHARGE_PRICE",
            _("可收费耗材无现行已批准收费价 / chargeable item without an approved charge price "
              "in force"),
            _("提交收费价调价申请，并由另一人审核批准 / propose a charge price and have another "
              "person approve it"),
            _("耗材 / consumable"),
        ),
        no_charge_price,
        ("material_code", "name", "pk"),
        _consumable_link,
    ),
    Check(
        Kind(
            "NO_RESTRICTION",
            _("限定支付耗材未填写限定条件 / restricted item without its payment condition"),
            _("按医保目录填写限定支付条件，或更正医保支付类别 / enter the condition as the "
              "insurance catalogue words it, or correct the insurance class"),
            _("耗材 / consumable"),
        ),
        no_restriction,
        ("material_code", "name", "pk"),
        _consumable_link,
    ),
    Check(
        Kind(
            "DI_OF_RETIRED_ITEM",
            _("UDI-DI 所属耗材已停用（扫码找不到在用耗材）/ live DI of a retired item (a scan "
              "finds no live item)"),
            _("经对码变更把该 DI 关联到在用耗材或停用该 DI / link the DI to the live item, or "
              "retire it, by a mapping change"),
            "UDI-DI",
        ),
        lambda: di_of_retired_item().annotate(
            material_code=F("consumable__material_code"), item_name=F("consumable__name")
        ),
        ("udi_di", "item_name", "pk"),
        lambda pk: _admin_url("admin:consumables_deviceidentifier_change", pk),
    ),
    Check(
        Kind(
            "STAGED_DI_UNLINKED",
            _("对码工作区中的 UDI-DI 尚未关联耗材 / DI in the code-conflict workspace not yet "
              "linked to an item"),
            _("在对码工作区处理该行并入主数据 / resolve the row in the code-conflict workspace "
              "and promote it"),
            "UDI-DI",
        ),
        staged_di_unlinked,
        ("udi_di", "name", None),
        _staging_url,
    ),
    Check(
        Kind(
            "SUPPLIER_NO_LICENCE",
            _("供应商缺医疗器械经营许可证号 / supplier without a medical device trading licence "
              "number"),
            _("补录许可证号（供应商导入文件或管理后台）/ enter the licence number (supplier "
              "import file or the admin)"),
            _("供应商 / supplier"),
        ),
        supplier_no_licence,
        ("code", "name", "pk"),
        lambda pk: _admin_url("admin:organisation_supplier_change", pk),
    ),
    Check(
        Kind(
            "DEPARTMENT_NO_STAFF",
            _("病区或手术室没有人员 / ward or theatre without staff"),
            _("在管理后台为该科室添加人员 / add the department's staff in the admin"),
            _("科室 / department"),
        ),
        department_no_staff,
        ("code", "name", "pk"),
        lambda pk: _admin_url("admin:organisation_department_change", pk),
    ),
)  # fmt: skip
KINDS: dict[str, Kind] = {check.kind.code: check.kind for check in CHECKS}


def _rows(check: Check, limit: int | None) -> list[Finding]:
    code, name, key = check.fields
    fields = (code, name) if key is None else (code, name, key)
    values = check.queryset().order_by(code).values_list(*fields)
    if limit is not None:
        values = values[:limit]
    findings = []
    for row in values:
        link = check.link(row[0] if key is None else row[2])
        findings.append(Finding(check.kind.code, str(row[0]), str(row[1] or ""), link))
    return findings


@dataclass
class Section:
    kind: Kind
    count: int
    findings: list[Finding]

    @property
    def more(self) -> int:
        """Findings counted but not listed (beyond the page's limit)."""
        return self.count - len(self.findings)


def master_check(limit: int | None = None) -> list[Section]:
    """Every kind with its count and its findings (at most ``limit`` of each; all if None),
    in ``KINDS`` order: two queries per kind (one when nothing is limited)."""
    sections = []
    for check in CHECKS:
        findings = _rows(check, limit)
        if limit is None or len(findings) < limit:
            count = len(findings)
        else:
            count = check.queryset().order_by().count()
        sections.append(Section(check.kind, count, findings))
    return sections
