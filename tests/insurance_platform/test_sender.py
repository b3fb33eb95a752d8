"""The sender against the platform double, a real HTTP server (issue 17, items 2 and 3):
from real scan flows to records accepted at the platform, errors shown, retries, and two
workers that never send a record twice."""

import datetime as dt
import json
import threading
import urllib.request

import pytest
from django.db import connection
from django.utils import timezone

from insurance_platform import envelope, tasks
from insurance_platform.models import UploadRecord
from insurance_platform.services import send
from insurance_platform.spec import field_errors
from inventory.models import Stocktake
from inventory.services.stocktake import (
    stocktake_confirm,
    stocktake_count,
    stocktake_open,
    stocktake_submit,
)
from tests.billing import test_broker_down
from tests.billing.conftest import client_for, hospital, post_scan  # noqa: F401  (fixtures)
from tests.insurance_platform import test_outbox_flows as flows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

world = flows.world  # the fixture: an insured inpatient, an item received and issued
created = flows.created
broker_down = test_broker_down.broker_down  # the fixture: a broker nobody answers at

Status = UploadRecord.Status


def statuses():
    return dict(UploadRecord.objects.values_list("pk", "status"))


def every_transaction(world):
    """Each of 3501..3506 from a real flow (the world already received and issued)."""
    nurse, keeper, code = world["nurse"], world["keeper"], world["code"]
    created(post_scan(nurse, "use", code, "XNK", encounter="ZY001"))  # 3505
    created(post_scan(nurse, "return", code, "XNK", encounter="ZY001", quantity=1))  # 3506
    created(post_scan(nurse, "scrap", code, "XNK", quantity=1, reason="污染"))  # 3502
    created(post_scan(keeper, "return", code, "CK01", quantity=1))  # 3504
    confirmer = client_for("store02", "storekeeper", world["store"]).user
    stocktake = stocktake_open(department=world["store"], user=keeper.user)
    stocktake_count(stocktake_id=stocktake.pk, code=code, user=keeper.user, quantity=3)
    stocktake_submit(stocktake_id=stocktake.pk, user=keeper.user)
    stocktake_confirm(stocktake_id=stocktake.pk, user=confirmer)  # 3501
    assert Stocktake.objects.get(pk=stocktake.pk).status == Stocktake.Status.POSTED


@pytest.mark.parametrize("txn", ["3501", "3502", "3503", "3504", "3505", "3506"])
def test_each_transaction_from_a_scan_flow_is_accepted_at_the_platform(world, platform, txn):
    every_transaction(world)
    send.send_all_due()
    records = UploadRecord.objects.filter(txn=txn)
    assert records.exists()
    for record in records:
        assert record.status == Status.ACCEPTED and record.acknowledged_at is not None
        sent_txn, sent = platform.accepted[str(record.pk)]
        assert sent_txn == txn and field_errors(txn, sent) == []
        assert sent["fixmedins_hilist_id"] == world["consumable"].material_code
        assert sent["med_list_codg"] == world["consumable"].insurance_code
        assert platform.deliveries[str(record.pk)] == 1


def test_a_day_of_every_transaction_goes_in_one_request_per_transaction(world, platform):
    every_transaction(world)
    txns = set(UploadRecord.objects.values_list("txn", flat=True))
    assert txns == {"3501", "3502", "3503", "3504", "3505", "3506"}
    result = send.send_all_due()
    assert result.failed == result.retrying == 0
    assert set(statuses().values()) == {Status.ACCEPTED}
    # The platform holds each record once, under its transaction, with the fields it checks.
    records = UploadRecord.objects.all()
    assert {str(r.pk): r.txn for r in records} == {
        rid: txn for rid, (txn, _) in platform.accepted.items()
    }
    for record in records:
        txn, sent = platform.accepted[str(record.pk)]
        assert field_errors(txn, sent) == []
        assert sent["med_list_codg"] == record.payload["med_list_codg"]
        assert record.acknowledged_at is not None and record.error == ""
    assert set(platform.deliveries.values()) == {1}
    # One request per transaction of the batch.
    assert platform.requests == len(txns)
    # Nothing is due any more: a second round sends nothing.
    assert send.send_all_due().claimed == 0


def test_a_record_the_platform_refuses_is_failed_with_its_message(world, platform):
    created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
    platform.reject(lambda txn, r: txn == "3505", 3101, "医保目录编码未备案 / code not filed")
    send.send_all_due()
    sale = UploadRecord.objects.get(txn="3505")
    assert sale.status == Status.FAILED
    assert sale.error_code == "3101" and "未备案" in sale.error
    assert UploadRecord.objects.exclude(txn="3505").filter(status=Status.ACCEPTED).count() == 2
    # A failed record waits for a person: the sender leaves it alone.
    assert send.send_all_due().claimed == 0


def test_a_field_the_platform_finds_wrong_is_shown_on_the_record(world, platform):
    record = UploadRecord.objects.get(txn="3503")
    send.prepare([record.pk])
    record.refresh_from_db()
    # As a ledger with a wrong value would give it: a supplier name too long for the spec.
    UploadRecord.objects.filter(pk=record.pk).update(
        payload={**record.payload, "spler_name": "供" * 201}
    )
    send.send_all_due()
    record.refresh_from_db()
    assert record.status == Status.FAILED
    assert record.error_code == "2001" and "spler_name" in record.error


def test_the_platform_down_is_retried_with_back_off_then_accepted(world, platform):
    platform.fail_next(2, status=503)  # both transactions of the first round
    now = timezone.now()
    first = send.send_due(now=now)
    assert first.retrying == 2 and first.accepted == 0
    record = UploadRecord.objects.get(txn="3503")
    assert record.status == Status.PENDING and record.attempts == 1
    assert "503" in record.error
    assert record.next_attempt_at == now + send.backoff(1)
    # Not before its time ...
    assert send.send_due(now=now + dt.timedelta(seconds=30)).claimed == 0
    # ... then accepted, and the message cleared.
    later = send.send_due(now=now + dt.timedelta(minutes=2))
    assert later.accepted == 2
    record.refresh_from_db()
    assert record.status == Status.ACCEPTED and record.error == "" and record.attempts == 2


def test_a_platform_that_stays_down_fails_the_record_after_the_last_attempt(world, platform):
    platform.fail_next(100, status=502)
    now = timezone.now()
    for attempt in range(send.MAX_ATTEMPTS):
        send.send_due(now=now + dt.timedelta(hours=attempt))
    record = UploadRecord.objects.get(txn="3503")
    assert record.status == Status.FAILED and record.attempts == send.MAX_ATTEMPTS
    assert "502" in record.error


def test_an_unreachable_platform_keeps_records_pending(world, settings):
    settings.INSURANCE_PLATFORM_URL = "http://127.0.0.1:9"  # nothing listens there
    result = send.send_due()
    assert result.retrying == 2
    assert set(statuses().values()) == {Status.PENDING}
    assert "unreachable" in UploadRecord.objects.first().error


def test_a_bad_signature_is_refused_by_the_platform(world, platform, settings):
    settings.INSURANCE_PLATFORM_SECRET = "not-the-bureau-s"
    result = send.send_due()
    assert result.retrying == 2 and not platform.accepted
    assert "signature" in UploadRecord.objects.first().error


def test_a_record_sent_twice_is_taken_once_by_the_platform(world, platform):
    send.send_all_due()
    record = UploadRecord.objects.get(txn="3503")
    # As if the answer had been lost: the same record id goes again.
    message = send.message_for("3503", [record], now=timezone.now())
    body = json.dumps(message).encode()
    stamp = "1"
    request = urllib.request.Request(
        platform.url + envelope.PATH,
        data=body,
        headers={
            envelope.TIMESTAMP: stamp,
            envelope.SIGNATURE: envelope.signature("test-secret", stamp, body),
        },
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        answer = json.loads(response.read())
    assert answer["output"]["results"][0]["infcode"] == 0
    assert platform.deliveries[str(record.pk)] == 1


def test_a_sent_record_never_answered_is_sent_again_after_it_goes_stale(world, platform):
    now = timezone.now()
    ids = send.claim(now=now, batch_size=10)  # a worker that died after its claim
    assert len(ids) == 2 and set(statuses().values()) == {Status.SENT}
    assert send.send_due(now=now + dt.timedelta(minutes=1)).claimed == 0
    assert send.send_due(now=now + send.STALE + dt.timedelta(seconds=1)).accepted == 2


def test_two_workers_never_send_a_record_twice(world, platform):
    nurse, code = world["nurse"], world["code"]
    for _ in range(4):
        created(post_scan(nurse, "use", code, "XNK", encounter="ZY001"))
    total = UploadRecord.objects.count()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(send.send_all_due(batch_size=2))
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.claimed for r in results) == total
    assert set(statuses().values()) == {Status.ACCEPTED}
    assert len(platform.accepted) == total and set(platform.deliveries.values()) == {1}


def test_the_broker_down_at_scan_time_the_sale_is_sent_later(world, platform, broker_down):
    response = post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001")
    assert response.status_code == 201, response.json()
    assert broker_down == []  # the scan never reached for the broker
    sale = UploadRecord.objects.get(txn="3505")
    assert sale.status == Status.PENDING and sale.move.use.charge
    assert not platform.accepted
    # The broker back: beat's task runs (here, as a worker would) and sends it.
    assert tasks.send_uploads.apply().get()["accepted"] == 3
    sale.refresh_from_db()
    assert sale.status == Status.ACCEPTED and str(sale.pk) in platform.accepted
