"""Issue 13, finding 6a: a truncated MA read tells the nurse to rescan (UNREADABLE_CODE),
not to call procurement (an internal code with no consumable, UNKNOWN_CODE)."""

import pytest

from billing.models import Use
from tests.billing.conftest import post_scan

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.mark.parametrize("code", ["MA.", "MA.X1", "ma.156x"])
def test_resolving_a_truncated_ma_read_is_unreadable(auth_client, code):
    response = auth_client.post("/api/v1/codes/resolve", {"code": code}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UNREADABLE_CODE"


def test_a_truncated_ma_read_at_the_bedside_asks_for_a_rescan(hospital):
    response = post_scan(hospital["nurse"], "use", "MA.", "XNK", encounter="ZY001")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UNREADABLE_CODE"
    assert not Use.objects.exists()
