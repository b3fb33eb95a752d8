"""Spreadsheet formula injection (CSV injection): a name that begins with = + - @ tab or CR
comes out of every download as quoted text, never as a formula, while numbers stay numbers.

Surfaces: the admin's master export, the finance theatre table (finance_tables, shared by
every finance page), the audit trail, the master-data pages' lists (one page here, all of
them share ``consumables/pages/common.download``), the recall exports (in
tests/inventory/test_recalls.py), and the writer itself (config.exports), which the last
test here checks is the only one."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from billing.models import Encounter, Patient
from config import roles
from config.exports import write_csv, write_xlsx
from consumables.models import Consumable, PriceVersion
from organisation.models import Supplier
from tests.billing import finance_data
from tests.billing.conftest import hospital  # noqa: F401  (a fixture, used by name)
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, PriceVersionFactory

pytestmark = pytest.mark.django_db

PAYLOADS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tX", "\rX"]
TRIGGERS = tuple("=+-@\t\r\n")


def neutralised(payload: str) -> str:
    return "'" + payload


# ---------------------------------------------------------------- reading the files back


def xlsx_cells(content: bytes) -> list:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [cell for row in sheet.iter_rows() for cell in row]


def xlsx_texts(content: bytes) -> list[str]:
    return [c.value for c in xlsx_cells(content) if isinstance(c.value, str)]


def csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def csv_texts(content: bytes) -> list[str]:
    return [cell for row in csv_rows(content) for cell in row]


def assert_no_formula_in_xlsx(content: bytes) -> None:
    cells = xlsx_cells(content)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    live = [c.value for c in cells if isinstance(c.value, str) and c.value.startswith(TRIGGERS)]
    assert live == []


def assert_no_formula_in_csv(content: bytes) -> None:
    live = [t for t in csv_texts(content) if t.startswith(TRIGGERS)]
    assert live == []


def assert_payloads_quoted(texts: list[str], payloads=PAYLOADS) -> None:
    # XML turns a lone CR into LF on reading: compare with line ends made alike.
    def same(text):
        return text.replace("\r", "\n")

    shown = {same(t) for t in texts}
    for payload in payloads:
        assert same(neutralised(payload)) in shown, payload


# ---------------------------------------------------------------- the writer itself


ROWS = [{"name": p, "quantity": -3, "amount": Decimal("-2.50"),
         "day": dt.date(2026, 5, 1)} for p in PAYLOADS]  # fmt: skip
COLUMNS = [("name", "名称"), ("quantity", "数量"), ("amount", "金额"), ("day", "日期")]


def test_writer_quotes_formula_text_in_csv():
    body = write_csv(ROWS, COLUMNS, header="label")
    assert [row[0] for row in csv_rows(body)[1:]] == [neutralised(p) for p in PAYLOADS]


def test_writer_stores_formula_text_as_quoted_strings_in_xlsx():
    body = write_xlsx(ROWS, COLUMNS, header="label")
    assert_no_formula_in_xlsx(body)
    assert_payloads_quoted(xlsx_texts(body))


def test_writer_keeps_negative_numbers_as_numbers():
    csv_body = csv_rows(write_csv(ROWS, COLUMNS, header="label"))
    assert csv_body[1][1:3] == ["-3", "-2.50"]
    sheet = openpyxl.load_workbook(io.BytesIO(write_xlsx(ROWS, COLUMNS))).active
    quantity, amount, day = sheet["B2"], sheet["C2"], sheet["D2"]
    assert (quantity.data_type, quantity.value) == ("n", -3)
    assert (amount.data_type, amount.value) == ("n", -2.5)
    assert day.is_date and day.value.date() == dt.date(2026, 5, 1)


def test_writer_quotes_full_width_operators():
    body = write_csv([{"name": "＝1+1"}, {"name": "＋1"}], [("name", "名称")])
    assert [row[0] for row in csv_rows(body)[1:]] == ["'＝1+1", "'＋1"]


def test_writer_leaves_ordinary_text_and_codes_alone():
    rows = [{"name": "一次性使用无菌注射器", "code": "06901234567892", "note": "a-b=c"}]
    body = write_xlsx(rows, ["name", "code", "note"])
    assert xlsx_texts(body)[3:] == ["一次性使用无菌注射器", "06901234567892", "a-b=c"]


# ---------------------------------------------------------------- admin master export


@pytest.fixture
def hostile_items():
    items = []
    for n, payload in enumerate(PAYLOADS):
        item = ConsumableFactory(material_code=f"WZ-INJ-{n}", name=payload, spec=payload)
        DeviceIdentifierFactory(consumable=item, units_per_package=10)
        items.append(item)
    return items


def admin_export(client, action, items):
    response = client.post(
        reverse("admin:consumables_consumable_changelist"),
        {"action": action, "_selected_action": [c.pk for c in items], "index": "0"},
    )
    assert response.status_code == 200
    return response.content


def test_admin_master_export_csv_quotes_formula_names(admin_client, hostile_items):
    body = admin_export(admin_client, "export_csv", hostile_items)
    assert_no_formula_in_csv(body)
    assert_payloads_quoted(csv_texts(body))


def test_admin_master_export_xlsx_quotes_formula_names(admin_client, hostile_items):
    body = admin_export(admin_client, "export_xlsx", hostile_items)
    assert_no_formula_in_xlsx(body)
    assert_payloads_quoted(xlsx_texts(body))


def test_admin_master_export_xlsx_keeps_package_quantities_numeric(admin_client, hostile_items):
    sheet = openpyxl.load_workbook(
        io.BytesIO(admin_export(admin_client, "export_xlsx", hostile_items))
    ).active
    header = [c.value for c in sheet[1]]
    column = header.index("units_per_package") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert {(c.data_type, c.value) for c in cells} == {("n", 10)}


# ---------------------------------------------------------------- finance theatre table


@pytest.fixture
def hostile_theatre(hospital):  # noqa: F811
    """The finance hospital, whose theatre patient, items and supplier carry formula names."""
    scenario = finance_data.build(hospital)
    plate, stent = scenario.items["C"], scenario.items["D"]
    Consumable.objects.filter(pk=plate.pk).update(name=PAYLOADS[0], spec=PAYLOADS[1])
    Consumable.objects.filter(pk=stent.pk).update(name=PAYLOADS[2], spec=PAYLOADS[3])
    patient = Encounter.objects.get(visit_no="ZY003").patient_id
    Patient.objects.filter(pk=patient).update(name=PAYLOADS[4])
    Supplier.objects.filter(code="GYS02").update(name=PAYLOADS[5])
    return scenario


def theatre_download(scenario, fmt: str) -> bytes:
    # The insurance office sees patient names unmasked (finance sees "=*****").
    client = finance_data.logged_in("insurance01", roles.INSURANCE_OFFICE)
    response = client.get(
        f"/billing/finance/theatre/?date={scenario.days[-1]}&table=uses&format={fmt}"
    )
    assert response.status_code == 200
    return response.content


def test_theatre_table_csv_quotes_formula_names(hostile_theatre):
    body = theatre_download(hostile_theatre, "csv")
    assert_no_formula_in_csv(body)
    assert_payloads_quoted(csv_texts(body))


def test_theatre_table_xlsx_quotes_formula_names_and_keeps_money_numeric(hostile_theatre):
    body = theatre_download(hostile_theatre, "xlsx")
    assert_no_formula_in_xlsx(body)
    assert_payloads_quoted(xlsx_texts(body))
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    header = [str(c.value).split(" / ")[0] for c in sheet[2]]
    amounts = [row[header.index("计费金额")] for row in sheet.iter_rows(min_row=3)]
    quantities = [row[header.index("数量")] for row in sheet.iter_rows(min_row=3)]
    assert amounts and {c.data_type for c in amounts if c.value is not None} == {"n"}
    assert {c.data_type for c in quantities} == {"n"}


# ---------------------------------------------------------------- audit trail


def person(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="pw-123456!")
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


@pytest.fixture
def hostile_trail():
    """Master changes made by users whose names are formulas (Django allows + - @ in a
    username) on consumables whose names are formulas."""
    for n, username in enumerate(["+1+1", "-2+3", "@x"]):
        item = ConsumableFactory(material_code=f"WZ-TR-{n}", name=PAYLOADS[n])
        item._history_user = person(username, roles.PROCUREMENT)
        item.name = PAYLOADS[n + 3]
        item.save()
    client = Client()
    client.force_login(person("audit01", roles.INSURANCE_OFFICE))
    return client


def trail_download(client, fmt: str) -> bytes:
    response = client.get("/billing/audit-trail/", {"source": "master", "format": fmt})
    assert response.status_code == 200
    return response.content


def test_audit_trail_csv_quotes_formula_user_names(hostile_trail):
    body = trail_download(hostile_trail, "csv")
    assert_no_formula_in_csv(body)
    assert_payloads_quoted(csv_texts(body), ["+1+1", "-2+3", "@x"])


def test_audit_trail_xlsx_quotes_formula_user_names_and_keeps_times_as_dates(hostile_trail):
    body = trail_download(hostile_trail, "xlsx")
    assert_no_formula_in_xlsx(body)
    assert_payloads_quoted(xlsx_texts(body), ["+1+1", "-2+3", "@x"])
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert all(row[0].is_date for row in sheet.iter_rows(min_row=2))


# ---------------------------------------------------------------- master-data pages


def test_price_proposal_list_download_quotes_formula_names_and_keeps_prices_numeric():
    """The pricing office's list of pending proposals, as every master-data list is
    downloaded (``?export=``, through ``consumables/pages/common.download``)."""
    officer = person("pricing01", roles.PRICING_OFFICE)
    for n, payload in enumerate(PAYLOADS):
        PriceVersionFactory(
            consumable=ConsumableFactory(material_code=f"WZ-PR-{n}", name=payload),
            charge_price=Decimal("12.5000"),
            status=PriceVersion.Status.PROPOSED,
            origin=PriceVersion.Origin.PROPOSAL,
            proposed_by=officer,
        )
    client = Client()
    client.force_login(officer)
    csv_body = client.get("/master/prices/", {"export": "csv"}).content
    assert_no_formula_in_csv(csv_body)
    assert_payloads_quoted(csv_texts(csv_body))
    xlsx_body = client.get("/master/prices/", {"export": "xlsx"}).content
    assert_no_formula_in_xlsx(xlsx_body)
    assert_payloads_quoted(xlsx_texts(xlsx_body))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_body)).active
    header = [str(c.value) for c in sheet[1]]
    column = next(i for i, h in enumerate(header) if h.startswith("申请收费价"))
    prices = [row[column] for row in sheet.iter_rows(min_row=2)]
    assert len(prices) == len(PAYLOADS)
    assert {(c.data_type, c.value) for c in prices} == {("n", 12.5)}


# ---------------------------------------------------------------- one writer


ROOT = Path(__file__).resolve().parents[2]
WRITER = "config/exports.py"


def spreadsheet_writing(path: Path) -> list[str]:
    """What in ``path`` writes a spreadsheet or a download itself: an openpyxl workbook, a
    csv writer, a Content-Disposition header. Reading (``load_workbook``, ``csv.reader``)
    is the importers' business and allowed."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("openpyxl"):
            found += [f"imports openpyxl's {a.name}" for a in node.names if a.name == "Workbook"]
        elif isinstance(node, ast.Attribute) and node.attr in {"writer", "DictWriter"}:
            if getattr(node.value, "id", None) == "csv":
                found.append(f"uses csv.{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr == "Workbook":
            found.append("uses openpyxl.Workbook")
        elif isinstance(node, ast.Constant) and node.value == "Content-Disposition":
            found.append("sets Content-Disposition")
    return [f"{path.relative_to(ROOT)}:{what}" for what in found]


def test_every_download_is_written_by_the_one_writer():
    """Only config/exports.py builds a spreadsheet or an attachment: every download of
    the apps hands its rows to it, so no table can escape the formula quoting above."""
    apps = [d for d in ROOT.iterdir() if (d / "apps.py").exists() or d.name == "config"]
    assert {"config", "consumables", "inventory", "billing"} <= {d.name for d in apps}
    found = []
    for app in apps:
        for path in sorted(app.rglob("*.py")):
            if "migrations" not in path.parts and path.relative_to(ROOT).as_posix() != WRITER:
                found += spreadsheet_writing(path)
    assert found == []
    assert spreadsheet_writing(ROOT / WRITER)  # the check sees the writer's own writing
