"""Event times HIS sends besides charges and refunds (docs/contract.md, TIME_OUT_OF_RANGE).

A discharge may be keyed in days late, so it has no back-dating window, but no discharge
lies ahead of the server clock or before its admission. Admissions and doctor orders are
often entered long after the fact: the scan window does not apply to them.
"""

import datetime as dt

import pytest
from django.utils import timezone

from billing.models import DoctorOrder, Encounter
from config import roles
from tests.billing.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


def discharge(his, discharged_at: str):
    return his.post(
        "/api/v1/encounters/ZY001/discharge", {"discharged_at": discharged_at}, format="json"
    )


def still_open() -> bool:
    return Encounter.objects.get(visit_no="ZY001").discharged_at is None


@pytest.mark.parametrize(
    "discharged_at",
    [
        pytest.param(lambda now: (now + dt.timedelta(days=1)).isoformat(), id="a-day-ahead"),
        pytest.param(lambda now: "9999-12-31T23:59:59-08:00", id="year-9999"),
        pytest.param(lambda now: "0001-01-01T00:00:00+08:00", id="year-1"),
    ],
)
def test_discharge_outside_time_is_refused_and_leaves_the_encounter_open(his, discharged_at):
    response = discharge(his, discharged_at(timezone.now()))
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "TIME_OUT_OF_RANGE"
    assert response.json()["error"]["detail"]["field"] == "discharged_at"
    assert still_open()


def test_discharge_before_the_admission_is_refused(his, hospital):
    admitted_at = hospital["encounter"].admitted_at
    response = discharge(his, (admitted_at - dt.timedelta(hours=1)).isoformat())
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (error["code"], error["detail"]["reason"]) == ("TIME_OUT_OF_RANGE", "BEFORE_ADMISSION")
    assert still_open()


def test_discharge_keyed_in_late_is_recorded(his, hospital, settings):
    settings.SCAN_BACKDATE_HOURS = 1  # the scan window does not bound a discharge
    discharged_at = hospital["encounter"].admitted_at + dt.timedelta(hours=1)
    response = discharge(his, discharged_at.isoformat())
    assert response.status_code == 200, response.json()
    assert Encounter.objects.get(visit_no="ZY001").discharged_at == discharged_at


def test_admission_and_order_from_weeks_back_are_recorded(his, hospital):
    weeks_ago = (timezone.now() - dt.timedelta(days=21)).isoformat()
    admitted = his.post(
        "/api/v1/encounters",
        {
            "visit_no": "ZY321",
            "patient_id": "P321",
            "patient_name": "王五",
            "insurance_type": "职工医保",
            "department": "XNK",
            "admitted_at": weeks_ago,
        },
        format="json",
    )
    ordered = his.post(
        "/api/v1/orders",
        {
            "order_id": "YZ321",
            "encounter": "ZY321",
            "order_code": "YZ00000001",
            "quantity": 1,
            "ordered_at": weeks_ago,
        },
        format="json",
    )
    assert (admitted.status_code, ordered.status_code) == (201, 201), ordered.json()
    assert DoctorOrder.objects.filter(order_id="YZ321").exists()
