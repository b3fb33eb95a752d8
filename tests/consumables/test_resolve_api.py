"""POST /api/v1/codes/resolve as docs/contract.md describes it."""

import pytest

from consumables.models import DeviceIdentifier, HospitalLabel
from consumables.udi import gtin_check_digit, make_hospital_label
from tests.factories import ConsumableFactory, DeviceIdentifierFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/codes/resolve"
GTIN = "06901234567892"
GS = "\x1d"
FIELDS = {
    "di": GTIN,
    "lot": "A213B1",
    "serial": "1234",
    "expiry": "2015-07-07",
    "production_date": "2014-12-31",
}

GS1_FORMS = {
    "hri": "(01)06901234567892(11)141231(17)150707(10)A213B1(21)1234",
    "raw_gs": f"0106901234567892111412311715070710A213B1{GS}211234",
    "leading_gs": f"{GS}0106901234567892111412311715070710A213B1{GS}211234{GS}",
    "datamatrix_prefix": f"]d20106901234567892111412311715070710A213B1{GS}211234",
    "code128_prefix": f"]C10106901234567892111412311715070710A213B1{GS}211234",
    "qr_prefix": f"]Q30106901234567892111412311715070710A213B1{GS}211234",
    "angle_gs": "0106901234567892111412311715070710A213B1<GS>211234",
    "curly_gs": "0106901234567892111412311715070710A213B1{GS}211234",
    "caret_gs": "0106901234567892111412311715070710A213B1^]211234",
    "escaped_gs": "0106901234567892111412311715070710A213B1\\x1d211234",
    "scanner_enter": f"]d20106901234567892111412311715070710A213B1{GS}211234\r\n",
}


@pytest.fixture
def stent():
    item = ConsumableFactory(name="冠状动脉药物洗脱支架", spec="3.0×18mm")
    DeviceIdentifierFactory(consumable=item, udi_di=GTIN, units_per_package=1)
    return item


def resolve(client, code):
    return client.post(URL, {"code": code}, format="json")


def consumable_body(item, di):
    return {
        "material_code": item.material_code,
        "charge_code": item.charge_code,
        "order_code": item.order_code,
        "insurance_code": item.insurance_code,
        "udi_di": di,
        "name": item.name,
        "spec": item.spec,
    }


@pytest.mark.parametrize("form", sorted(GS1_FORMS))
def test_gs1_string_in_every_arrival_form_resolves_to_the_item(auth_client, stent, form):
    response = resolve(auth_client, GS1_FORMS[form])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["issuer"] == "gs1"
    assert {k: body[k] for k in FIELDS} == FIELDS
    assert body["units_per_package"] == 1
    assert body["consumable"] == consumable_body(stent, GTIN)


def test_digital_link_resolves_to_the_item(auth_client, stent):
    body = resolve(auth_client, f"https://id.example.cn/01/{GTIN}/10/A213B1?17=150707").json()
    assert (body["di"], body["lot"], body["expiry"]) == (GTIN, "A213B1", "2015-07-07")
    assert body["consumable"]["material_code"] == stent.material_code


def test_box_di_gives_its_units_per_package(auth_client, stent):
    box = "1690123456789" + gtin_check_digit("1690123456789")
    DeviceIdentifierFactory(consumable=stent, udi_di=box, units_per_package=50)
    body = resolve(auth_client, f"(01){box}(10)L1").json()
    assert body["units_per_package"] == 50
    assert body["consumable"]["udi_di"] == box


def test_ma_code_resolves_with_its_production_identifiers(auth_client):
    item = ConsumableFactory()
    DeviceIdentifierFactory(
        consumable=item, udi_di="MA.156.M0.100761.21234561", issuer=DeviceIdentifier.Issuer.MA
    )
    code = "MA.156.M0.100761.21234561.Sx00008.M220117.L20220117.D20220118.E220130.V220117.C3"
    body = resolve(auth_client, code).json()
    assert body["issuer"] == "ma"
    assert (body["di"], body["lot"], body["serial"]) == (
        "MA.156.M0.100761.21234561",
        "20220117",
        "x00008",
    )
    assert (body["expiry"], body["production_date"]) == ("2022-01-30", "2022-01-17")
    assert body["consumable"]["material_code"] == item.material_code


def test_hibc_code_resolves(auth_client):
    item = ConsumableFactory()
    DeviceIdentifierFactory(
        consumable=item, udi_di="X999123ABC0", issuer=DeviceIdentifier.Issuer.HIBC
    )
    body = resolve(auth_client, "+X999123ABC0/$$31905151234AB/S5678EDFG/16D20151001J").json()
    assert body["issuer"] == "hibc"
    assert (body["lot"], body["serial"], body["expiry"]) == ("1234AB", "5678EDFG", "2019-05-15")
    assert body["consumable"]["material_code"] == item.material_code


def test_hibc_with_wrong_check_character_is_unreadable(auth_client):
    response = resolve(auth_client, "+H124009993020351/")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UNREADABLE_CODE"


def test_in_hospital_label_resolves_to_its_unit(auth_client, stent):
    label = make_hospital_label(42)
    HospitalLabel.objects.create(label=label, consumable=stent, lot="L7", udi_di=GTIN)
    body = resolve(auth_client, label).json()
    assert body["issuer"] == "hospital"
    assert body["lot"] == "L7"
    assert body["consumable"]["material_code"] == stent.material_code


@pytest.mark.parametrize("field", ["material_code", "charge_code", "order_code", "insurance_code"])
def test_typed_hospital_code_resolves(auth_client, stent, field):
    body = resolve(auth_client, f"  {getattr(stent, field)} ").json()
    assert body["issuer"] == "internal"
    assert body["consumable"] == consumable_body(stent, GTIN)


def test_code_naming_two_consumables_is_ambiguous(auth_client):
    first = ConsumableFactory(material_code="X100")
    ConsumableFactory(charge_code="X100")
    response = resolve(auth_client, "X100")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "AMBIGUOUS_CODE"
    assert first.material_code in error["detail"]["material_codes"]


def test_unknown_but_readable_di_answers_null_consumable(auth_client):
    body = resolve(auth_client, "(01)09504000059118(17)141120(10)7654321D").json()
    assert body["issuer"] == "gs1"
    assert body["consumable"] is None


@pytest.mark.parametrize(
    "garbage",
    [
        "(01)99863313444316(17)220101",
        "(01)12345",
        "\x00\x01\x02",
        "   ",
        "条码无法识别" * 3,
        "(01)06901234567892(17)151307",
    ],
)
def test_garbage_answers_unreadable_code(auth_client, garbage):
    response = resolve(auth_client, garbage)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] in {"UNREADABLE_CODE", "VALIDATION_ERROR"}


def test_gtin_with_wrong_check_digit_is_unreadable_with_reason(auth_client):
    response = resolve(auth_client, "(01)99863313444316(17)220101(10)M320")
    error = response.json()["error"]
    assert error["code"] == "UNREADABLE_CODE"
    assert error["detail"]["reason"] == "GTIN_CHECK_DIGIT"
    assert error["message"]


def test_missing_code_is_a_validation_error(auth_client):
    response = auth_client.post(URL, {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_resolve_requires_authentication(api_client, stent):
    response = resolve(api_client, GTIN)
    assert response.status_code in {401, 403}
    assert response.json()["error"]["code"] in {"NOT_AUTHENTICATED", "PERMISSION_DENIED"}


def test_resolve_issues_a_bounded_number_of_queries(
    auth_client, stent, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        resolve(auth_client, GS1_FORMS["raw_gs"])


def test_ahm_code_resolves_with_an_unverified_structure_warning(auth_client):
    item = ConsumableFactory()
    DeviceIdentifierFactory(
        consumable=item, udi_di="MF6901234567892", issuer=DeviceIdentifier.Issuer.AHM
    )
    body = resolve(auth_client, "MF6901234567892BA2301*SN77*MD230101ED260101").json()
    assert body["issuer"] == "ahm"
    assert (body["lot"], body["serial"], body["expiry"]) == ("2301", "77", "2026-01-01")
    assert "AHM_STRUCTURE_UNVERIFIED" in body["warnings"]
    assert body["consumable"]["material_code"] == item.material_code


def test_dropped_separator_is_reported_as_a_warning(auth_client, stent):
    body = resolve(auth_client, "0106901234567892111412311715070710A213B1211234").json()
    assert body["lot"] == "A213B1211234"
    assert "POSSIBLE_MISSING_SEPARATOR" in body["warnings"]
