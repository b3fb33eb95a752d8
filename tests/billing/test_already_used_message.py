"""The refusal of a second use tells the nurse when the first one happened, in hospital time
(the page lists uses in Asia/Shanghai time; the message must match it)."""

import datetime as dt

import pytest
from django.utils import timezone

from consumables.models import Consumable
from tests.billing.conftest import post_scan, stocked_item

pytestmark = pytest.mark.django_db


def test_second_use_refusal_gives_the_first_use_in_hospital_time(hospital):
    _, _, (code,) = stocked_item(
        hospital, "690778000001", tracking=Consumable.Tracking.UNIT, serials=["SN1"]
    )
    # 01:30 UTC is 09:30 in Shanghai: a UTC time in the message would read 01:30.
    first_use = dt.datetime.combine(
        timezone.localdate() - dt.timedelta(days=1), dt.time(1, 30), tzinfo=dt.UTC
    )
    nurse = hospital["nurse"]
    used = post_scan(nurse, "use", code, "XNK", encounter="ZY001", occurred_at=first_use)
    assert used.status_code == 201, used.json()

    again = post_scan(nurse, "use", code, "XNK", encounter="ZY001")
    assert again.json()["error"]["code"] == "ALREADY_USED"
    local = timezone.localtime(first_use)
    assert f"{local:%Y-%m-%d} 09:30" in again.json()["error"]["message"]
