"""Every finance table downloads as XLSX and CSV, with what the page shows."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from billing.models import ExceptionRow
from config import roles
from tests.billing import finance_data as data

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(hospital):
    return data.build(hospital)


@pytest.fixture
def finance(scenario):
    return data.logged_in("finance01", roles.FINANCE)


def page_urls(scenario) -> list[str]:
    b = scenario.items["B"].material_code
    unbilled = ExceptionRow.objects.filter(kind="UNBILLED_USE", material_code=b).latest("pk")
    nurse = scenario.users["nurse01"].user
    return [
        "/billing/finance/",
        f"/billing/finance/month/?month={scenario.days[-1]:%Y-%m}",
        "/billing/finance/departments/XNK/",
        f"/billing/finance/departments/XNK/items/{b}/",
        f"/billing/finance/exceptions/{unbilled.pk}/",
        f"/billing/finance/theatre/?date={scenario.days[-1]}",
        "/billing/finance/people/",
        f"/billing/finance/people/{nurse.pk}/",
        "/billing/finance/four-price/",
    ]


def normal(text: str) -> str:
    """A cell as both the page and the CSV say it: no thousands separator, no %, no dash."""
    text = text.split(" / ")[0].replace(",", "").rstrip("%")
    return "" if text == "—" else text


def with_query(url: str, **params) -> str:
    joiner = "&" if "?" in url else "?"
    return url + joiner + "&".join(f"{k}={v}" for k, v in params.items())


def test_every_table_of_every_page_downloads_as_csv_with_the_rows_on_screen(scenario, finance):
    checked = 0
    for url in page_urls(scenario):
        tables = data.page_tables(finance.get(url))
        assert tables, url
        for key, table in tables.items():
            response = finance.get(with_query(url, table=key, format="csv"))
            assert response.status_code == 200, (url, key)
            assert response["Content-Type"].startswith("text/csv")
            assert "attachment" in response["Content-Disposition"]
            body = response.content.decode("utf-8")
            assert body.startswith("\ufeff")  # Excel reads the Chinese as UTF-8
            header, *rows = list(csv.reader(io.StringIO(body[1:])))
            assert header == table["header"], (url, key)
            assert len(rows) == len(table["rows"]), (url, key)
            for row, shown in zip(rows, table["rows"], strict=True):
                assert [normal(c)[:16] for c in row] == [normal(c)[:16] for c in shown["cells"]], (
                    url,
                    key,
                )
            checked += 1
    assert checked >= 20


def test_every_table_downloads_as_xlsx_with_a_title_and_the_same_columns(scenario, finance):
    for url in page_urls(scenario):
        for key, table in data.page_tables(finance.get(url)).items():
            response = finance.get(with_query(url, table=key, format="xlsx"))
            assert response.status_code == 200, (url, key)
            sheet = load_workbook(io.BytesIO(response.content)).active
            values = list(sheet.iter_rows(values_only=True))
            assert values[0][0]  # the report's title and period
            assert list(values[1]) == table["header"], (url, key)
            assert len(values) - 2 == len(table["rows"]), (url, key)


def test_xlsx_keeps_money_and_quantities_as_numbers_and_codes_as_text(scenario, finance):
    url = f"/billing/finance/theatre/?date={scenario.days[-1]}&table=uses&format=xlsx"
    sheet = load_workbook(io.BytesIO(finance.get(url).content)).active
    header = [
        c.split(" / ")[0] for c in next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))
    ]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    plate = next(r for r in rows if r[header.index("序列号/院内码")] == "S0001")
    assert plate[header.index("计费金额")] == pytest.approx(3800)
    assert isinstance(plate[header.index("计费金额")], (int, float))
    assert isinstance(plate[header.index("数量")], int)
    assert plate[header.index("UDI-DI")].startswith("0")  # the GTIN's leading zero stays


def test_download_file_name_names_the_table_and_the_period(scenario, finance):
    response = finance.get("/billing/finance/?days=7&table=by_variance&format=xlsx")
    end = scenario.days[-1]
    assert "departments-variance" in response["Content-Disposition"]
    assert end.isoformat() in response["Content-Disposition"]


@pytest.mark.parametrize("query", ["table=nope&format=csv", "table=days&format=pdf"])
def test_unknown_table_or_format_is_404(finance, query):
    assert finance.get(f"/billing/finance/?{query}").status_code == 404


def test_downloads_are_refused_to_roles_refused_the_page(hospital):
    nurse = hospital["nurse"]
    nurse.force_login(nurse.user)
    assert nurse.get("/billing/finance/?table=days&format=csv").status_code == 403
