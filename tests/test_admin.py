"""The admin: five-code search (including a pasted scan), bounded queries, two-person price
review through actions, export that imports back, history of changes."""

import datetime as dt
import io
from decimal import Decimal
from html.parser import HTMLParser

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import HisChargeCheck
from consumables.importing import import_consumable_rows, read_table
from consumables.models import Consumable, DeviceIdentifier, ExternalPrice, PriceVersion
from consumables.selectors import MASTER_COLUMNS
from consumables.udi import gtin_check_digit
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    ExternalPriceFactory,
    PriceVersionFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:consumables_consumable_changelist"
PRICE_CHANGELIST = "admin:consumables_priceversion_changelist"
GS = "\x1d"


def found(client, term) -> list[str]:
    response = client.get(reverse(CHANGELIST), {"q": term})
    assert response.status_code == 200
    return [c.material_code for c in response.context["cl"].result_list]


def item_with_packages(**kwargs) -> Consumable:
    consumable = ConsumableFactory(**kwargs)
    unit = DeviceIdentifierFactory(consumable=consumable, units_per_package=1)
    box_body = "1" + unit.udi_di[1:13]
    DeviceIdentifierFactory(
        consumable=consumable, udi_di=box_body + gtin_check_digit(box_body), units_per_package=50
    )
    PriceVersionFactory(consumable=consumable)
    ExternalPriceFactory(consumable=consumable, price=Decimal("12.5000"))
    return consumable


@pytest.fixture
def second_admin(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser("pricing02", "p2@example.com", "pw-2!x")
    client = Client()
    client.force_login(user)
    return client


# ---------------------------------------------------------------- search


@pytest.mark.parametrize(
    "field", ["material_code", "charge_code", "order_code", "insurance_code", "udi_di"]
)
def test_consumable_search_finds_an_item_by_each_of_its_five_codes(admin_client, field):
    target = item_with_packages()
    others = [item_with_packages() for _ in range(3)]
    if field == "udi_di":
        code = target.device_identifiers.order_by("units_per_package").first().udi_di
    else:
        code = getattr(target, field)
    result = found(admin_client, code)
    assert result == [target.material_code]
    assert not set(result) & {o.material_code for o in others}


@pytest.mark.parametrize(
    "scan",
    [
        "(01){di}(17)281231(10)LOT42(21)SN0001",
        "]d201{di}1728123110LOT42" + GS + "21SN0001",
        "01{di}10A1B2" + GS + "17281231",
    ],
    ids=["hri", "datamatrix-with-gs", "element-string"],
)
def test_consumable_search_finds_an_item_by_a_pasted_gs1_scan(admin_client, scan):
    target = item_with_packages()
    item_with_packages()
    di = target.device_identifiers.get(units_per_package=1).udi_di
    assert found(admin_client, scan.format(di=di)) == [target.material_code]


def test_consumable_search_finds_the_item_from_its_box_scan(admin_client):
    target = item_with_packages()
    box = target.device_identifiers.get(units_per_package=50).udi_di
    assert found(admin_client, f"(01){box}(10)B7") == [target.material_code]


def test_consumable_search_ignores_an_unreadable_scan(admin_client):
    item_with_packages()
    assert found(admin_client, "(01)06901234567890(17)999999") == []


def test_consumable_list_query_count_does_not_grow_with_rows(admin_client):
    def list_queries() -> int:
        admin_client.get(reverse(CHANGELIST))  # warm caches (content types, session)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse(CHANGELIST))
        assert response.status_code == 200
        return len(queries), len(response.context["cl"].result_list)

    for _ in range(5):
        item_with_packages()
    few, rows = list_queries()
    assert rows == 5
    for _ in range(45):
        item_with_packages()
    many, rows = list_queries()
    assert rows == 50
    assert many == few


def test_consumable_list_shows_the_smallest_package_di(admin_client):
    target = item_with_packages()
    unit = target.device_identifiers.get(units_per_package=1).udi_di
    box = target.device_identifiers.get(units_per_package=50).udi_di
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert unit in html and box not in html


# ---------------------------------------------------------------- price review


def propose_through_admin(client, consumable, price: str) -> PriceVersion:
    now = timezone.localtime()
    response = client.post(
        reverse("admin:consumables_priceversion_add"),
        {
            "consumable": consumable.pk,
            "purchase_price": price,
            "charge_price": price,
            "effective_from_0": now.date().isoformat(),
            "effective_from_1": now.strftime("%H:%M:%S"),
            "reason": "挂网价下调，跟进调价",
            "_save": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return PriceVersion.objects.filter(status=PriceVersion.Status.PROPOSED).latest("pk")


def run_action(client, action, versions, **extra):
    data = {"action": action, "_selected_action": [v.pk for v in versions], "index": "0"}
    data.update(extra)
    return client.post(reverse(PRICE_CHANGELIST), data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_price_version_added_in_admin_is_a_proposal_by_the_user(admin_client, admin_user):
    consumable = item_with_packages()
    version = propose_through_admin(admin_client, consumable, "11.0000")
    assert version.proposed_by == admin_user
    assert version.origin == PriceVersion.Origin.PROPOSAL
    assert version.purchase_price == Decimal("11.0000")


def test_proposer_cannot_approve_own_price_change(admin_client):
    consumable = item_with_packages()
    version = propose_through_admin(admin_client, consumable, "11.0000")

    response = run_action(admin_client, "approve_selected", [version])

    assert response.status_code == 200
    assert any("第二人审核" in m for m in messages_of(response))
    version.refresh_from_db()
    assert version.status == PriceVersion.Status.PROPOSED
    assert version.decided_by is None


def test_second_person_approves_price_change(admin_client, second_admin):
    consumable = item_with_packages()
    version = propose_through_admin(admin_client, consumable, "11.0000")

    response = run_action(second_admin, "approve_selected", [version])

    assert any("已批准 1" in m for m in messages_of(response))
    version.refresh_from_db()
    assert version.status == PriceVersion.Status.APPROVED
    assert version.decided_by.username == "pricing02"


def test_approval_breaking_the_four_price_rule_shows_why(admin_client, second_admin):
    consumable = item_with_packages()  # platform price 12.50
    version = propose_through_admin(admin_client, consumable, "13.0000")

    response = run_action(second_admin, "approve_selected", [version])

    text = " ".join(messages_of(response))
    assert "四价统一" in text and "高于挂网价" in text
    version.refresh_from_db()
    assert version.status == PriceVersion.Status.PROPOSED


def test_reject_asks_for_a_reason_then_rejects(admin_client, second_admin):
    consumable = item_with_packages()
    version = propose_through_admin(admin_client, consumable, "11.0000")

    confirm = run_action(second_admin, "reject_selected", [version])
    assert "驳回原因" in confirm.content.decode()
    version.refresh_from_db()
    assert version.status == PriceVersion.Status.PROPOSED

    run_action(second_admin, "reject_selected", [version], apply="1", reason="")
    version.refresh_from_db()
    assert version.status == PriceVersion.Status.PROPOSED

    done = run_action(second_admin, "reject_selected", [version], apply="1", reason="报价有误")
    assert any("已驳回 1" in m for m in messages_of(done))
    version.refresh_from_db()
    assert version.status == PriceVersion.Status.REJECTED
    assert version.decision_reason == "报价有误"


def test_price_versions_are_read_only_and_cannot_be_deleted(admin_client):
    version = PriceVersionFactory()
    change_url = reverse("admin:consumables_priceversion_change", args=[version.pk])

    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert 'name="purchase_price"' not in page.content.decode()
    assert admin_client.post(change_url, {"purchase_price": "1"}).status_code == 403
    delete_url = reverse("admin:consumables_priceversion_delete", args=[version.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    record = version.history.first()
    revert_url = reverse(
        "admin:consumables_priceversion_simple_history", args=[version.pk, record.history_id]
    )
    assert admin_client.post(revert_url, {"purchase_price": "1"}).status_code == 403
    version.refresh_from_db()
    assert version.purchase_price == Decimal("10.0000")


# ---------------------------------------------------------------- export


def export(client, action, consumables):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [c.pk for c in consumables], "index": "0"},
    )


def test_export_xlsx_has_the_import_columns_one_row_per_di_and_imports_back(admin_client, tmp_path):
    items = [item_with_packages() for _ in range(3)]
    restricted = Consumable.InsuranceClass.RESTRICTED
    Consumable.objects.filter(pk=items[0].pk).update(
        insurance_class=restricted, insurance_restriction="限冠脉介入术后患者"
    )

    response = export(admin_client, "export_xlsx", items)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [key for key, _ in MASTER_COLUMNS]
    assert len(rows) == 1 + 6  # two package levels each
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["material_code"] == min(c.material_code for c in items)
    assert first["purchase_price"] == "10.00" and first["platform_price"] == "12.50"
    terms = {
        (r[0], r[rows[0].index("insurance_class")], r[rows[0].index("restriction")])
        for r in rows[1:]
    }
    assert terms == {(c.material_code, "covered", None) for c in items[1:]} | {
        (items[0].material_code, "restricted", "限冠脉介入术后患者")
    }

    path = tmp_path / "export.xlsx"
    path.write_bytes(response.content)
    report = import_consumable_rows(read_table(path))
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    # The class travels with the file: a master put back from its export is restricted again.
    Consumable.objects.filter(pk=items[0].pk).update(
        insurance_class="covered", insurance_restriction=""
    )
    report = import_consumable_rows(read_table(path))
    assert (report.updated, report.unchanged) == (1, 2)
    assert Consumable.objects.get(pk=items[0].pk).insurance_class == restricted


def test_export_csv_has_a_bom_and_the_import_columns(admin_client, tmp_path):
    items = [item_with_packages() for _ in range(2)]

    response = export(admin_client, "export_csv", items)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == [key for key, _ in MASTER_COLUMNS]
    assert len(lines) == 1 + 4
    path = tmp_path / "export.csv"
    path.write_bytes(response.content)
    report = import_consumable_rows(read_table(path))
    assert report.errors == [] and report.unchanged == 2


# ---------------------------------------------------------------- history and the rest


class _FormValues(HTMLParser):
    """The values a browser would submit from the page's main form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            default = "on" if attrs.get("type") in ("checkbox", "radio") else ""
            self.data.setdefault(name, []).append(attrs.get("value", default))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.setdefault(name, []).append("")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data.setdefault(self._select, []).append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            # A browser drops the newline that follows <textarea> (Django writes one).
            value = self.data[self._textarea][-1]
            self.data[self._textarea][-1] = value[1:] if value.startswith("\n") else value
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data


def form_values(response) -> dict[str, list[str]]:
    parser = _FormValues()
    parser.feed(response.content.decode())
    return parser.data


def test_history_page_shows_who_changed_what(admin_client):
    consumable = item_with_packages(name="一次性使用无菌注射器")
    change_url = reverse("admin:consumables_consumable_change", args=[consumable.pk])
    data = form_values(admin_client.get(change_url))
    data["name"] = ["一次性使用无菌注射器（带针）"]
    data.pop("csrfmiddlewaretoken", None)

    response = admin_client.post(change_url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    history = admin_client.get(
        reverse("admin:consumables_consumable_history", args=[consumable.pk])
    ).content.decode()
    assert "一次性使用无菌注射器（带针）" in history
    assert "admin" in history


def test_di_added_in_admin_is_checked_by_the_scanner_parser(admin_client):
    # DIs are entered with a new item (the package levels of its add form).
    url = reverse("admin:consumables_consumable_add")
    data = form_values(admin_client.get(url))
    data.update(
        {
            "material_code": ["WZ-NEW-01"],
            "charge_code": [""],
            "order_code": [""],
            "insurance_code": [""],
            "name": ["医用外科口罩"],
            "unit": ["个"],
            "value_class": ["low"],
            "tracking": ["lot"],
            "billed_by": ["his"],
            "device_identifiers-TOTAL_FORMS": ["1"],
            "device_identifiers-0-units_per_package": ["1"],
            "device_identifiers-0-is_active": ["on"],
        }
    )
    data["device_identifiers-0-udi_di"] = ["06901234567890"]
    bad = admin_client.post(url, data)
    assert bad.status_code == 200
    assert not DeviceIdentifier.objects.exists()

    body = "0690123456789"
    data["device_identifiers-0-udi_di"] = [f"(01){body}{gtin_check_digit(body)}"]
    good = admin_client.post(url, data)
    assert good.status_code == 302
    di = DeviceIdentifier.objects.get()
    assert di.udi_di == body + gtin_check_digit(body) and di.issuer == "gs1"


def test_every_registered_model_has_a_working_list_and_search(admin_client):
    consumable = item_with_packages()
    DepartmentFactory()
    ExternalPrice.objects.create(
        consumable=consumable,
        kind="vbp",
        price=Decimal("9"),
        effective_from=timezone.now() - dt.timedelta(days=1),
    )
    ours = [
        m
        for m in admin.site._registry
        if m._meta.app_label
        in {"organisation", "consumables", "inventory", "billing", "insurance_platform"}
    ]
    assert {m.__name__ for m in ours} >= {
        "Consumable",
        "DeviceIdentifier",
        "ExternalPrice",
        "PriceVersion",
        "HospitalLabel",
        "Department",
        "Patient",
        "Encounter",
        "DoctorOrder",
    }
    for model in ours:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, url
        assert admin_client.get(url, {"q": "WZ"}).status_code == 200, url
        add = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        # A DI is added with its new item, or to a live item by a reviewed mapping change; a
        # HIS charge check is written by the HIS boundary only (what HIS was told).
        expected = 403 if model in (DeviceIdentifier, HisChargeCheck) else 200
        assert admin_client.get(add).status_code == expected, add


def test_department_members_use_a_filter_widget(admin_client):
    department = DepartmentFactory()
    get_user_model().objects.create_user("nurse_a", password="x-123456!")
    page = admin_client.get(
        reverse("admin:organisation_department_change", args=[department.pk])
    ).content.decode()
    assert "selectfilter" in page and "nurse_a" in page


@pytest.mark.parametrize(
    ("credit_code", "refused"),
    [
        ("91510100MA61R8XW6Q", False),  # a valid 统一社会信用代码
        ("91510100MA61R8XW6B", True),  # one character off: its check character fails
        ("91510100MA61R8XW6", True),  # 17 characters
        ("", False),  # not known yet: check_master lists the supplier until it has one
    ],
)
def test_supplier_added_in_admin_meets_the_imports_credit_code_check(
    admin_client, credit_code, refused
):
    from organisation.models import Supplier

    response = admin_client.post(
        reverse("admin:organisation_supplier_add"),
        {
            "code": "GYS09",
            "name": "成都某医疗器械有限公司",
            "credit_code": credit_code.lower(),
            "license_no": "川蓉食药监械经营许20240001号",
            "is_active": "on",
        },
    )
    if refused:
        assert response.status_code == 200
        form = response.context["adminform"].form
        assert form.has_error("credit_code", "CREDIT_CODE_INVALID"), form.errors
        assert not Supplier.objects.filter(code="GYS09").exists()
    else:
        assert response.status_code == 302, response.context["adminform"].form.errors
        assert Supplier.objects.get(code="GYS09").credit_code == credit_code
