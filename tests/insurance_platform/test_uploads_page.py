"""The insurance office's uploads page and the uploads API (issue 17, item 4): a day's
records by transaction and status, failures with the platform's message, resend, and the
daily completeness check; roles and bad input."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config import roles
from insurance_platform.models import UploadRecord
from insurance_platform.services import send
from tests.billing import test_broker_down  # noqa: F401
from tests.billing.conftest import client_for, hospital, post_scan  # noqa: F401  (fixtures)
from tests.insurance_platform import test_outbox_flows as flows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

world = flows.world
created = flows.created
Status = UploadRecord.Status


@pytest.fixture
def day_sent(world, platform):
    """Received, issued, used twice (insured): the platform refuses the sales."""
    for _ in range(2):
        created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
    platform.reject(lambda txn, r: txn == "3505", 3101, "医保目录编码未备案 / code not filed")
    send.send_all_due()
    return world


def office():
    client = client_for("ins01", roles.INSURANCE_OFFICE)
    client.force_login(client.user)
    return client


def test_the_page_counts_the_day_by_transaction_and_status(day_sent):
    response = office().get("/insurance/uploads/")
    assert response.status_code == 200
    summary = {row.txn: row for row in response.context["summary"]}
    assert set(summary) == {"3501", "3502", "3503", "3504", "3505", "3506"}
    assert summary["3503"].counts["accepted"] == 1
    assert summary["3502"].counts["accepted"] == 1
    assert summary["3505"].counts["failed"] == 2 and summary["3505"].total == 2
    assert summary["3501"].total == 0
    assert response.context["totals"] == {"pending": 0, "sent": 0, "accepted": 2, "failed": 2}
    page = response.content.decode()
    assert "医保目录编码未备案" in page and "3101" in page
    assert page.count('name="upload"') == 2  # a resend button per failure
    assert response.context["check"].complete
    assert "完整" in page


def test_the_page_is_a_bounded_number_of_queries(day_sent):
    client = office()
    client.get("/insurance/uploads/")  # sessions, permissions warmed
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/insurance/uploads/").status_code == 200
    before = len(captured)
    for _ in range(3):
        created(post_scan(day_sent["nurse"], "use", day_sent["code"], "XNK", encounter="ZY001"))
    send.send_all_due()
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/insurance/uploads/").status_code == 200
    assert len(captured) == before  # 5 failures instead of 2: the same queries


def test_resend_from_the_page_sends_again_and_the_platform_now_accepts(
    day_sent, platform, django_capture_on_commit_callbacks
):
    platform._rejections.clear()  # the code was filed at the platform meanwhile
    failed = UploadRecord.objects.filter(status=Status.FAILED).first()
    with django_capture_on_commit_callbacks(execute=True):
        response = office().post(
            "/insurance/uploads/resend/", {"upload": failed.pk, "date": str(failed.business_day)}
        )
    assert response.status_code == 302
    failed.refresh_from_db()
    # Sent at once without a broker (the quick start); with one, beat's next round.
    assert failed.status == Status.ACCEPTED and failed.resent_by.username == "ins01"
    assert failed.resent_at is not None
    assert str(failed.pk) in platform.accepted


def test_resend_of_what_has_not_failed_is_refused(day_sent):
    accepted = UploadRecord.objects.filter(status=Status.ACCEPTED).first()
    client = office()
    response = client.post(f"/api/v1/insurance/uploads/{accepted.pk}/resend")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "UPLOAD_NOT_FAILED"
    response = client.post("/api/v1/insurance/uploads/999999/resend")
    assert response.status_code == 404
    page = client.post("/insurance/uploads/resend/", {"upload": accepted.pk}, follow=True)
    assert "只有上传失败的记录可以重新上传" in page.content.decode()


def test_resend_through_the_api(day_sent, platform, django_capture_on_commit_callbacks):
    failed = UploadRecord.objects.filter(status=Status.FAILED).first()
    with django_capture_on_commit_callbacks(execute=True):
        response = office().post(f"/api/v1/insurance/uploads/{failed.pk}/resend")
    assert response.status_code == 200, response.json()
    # Still refused by the platform: failed again, with its message.
    failed.refresh_from_db()
    assert failed.status == Status.FAILED and failed.error_code == "3101"
    assert failed.attempts == 2


def test_the_api_lists_a_day_with_filters_and_refs(day_sent):
    day = str(UploadRecord.objects.first().business_day)
    client = office()
    rows = client.get(f"/api/v1/insurance/uploads?date={day}").json()
    assert [r["txn"] for r in rows] == ["3503", "3502", "3505", "3505"]
    sales = client.get(f"/api/v1/insurance/uploads?date={day}&txn=3505&status=failed").json()
    assert len(sales) == 2
    sale = UploadRecord.objects.filter(txn="3505").select_related("move").first()
    assert sales[0]["ref"] == str(sale.move.event_id)
    assert sales[0]["payload"]["med_list_codg"] == day_sent["consumable"].insurance_code
    assert sales[0]["error"].startswith("医保目录编码未备案")
    first = client.get(f"/api/v1/insurance/uploads?date={day}&limit=1").json()
    after = client.get(f"/api/v1/insurance/uploads?date={day}&after={first[0]['id']}").json()
    assert len(first) == 1 and len(after) == 3


@pytest.mark.parametrize(
    "query",
    [
        "",
        "date=2026-13-01",
        "date=today",
        "date=2026-01-01&txn=9999",
        "date=2026-01-01&status=lost",
        "date=2026-01-01&limit=0",
        "date=2026-01-01&limit=99999",
    ],
)
def test_the_api_refuses_bad_filters(world, query):
    response = office().get(f"/api/v1/insurance/uploads?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_bad_date_on_the_page_is_a_clear_400(world):
    response = office().get("/insurance/uploads/?date=2026-02-30")
    assert response.status_code == 400
    assert "业务日" in response.content.decode()


def test_finance_reads_without_resend_and_a_nurse_is_refused(day_sent):
    finance = client_for("fin01", roles.FINANCE)
    finance.force_login(finance.user)
    page = finance.get("/insurance/uploads/")
    assert page.status_code == 200 and 'name="upload"' not in page.content.decode()
    failed = UploadRecord.objects.filter(status=Status.FAILED).first()
    assert finance.post("/insurance/uploads/resend/", {"upload": failed.pk}).status_code == 403
    assert finance.post(f"/api/v1/insurance/uploads/{failed.pk}/resend").status_code == 403
    nurse = day_sent["nurse"]
    nurse.force_login(nurse.user)
    assert nurse.get("/insurance/uploads/").status_code == 403
    assert nurse.get("/api/v1/insurance/uploads?date=2026-01-01").status_code == 403
    failed.refresh_from_db()
    assert failed.status == Status.FAILED
