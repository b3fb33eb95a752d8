"""The set-up check: ``manage.py check_master`` and the procurement page list exactly what in
the master data would stop the hospital working, kind by kind; a clean master exits 0."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config import roles
from consumables.models import Consumable, PriceVersion, StagingImport, StagingRow
from organisation.models import Department, Supplier
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    PriceVersionFactory,
)

pytestmark = pytest.mark.django_db

PAGE = "/inventory/master-check/"
KINDS = [
    "NO_CHARGE_CODE",
    "NO_CHARGE_PRICE",
    "NO_RESTRICTION",
    "DI_OF_RETIRED_ITEM",
    "STAGED_DI_UNLINKED",
    "SUPPLIER_NO_LICENCE",
    "DEPARTMENT_NO_STAFF",
]


def person(username: str, role: str, active: bool = True) -> User:
    user = User.objects.create_user(username, password="pw-123456!", is_active=active)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def priced(**fields) -> Consumable:
    consumable = ConsumableFactory(**fields)
    PriceVersionFactory(consumable=consumable)
    return consumable


@pytest.fixture
def clean_master():
    """What a hospital ready to work has: priced items with codes, a restricted item with its
    condition, a non-chargeable item with a purchase price only, a live DI, a promoted DI,
    licensed suppliers, staffed wards and theatres (and a store nobody is a member of)."""
    nurse = person("nurse01", roles.NURSE)
    ward = DepartmentFactory(code="XNK", name="心内科病区", kind=Department.Kind.WARD)
    theatre = DepartmentFactory(code="SSS", name="手术室", kind=Department.Kind.THEATRE)
    ward.members.add(nurse)
    theatre.members.add(nurse)
    DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE)
    DepartmentFactory(code="OLD", name="已撤销病区", is_active=False)
    item = priced(material_code="OK001", name="输液器")
    DeviceIdentifierFactory(consumable=item, udi_di="06901234567892")
    priced(
        material_code="OK002",
        name="药物洗脱支架",
        insurance_class=Consumable.InsuranceClass.RESTRICTED,
        insurance_restriction="限急性心肌梗死患者",
    )
    gauze = ConsumableFactory(material_code="OK003", name="纱布", chargeable=False,
                              charge_code=None)  # fmt: skip
    PriceVersionFactory(consumable=gauze, charge_price=None)
    Supplier.objects.create(
        code="GYS01", name="四川某医疗器械有限公司", license_no="川蓉食药监械经营许20190001号"
    )
    Supplier.objects.create(code="GYS02", name="停用供应商", is_active=False)
    batch = StagingImport.objects.create(source="hrp", file_name="hrp.csv")
    StagingRow.objects.create(batch=batch, source="hrp", line=2, material_code="OK001",
                              udi_di="06901234567892", name="输液器")  # fmt: skip
    return {"ward": ward, "theatre": theatre, "item": item}


@pytest.fixture
def broken_master(clean_master):
    """One or two objects of every kind of finding, and near misses that are not findings."""
    priced(material_code="B-CODE", name="无计费编码耗材", charge_code=None)
    ConsumableFactory(material_code="B-PRICE1", name="无价格耗材")
    later = ConsumableFactory(material_code="B-PRICE2", name="价格未生效耗材")
    PriceVersionFactory(consumable=later, effective_from=timezone.now() + dt.timedelta(days=3))
    proposed = ConsumableFactory(material_code="B-PRICE3", name="价格待审耗材")
    PriceVersionFactory(
        consumable=proposed,
        status=PriceVersion.Status.PROPOSED,
        origin=PriceVersion.Origin.PROPOSAL,
    )
    priced(
        material_code="B-RESTR",
        name="限定支付无条件耗材",
        insurance_class=Consumable.InsuranceClass.RESTRICTED,
        insurance_restriction="  ",
    )
    retired = ConsumableFactory(material_code="B-RETIRED", name="已停用耗材", is_active=False,
                                charge_code=None)  # fmt: skip
    DeviceIdentifierFactory(consumable=retired, udi_di="06909999999993")
    batch = StagingImport.objects.create(source="hrp", file_name="hrp2.csv")
    staged = [
        (2, "06908888888881", "待入主数据导管"),
        (3, "06908888888881", "待入主数据导管"),  # one DI on two rows: listed once
        (4, "06907777777776", "待入主数据导丝"),
    ]
    for line, di, name in staged:
        StagingRow.objects.create(batch=batch, source="hrp", line=line, material_code=f"HRP{line}",
                                  udi_di=di, name=name)  # fmt: skip
    excluded = StagingRow.objects.create(batch=batch, source="hrp", line=5, udi_di="06906666666661",
                                         status=StagingRow.Status.EXCLUDED)  # fmt: skip
    assert excluded.pk
    Supplier.objects.create(code="GYS09", name="无许可证供应商")
    DepartmentFactory(code="ICU", name="重症监护病区", kind=Department.Kind.WARD)
    gone = DepartmentFactory(code="SSS2", name="二号手术室", kind=Department.Kind.THEATRE)
    gone.members.add(person("left01", roles.NURSE, active=False))
    return clean_master


EXPECTED = {
    "NO_CHARGE_CODE": [("B-CODE", "无计费编码耗材")],
    "NO_CHARGE_PRICE": [
        ("B-PRICE1", "无价格耗材"),
        ("B-PRICE2", "价格未生效耗材"),
        ("B-PRICE3", "价格待审耗材"),
    ],
    "NO_RESTRICTION": [("B-RESTR", "限定支付无条件耗材")],
    "DI_OF_RETIRED_ITEM": [("06909999999993", "已停用耗材")],
    "STAGED_DI_UNLINKED": [
        ("06907777777776", "待入主数据导丝"),
        ("06908888888881", "待入主数据导管"),
    ],
    "SUPPLIER_NO_LICENCE": [("GYS09", "无许可证供应商")],
    "DEPARTMENT_NO_STAFF": [("ICU", "重症监护病区"), ("SSS2", "二号手术室")],
}


def run_command(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("check_master", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def test_a_clean_master_exits_0(clean_master):
    status, output = run_command()
    assert status == 0
    assert "未发现问题" in output
    status, output = run_command("--format", "json")
    assert status == 0
    assert json.loads(output) == {
        "total": 0,
        "counts": dict.fromkeys(KINDS, 0),
        "findings": [],
    }


def test_the_command_lists_every_finding_and_exits_1(broken_master):
    status, output = run_command("--format", "json")
    assert status == 1
    report = json.loads(output)
    found = {}
    for finding in report["findings"]:
        found.setdefault(finding["kind"], []).append(
            (finding["object"]["code"], finding["object"]["name"])
        )
    assert found == EXPECTED
    assert list(found) == KINDS  # listed kind by kind, in this order
    assert report["counts"] == {kind: len(EXPECTED[kind]) for kind in KINDS}
    assert report["total"] == 11
    first = report["findings"][0]
    assert first["label"] == "可收费耗材缺计费编码 / chargeable item without a charge code"
    assert first["action"].startswith("提出对码变更补录计费编码")
    code_item = Consumable.objects.get(material_code="B-CODE")
    assert first["admin_url"] == reverse("admin:consumables_consumable_change", args=[code_item.pk])
    ward = Department.objects.get(code="ICU")
    assert report["findings"][-2]["admin_url"] == reverse(
        "admin:organisation_department_change", args=[ward.pk]
    )


def test_the_text_report_names_kind_object_and_action(broken_master):
    status, output = run_command()
    assert status == 1
    lines = output.splitlines()
    assert lines[0] == (
        "NO_CHARGE_CODE (1): 可收费耗材缺计费编码 / chargeable item without a charge code"
    )
    assert lines[1].startswith("  提出对码变更补录计费编码")
    assert lines[2] == "  B-CODE\t无计费编码耗材"
    assert "SUPPLIER_NO_LICENCE (1): 供应商缺医疗器械经营许可证号 / supplier without a medical " \
           "device trading licence number" in lines  # fmt: skip
    assert "  SSS2\t二号手术室" in lines
    assert lines[-1] == "问题合计 / findings: 11"


def test_fixing_a_finding_takes_it_off_the_list(broken_master):
    Supplier.objects.filter(code="GYS09").update(license_no="川蓉食药监械经营许20190009号")
    broken_master["ward"].members.add(person("nurse02", roles.NURSE))  # not ICU: still listed
    Department.objects.get(code="ICU").members.add(person("nurse03", roles.NURSE))
    PriceVersionFactory(consumable=Consumable.objects.get(material_code="B-PRICE1"))
    report = json.loads(run_command("--format", "json")[1])
    assert report["counts"]["SUPPLIER_NO_LICENCE"] == 0
    assert report["counts"]["DEPARTMENT_NO_STAFF"] == 1
    assert report["counts"]["NO_CHARGE_PRICE"] == 2


def page_findings(html: str) -> dict[str, list[tuple[str, str, str]]]:
    found = {}
    for kind, body in re.findall(
        r'<table class="grid findings" data-kind="(\w+)">.*?<tbody>(.*?)</tbody>', html, re.S
    ):
        found[kind] = re.findall(
            r'<tr><td class="code">([^<]*)</td><td>([^<]*)</td>\s*<td>(?:<a href="([^"]*)")?',
            body,
        )
    return found


def page_counts(html: str) -> dict[str, int]:
    table = re.search(r'<table class="grid" id="check-counts">(.*?)</table>', html, re.S).group(1)
    return {
        kind: int(n)
        for kind, n in re.findall(
            r'<tr data-kind="(\w+)">.*?<td class="num">(\d+)</td></tr>', table, re.S
        )
    }


def procurement_client() -> Client:
    client = Client()
    client.force_login(person("buyer01", roles.PROCUREMENT))
    return client


def test_the_page_shows_the_same_list_with_counts_and_links(broken_master):
    response = procurement_client().get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert page_counts(html) == {kind: len(EXPECTED[kind]) for kind in KINDS}
    found = page_findings(html)
    assert {kind: [(code, name) for code, name, _ in rows] for kind, rows in found.items()} == (
        EXPECTED
    )
    retired_di = Consumable.objects.get(material_code="B-RETIRED").device_identifiers.get()
    assert found["DI_OF_RETIRED_ITEM"][0][2] == reverse(
        "admin:consumables_deviceidentifier_change", args=[retired_di.pk]
    )
    assert found["STAGED_DI_UNLINKED"][0][2] == (
        "/master/conflicts/rows/?status=pending&amp;q=06907777777776"
    )
    assert found["NO_CHARGE_PRICE"][0][2] == reverse(
        "admin:consumables_consumable_change",
        args=[Consumable.objects.get(material_code="B-PRICE1").pk],
    )
    assert "发现 11 个问题" in html


def test_a_clean_master_page_says_so(clean_master):
    html = procurement_client().get(PAGE).content.decode()
    assert page_counts(html) == dict.fromkeys(KINDS, 0)
    assert page_findings(html) == {}
    assert "主数据检查通过" in html


def test_the_page_is_refused_to_a_nurse_and_offered_to_procurement_at_home(clean_master):
    nurse = Client()
    nurse.force_login(User.objects.get(username="nurse01"))
    assert nurse.get(PAGE).status_code == 403
    assert PAGE not in nurse.get("/").content.decode()
    assert f'href="{PAGE}"' in procurement_client().get("/").content.decode()


def test_the_page_lists_at_most_its_limit_and_counts_all(clean_master, monkeypatch):
    from inventory.views import master_check

    monkeypatch.setattr(master_check, "PAGE_LIMIT", 2)
    for n in range(3):
        Supplier.objects.create(code=f"S{n}", name=f"供应商{n}")
    html = procurement_client().get(PAGE).content.decode()
    assert page_counts(html)["SUPPLIER_NO_LICENCE"] == 3
    assert [code for code, _, _ in page_findings(html)["SUPPLIER_NO_LICENCE"]] == ["S0", "S1"]
    assert "另有 1 项" in html


def test_prices_in_force_are_approved_ones(clean_master):
    # A rejected version is no price; an approved one that took effect is.
    item = ConsumableFactory(material_code="B-REJ", name="驳回价格耗材")
    PriceVersionFactory(consumable=item, status=PriceVersion.Status.REJECTED,
                        origin=PriceVersion.Origin.PROPOSAL, charge_price=Decimal("5"))  # fmt: skip
    report = json.loads(run_command("--format", "json")[1])
    assert [f["object"]["code"] for f in report["findings"]] == ["B-REJ"]
