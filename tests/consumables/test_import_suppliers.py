"""import_master --suppliers: the HRP supplier list (code, name, credit_code, license_no)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from consumables.importing import import_master, import_supplier_rows
from consumables.models import Consumable
from organisation.credit_code import credit_code_check_char
from organisation.models import Supplier
from tests.consumables.test_import_master import TODAY, item, write_csv, write_xlsx

pytestmark = pytest.mark.django_db

# Real unified social credit codes as printed on business licences (GB 32100-2015 example
# and two listed companies), whose check characters are right.
GOOD_CODES = ["91350100M000100Y43", "91440300708461136T", "91110000802100433B"]
HEADER = ["code", "name", "credit_code", "license_no"]


def supplier(n: int, **overrides) -> dict:
    row = {
        "code": f"GYS{n:03d}",
        "name": f"华东医疗器械供应链有限公司 {n}",
        "credit_code": GOOD_CODES[n % len(GOOD_CODES)],
        "license_no": f"苏苏食药监械经营许2019{n:04d}号",
    }
    row.update(overrides)
    return row


def load(rows):
    return import_supplier_rows(list(enumerate(rows, start=2)))


def test_credit_code_check_character_matches_the_standard_example():
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert credit_code_check_char("91440300708461136") == "T"


def test_csv_loads_good_rows_and_refuses_the_bad_one_by_line_with_exit_status_2(
    tmp_path, capsys
):
    path = write_csv(tmp_path / "suppliers.csv", [
        supplier(1),
        supplier(2, credit_code="91350100M000100Y44"),  # wrong check character
        supplier(3, credit_code=""),  # blank allowed
    ])  # fmt: skip

    with pytest.raises(CommandError) as raised:
        call_command("import_master", suppliers=str(path))

    assert raised.value.returncode == 2
    out = capsys.readouterr().out
    assert "第 3 行 / line 3: CREDIT_CODE_INVALID" in out
    assert "expected 3" in out
    assert "suppliers created: 2" in out
    assert sorted(Supplier.objects.values_list("code", flat=True)) == ["GYS001", "GYS003"]
    loaded = Supplier.objects.get(code="GYS001")
    assert loaded.credit_code == GOOD_CODES[1]
    assert loaded.license_no == "苏苏食药监械经营许20190001号"
    assert Supplier.objects.get(code="GYS003").credit_code == ""


def test_xlsx_with_one_bad_row_loads_the_others_and_names_the_line(tmp_path, capsys):
    path = write_xlsx(tmp_path / "suppliers.xlsx", HEADER, [
        ["GYS001", "国药控股江苏有限公司", "91440300708461136T", "苏械经营许20150123号"],
        ["GYS002", "上海某医疗器械有限公司", "9144030070846113IT", ""],  # I is not allowed
        ["GYS003", "", "", ""],  # a new supplier needs a name
        ["GYS004", "南京某科技有限公司", "91110000802100433B", ""],
    ])  # fmt: skip

    with pytest.raises(CommandError) as raised:
        call_command("import_master", suppliers=str(path))

    assert raised.value.returncode == 2
    out = capsys.readouterr().out
    assert "第 3 行 / line 3: CREDIT_CODE_INVALID" in out
    assert "第 4 行 / line 4: VALIDATION_ERROR" in out
    assert sorted(Supplier.objects.values_list("code", flat=True)) == ["GYS001", "GYS004"]


def test_reimport_updates_and_an_empty_cell_keeps_the_stored_value(tmp_path):
    Supplier.objects.create(
        code="GYS001", name="旧名", credit_code=GOOD_CODES[0], license_no="旧证"
    )
    first = load([supplier(1, name="新名", credit_code="", license_no="新证")])
    assert (first.suppliers_created, first.suppliers_updated) == (0, 1)
    stored = Supplier.objects.get(code="GYS001")
    assert (stored.name, stored.credit_code, stored.license_no) == ("新名", GOOD_CODES[0], "新证")
    assert stored.history.first().history_change_reason == "import_master"

    again = load([supplier(1, name="新名", credit_code="", license_no="新证")])
    assert (again.suppliers_updated, again.suppliers_unchanged) == (0, 1)


def test_bad_codes_and_contradicting_rows_are_refused_by_line():
    report = load([
        supplier(1),
        supplier(2, code=""),
        supplier(3, code="GYS 3"),
        supplier(4, credit_code="91350100M000100Y4"),  # 17 characters
        supplier(1, name="另一个名称"),  # contradicts line 2
        supplier(5, credit_code="91350100m000100y43"),  # lower case is accepted, stored upper
    ])  # fmt: skip
    assert [(e.line, e.code) for e in report.errors] == [
        (3, "VALIDATION_ERROR"),
        (4, "VALIDATION_ERROR"),
        (5, "CREDIT_CODE_INVALID"),
        (6, "VALIDATION_ERROR"),
    ]
    assert "line 2" in report.errors[-1].message
    assert Supplier.objects.get(code="GYS005").credit_code == "91350100M000100Y43"
    assert report.suppliers_created == 2


def test_missing_code_column_refuses_the_file(tmp_path):
    path = write_csv(tmp_path / "s.csv", [{"name": "x"}])
    with pytest.raises(CommandError, match="code"):
        call_command("import_master", suppliers=str(path))


def test_suppliers_load_with_consumables_and_departments_in_one_run(tmp_path, capsys):
    suppliers = write_csv(tmp_path / "suppliers.csv", [supplier(1), supplier(2, name="")])
    departments = write_csv(
        tmp_path / "departments.csv", [{"code": "S01", "name": "中心库房", "kind": "store"}]
    )
    consumables = write_csv(tmp_path / "consumables.csv", [item(1)])

    report = import_master(
        consumables_path=consumables,
        departments_path=departments,
        suppliers_path=suppliers,
        today=TODAY,
    )

    assert (report.created, report.departments_created, report.suppliers_created) == (1, 1, 1)
    assert [(e.file, e.line) for e in report.errors] == [("suppliers.csv", 3)]
    assert Consumable.objects.filter(material_code="WZ00001").exists()


def test_command_without_any_file_is_a_clear_error():
    with pytest.raises(CommandError, match="--suppliers"):
        call_command("import_master")
