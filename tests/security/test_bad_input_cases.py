"""The bad inputs issue 13 found answered with a 500, each now a clear 4xx with nothing
written (docs/contract.md: any malformed request is a 4xx ``VALIDATION_ERROR``, never a 5xx).

The walk over every URL with bad values is tests/security/test_bad_input.py; these are
the reported cases, one behaviour each.
"""

import uuid

import pytest
from django.utils import timezone

from billing.models import ChargeLine, Encounter
from config import roles
from inventory.models import StockMove, StocktakeLine
from inventory.services.stocktake import stocktake_open
from tests.billing.conftest import (
    client_for,
    hospital,  # noqa: F401  (a fixture, used by name)
    stocked_item,
)

from .world import client_as

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000


@pytest.fixture
def admin(hospital):  # noqa: F811
    client = client_for("admin01", roles.ADMINISTRATOR, hospital["ward"], hospital["store"])
    client.force_login(client.user)  # pages too, not only the API
    return client


@pytest.fixture
def his(hospital):  # noqa: F811
    return client_for("his", roles.INTEGRATION)


def validation_error(response) -> bool:
    return (
        response.status_code == 400
        and response["Content-Type"].startswith("application/json")
        and response.json()["error"]["code"] == "VALIDATION_ERROR"
    )


# --- deeply nested JSON ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/scans", "/api/v1/encounters", "/api/v1/charges", "/api/v1/codes/resolve"]
)
def test_deeply_nested_json_is_a_validation_error(admin, url):
    response = admin.post(url, DEEP, content_type="application/json")
    assert validation_error(response), (response.status_code, response.content[:200])


def test_json_nested_beyond_the_limit_but_within_pythons_is_a_validation_error(admin):
    body = '{"code": ' + "[" * 200 + "]" * 200 + "}"
    response = admin.post("/api/v1/codes/resolve", body, content_type="application/json")
    assert validation_error(response)


def test_nul_inside_a_json_string_is_a_validation_error(admin):
    body = '{"code": "01\\u000012"}'
    response = admin.post("/api/v1/codes/resolve", body, content_type="application/json")
    assert validation_error(response)


def test_lone_surrogate_inside_a_json_string_is_a_validation_error(admin):
    body = '{"code": "\\ud800"}'
    response = admin.post("/api/v1/codes/resolve", body, content_type="application/json")
    assert validation_error(response)


def test_group_separator_in_a_scanned_code_is_still_accepted(admin):
    body = '{"code": "0106901234567892\\u001d10L1"}'
    response = admin.post("/api/v1/codes/resolve", body, content_type="application/json")
    assert response.status_code == 200, response.json()


# --- NUL in a query parameter or a path segment ----------------------------------------

NUL_PAGES = [
    "/billing/bedside/?visit=ZY%00",
    "/billing/bedside/patient/?ward=XNK&visit=ZY%00",
    "/billing/audit/ZY%00/",
    "/billing/daily-list/ZY%00/",
    "/billing/kits/ZY%00/",
    "/inventory/stock/?q=%00",
    "/inventory/history/?consumable=%00",
    "/inventory/labels/?labels=%00",
    "/inventory/issue/?q=%00",
    "/billing/finance/departments/X%00/",
    "/billing/finance/departments/XNK/items/X%00/",
    "/master/conflicts/rows/?q=%00",
]


@pytest.mark.parametrize("url", NUL_PAGES)
def test_nul_in_a_page_url_is_a_400_page(admin, url):
    response = admin.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "请求有误" in text and 'href="/"' in text


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/encounters/ZY%00/audit",
        f"/api/v1/reconciliation/runs/{timezone.localdate():%Y-%m-%d}/exceptions?kind=%00",
    ],
)
def test_nul_in_an_api_url_is_a_validation_error(admin, url):
    response = admin.get(url)
    assert validation_error(response), (response.status_code, response.content[:200])


def test_control_character_in_a_query_parameter_is_refused(admin):
    assert admin.get("/inventory/stock/?q=a%07b").status_code == 400


def test_control_character_in_a_query_parameter_name_is_refused(admin):
    assert admin.get("/inventory/stock/?q%00=a").status_code == 400


def test_400_page_is_english_for_english_readers(admin):
    admin.cookies["django_language"] = "en"
    response = admin.get("/inventory/stock/?q=%00")
    text = response.content.decode()
    assert response.status_code == 400
    assert "Bad request" in text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text)


# --- numbers beyond their columns ------------------------------------------------------


def test_his_charge_whose_amount_overflows_its_column_is_refused_and_nothing_written(
    his, hospital  # noqa: F811
):
    consumable, _, _ = stocked_item(hospital, "690555900001", price="8.5")
    before = ChargeLine.objects.count()
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": "ZY001",
            "charge_code": consumable.charge_code,
            "quantity": 1000,
            "unit_price": "9999999999.9999",
            "charged_at": timezone.now().isoformat(),
        },
        format="json",
    )
    assert validation_error(response), response.json()
    assert ChargeLine.objects.count() == before


def test_his_charge_with_a_unit_price_beyond_its_column_is_refused(his, hospital):  # noqa: F811
    consumable, _, _ = stocked_item(hospital, "690555900002", price="8.5")
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": "ZY001",
            "charge_code": consumable.charge_code,
            "quantity": 1,
            "unit_price": "99999999999.5",
            "charged_at": timezone.now().isoformat(),
        },
        format="json",
    )
    assert validation_error(response)


def test_stocktake_count_beyond_its_column_is_a_400_and_nothing_written(hospital):  # noqa: F811
    stocked_item(hospital, "690555900003", price="8.5", quantity=5)
    nurse = hospital["nurse"].user
    stocktake = stocktake_open(department=hospital["ward"], user=nurse)
    line = stocktake.lines.first()
    moves = StockMove.objects.count()
    response = client_as(nurse).post(
        f"/inventory/stocktake/{stocktake.pk}/lines/{line.pk}/count/",
        {"counted": "99999999999"},
    )
    assert response.status_code == 400
    assert StocktakeLine.objects.get(pk=line.pk).counted == line.counted
    assert StockMove.objects.count() == moves


# --- finance dates at the edges ---------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "end=0001-01-01",
        "end=9999-12-31",
        "since=0001-01-01&until=0001-01-02",
        "since=9999-12-30&until=9999-12-31",
        "month=0001-01",
        "month=9999-12",
    ],
)
@pytest.mark.parametrize("page", ["/billing/finance/", "/billing/finance/month/"])
def test_finance_period_at_the_edge_of_the_calendar_is_a_400_page(admin, page, query):
    response = admin.get(f"{page}?{query}")
    assert response.status_code == 400


# --- visit numbers -------------------------------------------------------------------


def encounter_body(visit_no):
    return {
        "visit_no": visit_no,
        "patient_id": "P901",
        "patient_name": "李四",
        "insurance_type": "居民医保",
        "department": "XNK",
        "admitted_at": timezone.now().isoformat(),
    }


@pytest.mark.parametrize("visit_no", ["ZY/901", "ZY 901", "住院901", "Z" * 33, "ZY.901", ""])
def test_his_visit_number_outside_the_contract_is_refused(his, visit_no):
    response = his.post("/api/v1/encounters", encounter_body(visit_no), format="json")
    assert validation_error(response), response.json()
    assert not Encounter.objects.filter(patient__patient_id="P901").exists()


@pytest.mark.parametrize("visit_no", ["ZY-901_a", "Z" * 32, "1"])
def test_his_visit_number_within_the_contract_is_accepted(his, visit_no):
    response = his.post("/api/v1/encounters", encounter_body(visit_no), format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("page", ["audit", "daily-list", "kits"])
@pytest.mark.parametrize(
    "visit", ["a.b", "Z" * 5000, "%E4%BD%8F%E9%99%A2", "%20"], ids=["dot", "long", "cjk", "space"]
)
def test_page_of_an_odd_visit_number_is_a_404(admin, page, visit):
    response = admin.get(f"/billing/{page}/{visit}/")
    assert response.status_code == 404



def test_nul_in_a_page_form_field_is_a_400_and_nothing_written(hospital):  # noqa: F811
    stocked_item(hospital, "690555900004", price="8.5", quantity=5)
    nurse = hospital["nurse"].user
    stocktake = stocktake_open(department=hospital["ward"], user=nurse)
    line = stocktake.lines.first()
    response = client_as(nurse).post(
        f"/inventory/stocktake/{stocktake.pk}/lines/{line.pk}/count/", {"counted": "3\x00"}
    )
    assert response.status_code == 400
    assert StocktakeLine.objects.get(pk=line.pk).counted == line.counted


def test_scanned_code_with_group_separators_passes_the_page_form(hospital):  # noqa: F811
    _, _, codes = stocked_item(hospital, "690555900005", price="8.5", quantity=5)
    nurse = hospital["nurse"].user
    stocktake = stocktake_open(department=hospital["ward"], user=nurse)
    response = client_as(nurse).post(
        f"/inventory/stocktake/{stocktake.pk}/scan/", {"code": codes[0] + "\x1d", "quantity": 1}
    )
    assert response.status_code == 302  # counted (or refused by the count), not a 400
