"""Denials (拒付) back in (issue 17, item 5): the HIS feed's settlement id, a file with good
and bad rows, matching to charges and to our own findings (found vs missed), the analysis
page."""

import io
import uuid

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.reconciliation import reconciliation_run
from config import roles
from insurance_platform.models import Denial, DenialImport
from tests.billing.conftest import client_for, hospital, post_scan, stocked_item  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def settled(hospital):  # noqa: F811  (the imported fixture)
    """ZY001 settled as SETL1: item A ordered, used and charged at the bedside (nothing to
    find), item B charged at HIS at 99 instead of 25.5 with no order and no use (our
    nightly run finds it)."""
    a, _, (code_a,) = stocked_item(hospital, "690880000001")
    b, _, _ = stocked_item(hospital, "690880000002")
    his = client_for("his", roles.INTEGRATION)
    response = his.post(
        "/api/v1/orders",
        {
            "order_id": "YZ001",
            "encounter": "ZY001",
            "order_code": a.order_code,
            "quantity": 1,
            "ordered_at": timezone.now().isoformat(),
            "doctor": "赵医生",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    response = post_scan(hospital["nurse"], "use", code_a, "XNK", encounter="ZY001")
    assert response.status_code == 201, response.json()
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": "ZY001",
            "charge_code": b.charge_code,
            "quantity": 1,
            "unit_price": "99",
            "charged_at": timezone.now().isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    response = his.post("/api/v1/encounters/ZY001/discharge", {"setl_id": "SETL1"}, format="json")
    assert response.status_code == 200, response.json()
    run = reconciliation_run(day=timezone.localdate())
    assert run.exceptions.filter(kind="PRICE_MISMATCH", material_code=b.material_code).exists()
    return {**hospital, "a": a, "b": b}


def month() -> str:
    return timezone.localdate().strftime("%Y-%m")


def write_csv(tmp_path, rows, name="denials.csv"):
    path = tmp_path / name
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def denial_rows(settled):
    return [
        ["结算ID", "住院号", "项目编码", "拒付金额", "拒付原因", "月份"],
        ["SETL1", "", settled["a"].charge_code, "25.50", "超限定支付范围", month()],
        ["", "ZY001", settled["b"].insurance_code, "99", "超物价收费", f"{month()}-03"],
        ["", "ZY999", "X-001", "12", "无医嘱收费", month()],
        ["SETL1", "", settled["a"].charge_code, "-5", "金额有误", month()],
    ]


def test_a_file_with_a_bad_row_loads_the_rest_and_says_which_line(settled, tmp_path):
    path = write_csv(tmp_path, denial_rows(settled))
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_denials", str(path), stdout=out)
    assert refused.value.returncode == 2
    assert "第 5 行 / line 5" in out.getvalue() and "拒付金额" in out.getvalue()
    denials = {d.line: d for d in Denial.objects.all()}
    assert set(denials) == {2, 3, 4}
    # Matched by the settlement id; we had not found anything on A: missed.
    a = denials[2]
    assert a.encounter.visit_no == "ZY001" and a.visit_no == "ZY001"
    assert a.material_code == settled["a"].material_code and a.department.code == "XNK"
    assert len(a.charge_ids) == 1 and a.found_kinds == [] and not a.found
    # Matched by the visit and the national insurance code; our run had found it first.
    b = denials[3]
    assert b.material_code == settled["b"].material_code
    # What our nightly run had reported on that encounter and item: over price, no order,
    # and no use (B is billed by scan).
    assert b.found_kinds == ["CHARGE_WITHOUT_ORDER", "CHARGE_WITHOUT_USE", "PRICE_MISMATCH"]
    # No such encounter: kept, with why.
    x = denials[4]
    assert x.encounter is None and x.charge_ids == [] and "no encounter" in x.unmatched


def test_the_same_file_twice_is_refused_and_counts_nothing_twice(settled, tmp_path):
    path = write_csv(tmp_path, denial_rows(settled)[:3])
    call_command("import_denials", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="已于") as refused:
        call_command("import_denials", str(path), stdout=io.StringIO())
    assert refused.value.returncode == 1
    assert Denial.objects.count() == 2 and DenialImport.objects.count() == 1


def test_a_file_of_bad_rows_only_loads_nothing_and_may_come_again(settled, tmp_path):
    rows = denial_rows(settled)
    path = write_csv(tmp_path, [rows[0], rows[4], ["", "", "", "", "", "2026-99"]])
    with pytest.raises(CommandError) as refused:
        call_command("import_denials", str(path), stdout=io.StringIO())
    assert refused.value.returncode == 1
    assert not DenialImport.objects.exists()


def test_a_file_without_the_columns_is_refused(settled, tmp_path):
    path = write_csv(tmp_path, [["项目编码", "拒付金额"], ["X", "1"]])
    with pytest.raises(CommandError, match="缺少必需的列"):
        call_command("import_denials", str(path), stdout=io.StringIO())


def test_an_xlsx_file_loads(settled, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in denial_rows(settled)[:3]:
        sheet.append(row)
    sheet["D3"] = 99  # a number cell, as Excel keeps an amount
    path = tmp_path / "拒付明细.xlsx"
    book.save(path)
    call_command("import_denials", str(path), stdout=io.StringIO())
    assert sorted(Denial.objects.values_list("amount", flat=True)) == [25.5, 99]


def test_the_page_shows_found_and_missed_by_department_item_reason_and_month(settled, tmp_path):
    call_command(
        "import_denials", str(write_csv(tmp_path, denial_rows(settled)[:4])), stdout=io.StringIO()
    )
    office = client_for("ins01", roles.INSURANCE_OFFICE)
    office.force_login(office.user)
    response = office.get(f"/insurance/denials/?month={month()}")
    assert response.status_code == 200
    totals = response.context["totals"]
    assert (totals.count, str(totals.amount)) == (3, "136.50")
    assert (totals.found_count, str(totals.found_amount)) == (1, "99.00")
    assert (totals.missed_count, str(totals.missed_amount)) == (2, "37.50")
    by_department = {g.key[0]: g for g in response.context["groups"]["department"]}
    assert by_department["XNK"].count == 2 and by_department["XNK"].found_count == 1
    assert by_department[None].count == 1  # the unmatched one
    by_reason = {g.key[0]: g for g in response.context["groups"]["reason"]}
    assert (
        by_reason["超物价收费"].found_count == 1 and by_reason["超限定支付范围"].missed_count == 1
    )
    assert [g.count for g in response.context["groups"]["month"]] == [3]
    assert [d.line for d in response.context["missed"]] == [2]
    assert [d.line for d in response.context["unmatched"]] == [4]
    page = response.content.decode()
    assert "未发现的拒付" in page and "ZY999" in page


def test_the_page_refuses_a_bad_month_and_a_nurse(settled):
    office = client_for("ins01", roles.INSURANCE_OFFICE)
    office.force_login(office.user)
    assert office.get("/insurance/denials/?month=2026-13").status_code == 400
    nurse = settled["nurse"]
    nurse.force_login(nurse.user)
    assert nurse.get("/insurance/denials/").status_code == 403
