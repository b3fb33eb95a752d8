"""The daily completeness check (issue 17, item 4): every ledger fact of the day that needs
an upload has its record, and no record stands for a fact that needs none."""

import pytest
from django.db import connection, transaction

from billing.models import Encounter
from config.business_day import business_day
from insurance_platform.models import UploadRecord
from insurance_platform.selectors.completeness import daily_check
from inventory.models import StockMove
from tests.billing.conftest import hospital, post_scan  # noqa: F401  (fixtures)
from tests.insurance_platform.test_outbox_flows import created, world  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _delete(record_id):
    """What only a superuser at psql could do: the outbox refuses DELETE otherwise."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM insurance_platform_uploadrecord WHERE id = %s", [record_id])


def test_a_day_of_scans_is_complete(world):  # noqa: F811  (the imported fixture)
    created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
    created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY002"))
    report = daily_check(business_day())
    # receive 3503, issue 3502, insured use 3505; the self-pay use needs none.
    assert (report.expected, report.recorded) == (3, 3)
    assert report.complete and report.missing == [] and report.extra == []
    assert daily_check(business_day().replace(year=2020)).expected == 0


def test_a_deleted_outbox_row_is_caught_as_missing(world):  # noqa: F811  (the imported fixture)
    created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
    use = StockMove.objects.get(kind="use")
    _delete(use.upload.pk)
    report = daily_check(business_day())
    assert not report.complete
    (gap,) = report.missing
    assert (gap.txn, gap.move_id, gap.stocktake_line_id) == ("3505", use.pk, None)
    assert gap.occurred_at == use.occurred_at
    assert (report.expected, report.recorded) == (3, 2)


def test_a_record_whose_fact_needs_none_is_extra(world):  # noqa: F811  (the imported fixture)
    created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
    use = StockMove.objects.get(kind="use")
    # The patient turns out to be self-pay (HIS corrected the type): no sale was due.
    Encounter.objects.filter(visit_no="ZY001").update(insurance_type="自费")
    report = daily_check(business_day())
    assert report.extra == [use.upload.pk]
    assert report.missing == []


def test_a_record_of_another_transaction_is_both_missing_and_extra(world):  # noqa: F811  (the imported fixture)
    issue = StockMove.objects.get(kind="issue")
    UploadRecord.objects.filter(move=issue).update(txn="3505")
    report = daily_check(business_day())
    assert [gap.move_id for gap in report.missing] == [issue.pk]
    assert report.extra == [issue.upload.pk]
