"""The procurement pages: code-conflict workspace (upload, report, fix, promote) and mapping
changes, with their exports, roles and a bounded number of queries."""

import io
import re

import openpyxl
import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config import roles
from consumables.models import Consumable, MappingChange, StagingRow
from tests.factories import ConsumableFactory, gtin14, insurance_code

pytestmark = pytest.mark.django_db
PASSWORD = "pw-123456!"
HRP = (
    "物资编码,物资名称,收费编码,医保编码,UDI-DI\n"
    f"WZ1,留置针,JF1,{insurance_code(1)},{gtin14(1)}\n"
    f"WZ1,留置针,JF9,{insurance_code(1)},{gtin14(1)}\n"
    f"WZ2,导尿管,JF2,{insurance_code(2)},{gtin14(2)}\n"
    ",无编码行,JF3,,\n"
)


def person(username, role):
    user = User.objects.create_user(username, password=PASSWORD, first_name=username)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def buyers():
    return person("cg01", roles.PROCUREMENT), person("cg02", roles.PROCUREMENT)


def upload(client, body=HRP, name="HRP物资.csv", source="hrp"):
    return client.post(
        "/master/conflicts/",
        {"source": source, "replace": "on",
         "file": SimpleUploadedFile(name, body.encode(), "text/csv")},
    )  # fmt: skip


def test_upload_stages_the_file_and_reports_the_refused_line(buyers):
    response = upload(buyers[0])
    assert response.status_code == 302
    detail = buyers[0].get(response["Location"]).content.decode()
    assert "HRP物资.csv" in detail and ">5<" in detail and "物资编码必填" in detail
    assert StagingRow.objects.count() == 3


def test_an_xlsx_export_of_the_hospital_loads_too(buyers):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["医嘱编码", "医嘱名称", "收费编码"])
    sheet.append(["YZ1", "留置针", "JF1"])
    sheet.append(["YZ2", "导尿管", None])
    body = io.BytesIO()
    book.save(body)
    response = buyers[0].post(
        "/master/conflicts/",
        {"source": "his_order", "file": SimpleUploadedFile("医嘱.xlsx", body.getvalue())},
    )
    assert response.status_code == 302
    page = buyers[0].get("/master/conflicts/kinds/ORDER_WITHOUT_CHARGE/").content.decode()
    assert 'data-key="YZ2"' in page


def test_a_file_of_another_type_is_refused(buyers):
    response = buyers[0].post(
        "/master/conflicts/",
        {"source": "hrp", "file": SimpleUploadedFile("x.pdf", b"%PDF")},
        follow=True,
    )
    assert "UNREADABLE_FILE" in response.content.decode()
    assert not StagingRow.objects.exists()


def test_workspace_shows_counts_and_the_series(buyers):
    upload(buyers[0])
    html = buyers[0].get("/master/conflicts/").content.decode()
    assert 'data-kind="MATERIAL_MULTI_CHARGE"' in html
    assert "<b data-blocking>1</b>" in html  # WZ1's two charge codes
    assert "<b data-total>3</b>" in html  # and two materials without an order code
    assert 'class="bar"' in html


def test_fix_on_the_page_then_promote(buyers):
    upload(buyers[0])
    wrong = StagingRow.objects.get(charge_code="JF9")
    response = buyers[0].post(
        f"/master/conflicts/rows/{wrong.pk}/",
        {"action": "exclude", "note": "HRP 旧对照", "next": "/master/conflicts/"},
    )
    assert response["Location"] == "/master/conflicts/"
    buyers[0].post("/master/conflicts/promote/")  # nothing asked for: nothing promoted
    assert not Consumable.objects.exists()
    buyers[0].post("/master/conflicts/promote/", {"scope": "all"})
    assert sorted(Consumable.objects.values_list("material_code", flat=True)) == ["WZ1", "WZ2"]
    assert Consumable.objects.get(material_code="WZ1").charge_code == "JF1"


def test_a_fix_through_the_page_refuses_an_offsite_redirect(buyers):
    upload(buyers[0])
    row = StagingRow.objects.get(charge_code="JF9")
    response = buyers[0].post(
        f"/master/conflicts/rows/{row.pk}/",
        {"action": "fix", "charge_code": "JF1", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/master/conflicts/"
    row.refresh_from_db()
    assert row.charge_code == "JF1"


def test_conflict_page_costs_the_same_queries_for_few_or_many_conflicts(buyers):
    def cost(n):
        body = "material_code,name,charge_code\n" + "".join(
            f"M{i},n,C{i}\nM{i},n,D{i}\n" for i in range(n)
        )
        upload(buyers[0], body, name=f"f{n}.csv")
        with CaptureQueriesContext(connection) as queries:
            page = buyers[0].get("/master/conflicts/kinds/MATERIAL_MULTI_CHARGE/")
        assert page.content.decode().count("data-key=") == min(n, 50)
        return len(queries)

    assert cost(3) == cost(60)


def test_every_list_exports(buyers):
    upload(buyers[0])
    client = buyers[0]
    for url in [
        "/master/conflicts/?export=csv",
        "/master/conflicts/?list=imports&export=csv",
        "/master/conflicts/kinds/MATERIAL_MULTI_CHARGE/?export=csv",
        "/master/conflicts/rows/?export=csv",
        f"/master/conflicts/imports/{StagingRow.objects.first().batch_id}/?export=csv",
        "/master/mappings/?export=csv",
        "/master/submissions/?export=csv",
        "/master/supplier-products/?export=csv",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/csv"), url
    kind = client.get("/master/conflicts/kinds/MATERIAL_MULTI_CHARGE/?export=csv")
    text = kind.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 3  # the header, then WZ1's two rows with their file and line
    assert all(",WZ1,2,HRP物资.csv," in line for line in lines[1:])
    xlsx = client.get("/master/conflicts/kinds/MATERIAL_MULTI_CHARGE/?export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3


def test_suppliers_and_nurses_cannot_open_procurement_pages(buyers):
    for role in (roles.SUPPLIER, roles.NURSE, roles.PRICING_OFFICE):
        client = person(f"x-{role}", role)
        for url in ("/master/conflicts/", "/master/mappings/", "/master/supplier-products/"):
            assert client.get(url).status_code == 403, (role, url)
    assert Client().get("/master/conflicts/").status_code == 302  # to the login page


# -- mapping changes through the pages -----------------------------------------------------------


def test_mapping_change_proposed_on_the_page_and_approved_by_a_second_person(buyers):
    first, second = buyers
    item = ConsumableFactory(material_code="WZ5", charge_code="JF5", insurance_code=None)
    response = first.post(
        "/master/mappings/new/?material_code=WZ5",
        {"charge_code": "JF5-2024", "order_code": item.order_code, "insurance_code": "",
         "reason": "HIS 收费目录更新"},
    )  # fmt: skip
    change = MappingChange.objects.get()
    assert response["Location"] == f"/master/mappings/{change.pk}/"
    assert change.changes == {"charge_code": {"from": "JF5", "to": "JF5-2024"}}
    own_view = first.get(f"/master/mappings/{change.pk}/").content.decode()
    assert "须由申请人以外的第二人审核" in own_view
    first.post(f"/master/mappings/{change.pk}/", {"action": "approve"})
    item.refresh_from_db()
    assert item.charge_code == "JF5"
    second.post(f"/master/mappings/{change.pk}/", {"action": "approve"})
    item.refresh_from_db()
    assert item.charge_code == "JF5-2024"
    page = second.get(f"/master/mappings/{change.pk}/").content.decode()
    assert "cg01" in page and "cg02" in page  # history shows both


def test_mapping_change_naming_a_code_held_elsewhere_is_refused_on_the_page(buyers):
    ConsumableFactory(material_code="WZ6", name="敷贴", charge_code="JF6")
    item = ConsumableFactory(material_code="WZ7", charge_code="JF7")
    response = buyers[0].post(
        "/master/mappings/new/?material_code=WZ7",
        {"charge_code": "JF6", "order_code": item.order_code,
         "insurance_code": item.insurance_code, "reason": "x"},
        follow=True,
    )  # fmt: skip
    html = response.content.decode()
    assert "CHARGE_CODE_CONFLICT" in html and "WZ6 敷贴" in html
    assert not MappingChange.objects.exists()


def test_a_mapping_change_added_in_the_admin_is_only_a_proposal(admin_client):
    item = ConsumableFactory(material_code="WZ8", charge_code="JF8")
    response = admin_client.post(
        "/admin/consumables/mappingchange/add/",
        {"consumable": item.pk, "charge_code": "JF8-NEW", "reason": "后台提出"},
    )
    assert response.status_code == 302
    change = MappingChange.objects.get()
    assert (change.status, change.changes["charge_code"]["to"]) == ("proposed", "JF8-NEW")
    item.refresh_from_db()
    assert item.charge_code == "JF8"


def test_the_rows_list_pages_keep_their_filters(buyers):
    body = "material_code,name,charge_code\n" + "".join(f"M{i},n,C{i}\n" for i in range(150))
    upload(buyers[0], body, name="big.csv")
    html = buyers[0].get("/master/conflicts/rows/", {"source": "hrp"}).content.decode()
    assert html.count("big.csv:") == 100
    assert "?status=pending&amp;source=hrp&amp;q=&amp;page=2" in html
    second = buyers[0].get("/master/conflicts/rows/", {"source": "hrp", "page": 2})
    assert second.content.decode().count("big.csv:") == 50


def test_pages_show_an_import_made_without_a_user(buyers, tmp_path):
    from .test_conflict_report import clean_row, hrp

    batch = hrp(tmp_path, [clean_row(1)])  # as a script or the admin's command would
    assert buyers[0].get("/master/conflicts/").status_code == 200
    assert buyers[0].get(f"/master/conflicts/imports/{batch.pk}/").status_code == 200


def test_the_workspace_lists_the_latest_snapshots_with_the_count_going_down(buyers):
    upload(buyers[0])
    fixed = HRP.replace("WZ1,留置针,JF9", "WZ1,留置针,JF1")
    upload(buyers[0], fixed, name="HRP物资-修正.csv")
    html = buyers[0].get("/master/conflicts/").content.decode()
    recent = html[html.index("data-recent"):html.index("</table>", html.index("data-recent"))]
    rows = re.findall(r"<tr><td>.*?</tr>", recent, re.S)
    assert "HRP物资-修正.csv" in rows[0] and "HRP物资.csv" in rows[1]  # newest first
    blocking = [re.findall(r'<td class="num">(\d+)</td>', row)[1] for row in rows]
    assert blocking == ["0", "1"]
