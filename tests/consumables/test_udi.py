"""Tests of consumables.udi: public vectors, every GS1 arrival form, labels, robustness."""

import calendar
import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumables import udi
from consumables.udi import (
    CodeParseError,
    ParsedCode,
    gtin_check_digit,
    hibc_check_char,
    is_hospital_label,
    make_hospital_label,
    parse_code,
)

GS = "\x1d"
VECTORS = json.loads((Path(__file__).parent / "udi_vectors.json").read_text(encoding="utf-8"))
ISSUERS = {"GS1": "gs1", "HIBCC": "hibc", "MA": "ma", "AHM": "ahm",
           "HOSPITAL": "hospital", "INTERNAL": "internal"}  # fmt: skip
ATTRIBUTES = ("di", "lot", "serial", "expiry", "production_date", "text")


def vector_id(vector: dict) -> str:
    return f"{vector['issuer']}:{vector['raw'][:40]!r}"


def behaviour(vector: dict) -> dict:
    """What we decided for this vector (``our_behaviour``), defaulting to the source's verdict."""
    default = {"result": "parsed" if vector["expected_valid"] else "refused"}
    return vector.get("our_behaviour", default)


PARSED = [v for v in VECTORS if behaviour(v)["result"] == "parsed"]
REFUSED = [v for v in VECTORS if behaviour(v)["result"] == "refused"]


def assert_date(actual: dt.date | None, expected: str | None, parsed: ParsedCode) -> None:
    if expected is None:
        assert actual is None
    elif re.fullmatch(r"\d{4}-\d{2}", expected):  # month precision: the month's last day
        year, month = map(int, expected.split("-"))
        assert actual == dt.date(year, month, calendar.monthrange(year, month)[1])
        assert parsed.extra["expiry_precision"] == "month"
    elif "T" in expected:  # with an hour: the date, hour in extra
        day, hour = expected.split("T")
        assert actual is not None and actual.isoformat() == day
        assert parsed.extra["expiry_hour"] == int(hour)
    else:
        assert actual is not None and actual.isoformat() == expected


def assert_fields(parsed: ParsedCode, expected: dict, *, symbology: bool = True) -> None:
    for key, want in expected.items():
        if key == "symbology_identifier":
            if symbology:
                assert parsed.symbology == want
        elif key == "best_before":
            assert parsed.extra["ai_15"] == want
        elif key in ("expiry", "production_date"):
            assert_date(getattr(parsed, key), want, parsed)
        elif key in ATTRIBUTES:
            assert getattr(parsed, key) == want, key
        else:
            assert parsed.extra[key] == want, key


# ------------------------------------------------------------------------ vector file


@pytest.mark.parametrize("vector", PARSED, ids=vector_id)
def test_vector_is_read_with_the_expected_fields(vector):
    parsed = parse_code(vector["raw"])
    assert parsed.issuer == ISSUERS[vector["issuer"]]
    assert parsed.raw == vector["raw"]
    assert_fields(parsed, vector["expected"])


@pytest.mark.parametrize("vector", PARSED, ids=vector_id)
def test_vector_carries_the_decided_warnings(vector):
    parsed = parse_code(vector["raw"])
    assert set(behaviour(vector).get("warnings", [])) <= set(parsed.warnings)


@pytest.mark.parametrize("vector", REFUSED, ids=vector_id)
def test_vector_is_refused_with_the_decided_reason(vector):
    with pytest.raises(CodeParseError) as caught:
        parse_code(vector["raw"])
    assert caught.value.code == "UNREADABLE_CODE"
    assert caught.value.reason == behaviour(vector)["reason"]


ALTERNATIVES = [v for v in PARSED if "alternative_expected" in v or "alternative" in behaviour(v)]


@pytest.mark.parametrize("vector", ALTERNATIVES, ids=vector_id)
def test_dropped_separator_is_flagged_with_the_alternative_reading(vector):
    parsed = parse_code(vector["raw"])
    assert "POSSIBLE_MISSING_SEPARATOR" in parsed.warnings
    wanted = {**vector.get("alternative_expected", {}), **behaviour(vector).get("alternative", {})}
    for key, value in wanted.items():
        assert parsed.extra["alternative"][key] == value, key


def test_vector_file_keeps_every_public_vector():
    shared = Path("/work/shared/udi/public-vectors.json")
    if not shared.exists():
        pytest.skip("shared research folder not present")
    public = json.loads(shared.read_text(encoding="utf-8"))
    ours = {v["raw"] for v in VECTORS}
    assert {v["raw"] for v in public} <= ours


def test_every_derived_vector_says_how_it_was_made():
    derived = [v for v in VECTORS if v.get("derived")]
    assert derived and all(v.get("source") for v in derived)


# ----------------------------------------------------------------- GS1 arrival forms

FIXED_LENGTH = {"01", "11", "15", "17"}
SUBSTITUTES = {
    "lt_gs_gt": "<GS>",
    "lt_gs_gt_lower": "<gs>",
    "brace_gs": "{GS}",
    "caret_bracket": "^]",
    "escaped_x1d": "\\x1d",
    "escaped_u001d": "\\u001D",
    "tilde_1": "~1",
    "left_right_arrow": "\u2194",
    "symbol_for_gs": "\u241d",
}
GS1_SYMBOLOGIES = ("]C1", "]d2", "]Q3", "]e0", "]J1")


def yymmdd(iso: str) -> str:
    return iso[2:4] + iso[5:7] + iso[8:10]


def gs1_elements(expected: dict) -> list[tuple[str, str]]:
    """(AI, value) pairs from a vector's expected fields: fixed-length ones first."""
    elements = [("01", expected["di"])]
    for key, ai in (("production_date", "11"), ("expiry", "17"), ("best_before", "15")):
        if expected.get(key):
            elements.append((ai, yymmdd(expected[key])))
    for key, ai in (("lot", "10"), ("serial", "21")):
        if expected.get(key):
            elements.append((ai, expected[key]))
    elements += [(key[3:], value) for key, value in expected.items() if key.startswith("ai_")]
    return elements


def encode_raw(elements: list[tuple[str, str]], separator: str = GS) -> str:
    out = ""
    for index, (ai, value) in enumerate(elements):
        out += ai + value
        if index < len(elements) - 1 and ai not in FIXED_LENGTH:
            out += separator
    return out


def encode_hri(elements, opening="(", closing=")", blank="") -> str:
    return blank.join(f"{opening}{ai}{closing}{value}" for ai, value in elements)


def encode_digital_link(elements, host="https://example.com/shop") -> str:
    values = dict(elements)
    path = f"/01/{values.pop('01')}"
    for ai in ("10", "21"):
        if ai in values:
            path += f"/{ai}/{quote(values.pop(ai), safe='')}"
    query = "&".join(f"{ai}={quote(value, safe='')}" for ai, value in values.items())
    return host + path + (f"?{query}" if query else "")


def arrival_forms(expected: dict) -> dict[str, str]:
    """Every way the same GS1 data reaches us: scanners, decoders, typing, URLs."""
    elements = gs1_elements(expected)
    raw = encode_raw(elements)
    forms = {
        "raw_gs": raw,
        "leading_gs": GS + raw,
        "trailing_gs": raw + GS,
        "leading_and_trailing_gs": GS + raw + GS,
        "enter_suffix": raw + "\r\n",
        "tab_suffix": raw + "\t",
        "blanks_around": f"  {raw}  ",
        "leading_substitute": "<GS>" + raw,
        "hri_parentheses": encode_hri(elements),
        "hri_braces": encode_hri(elements, "{", "}"),
        "hri_blanks": encode_hri(elements, blank=" "),
        "hri_symbology": "]C1" + encode_hri(elements),
        "digital_link": encode_digital_link(elements),
        "digital_link_gs1_qr": "]Q3" + encode_digital_link(elements, "https://id.gs1.org"),
        "digital_link_plain_qr": "]Q1" + encode_digital_link(elements, "http://x.cn"),
    }
    forms.update({f"substitute_{n}": encode_raw(elements, s) for n, s in SUBSTITUTES.items()})
    forms.update({f"symbology_{p}": p + raw for p in GS1_SYMBOLOGIES})
    forms.update({f"symbology_{p}_leading_gs": p + GS + raw for p in GS1_SYMBOLOGIES})
    return forms


GS1_VALID = [
    v for v in VECTORS
    if v["issuer"] == "GS1" and behaviour(v)["result"] == "parsed" and not v.get("derived")
]  # fmt: skip
GS1_INVALID = [
    v for v in VECTORS
    if v["issuer"] == "GS1" and behaviour(v).get("reason") == "GTIN_CHECK_DIGIT"
    and not v.get("derived")
]  # fmt: skip
FORM_NAMES = sorted(arrival_forms({"di": "00000000000000"}))


def comparable(expected: dict) -> dict:
    return {k: v for k, v in expected.items() if k != "symbology_identifier"}


@pytest.mark.parametrize("form", FORM_NAMES)
@pytest.mark.parametrize("vector", GS1_VALID, ids=vector_id)
def test_gs1_vector_reads_the_same_in_every_arrival_form(vector, form):
    text = arrival_forms(vector["expected"])[form]
    parsed = parse_code(text)
    assert parsed.issuer == "gs1"
    assert_fields(parsed, comparable(vector["expected"]))
    assert parsed.raw == text


@pytest.mark.parametrize("form", FORM_NAMES)
@pytest.mark.parametrize("vector", GS1_INVALID, ids=vector_id)
def test_gs1_vector_with_wrong_check_digit_is_refused_in_every_arrival_form(vector, form):
    with pytest.raises(CodeParseError) as caught:
        parse_code(arrival_forms(vector["expected"])[form])
    assert caught.value.reason == "GTIN_CHECK_DIGIT"


@pytest.mark.parametrize("prefix", GS1_SYMBOLOGIES)
def test_symbology_prefix_is_reported(prefix):
    assert parse_code(prefix + "0106901234567892").symbology == prefix


@pytest.mark.parametrize("name", sorted(SUBSTITUTES))
def test_gs_substitute_is_normalised_with_a_warning(name):
    parsed = parse_code(f"010690123456789210ABC{SUBSTITUTES[name]}21XYZ")
    assert (parsed.lot, parsed.serial) == ("ABC", "XYZ")
    assert "GS_SUBSTITUTE_NORMALISED" in parsed.warnings


def test_real_group_separator_gives_no_substitute_warning():
    parsed = parse_code(f"010690123456789210ABC{GS}21XYZ")
    assert "GS_SUBSTITUTE_NORMALISED" not in parsed.warnings


# ----------------------------------------------------------------------- GS1 details


@pytest.mark.parametrize(
    ("text", "di"),
    [("6901234567892", "06901234567892"), ("614141123452", "00614141123452"),
     ("96385074", "00000096385074"), ("10857674002017", "10857674002017"),
     ("6 901234 567892", "06901234567892"), ("]E06901234567892", "06901234567892")],
)  # fmt: skip
def test_bare_gtin_is_read_as_a_gtin(text, di):
    parsed = parse_code(text)
    assert (parsed.issuer, parsed.di, parsed.lot, parsed.extra) == ("gs1", di, None, {})


def test_ean13_is_not_read_as_a_spurious_ai_401():
    parsed = parse_code("4012345678901")  # biip.parse also offers (401)2345678901
    assert (parsed.issuer, parsed.di, parsed.extra) == ("gs1", "04012345678901", {})


def test_digits_only_element_string_in_another_order_is_read():
    parsed = parse_code("172501010106901234567892")
    assert (parsed.issuer, parsed.di, parsed.expiry) == (
        "gs1",
        "06901234567892",
        dt.date(2025, 1, 1),
    )


def test_bare_14_digits_with_wrong_check_digit_is_an_internal_code():
    parsed = parse_code("06901234567891")
    assert (parsed.issuer, parsed.text, parsed.di) == ("internal", "06901234567891", None)
    assert "NOT_A_VALID_GTIN" in parsed.warnings


def test_element_string_with_wrong_gtin_check_digit_is_refused():
    with pytest.raises(CodeParseError) as caught:
        parse_code("01069012345678911725013110ABC")
    assert caught.value.reason == "GTIN_CHECK_DIGIT"
    assert caught.value.detail == {"gtin": "06901234567891", "expected": "2", "found": "1"}


def test_ean_symbology_with_wrong_check_digit_is_refused():
    with pytest.raises(CodeParseError) as caught:
        parse_code("]E06901234567891")
    assert caught.value.reason == "GTIN_CHECK_DIGIT"


@pytest.mark.parametrize(
    "text",
    ["010690123456789217251301", "(01)06901234567892(17)251301",
     "0106901234567892172502301", "https://id.gs1.org/01/06901234567892?17=251301",
     "(01)06901234567892(11)250230"],
)  # fmt: skip
def test_invalid_date_is_refused(text):
    with pytest.raises(CodeParseError) as caught:
        parse_code(text)
    assert caught.value.reason == "BAD_DATE"


def test_day_00_means_the_last_day_of_the_month():
    assert parse_code("010690123456789217240200").expiry == dt.date(2024, 2, 29)


def test_best_before_is_not_an_expiry():
    parsed = parse_code("(01)06901234567892(15)250330")
    assert parsed.expiry is None
    assert parsed.extra["ai_15"] == "2025-03-30"
    assert "BEST_BEFORE_NOT_EXPIRY" in parsed.warnings


def test_values_keep_their_case():
    assert parse_code("(01)09504000059118(21)10987654d321").serial == "10987654d321"


def test_other_ais_are_kept_in_extra():
    parsed = parse_code(f"0106901234567892240REF-1{GS}70032512312359")
    assert parsed.extra == {"ai_240": "REF-1", "ai_7003": "2025-12-31T23:59:00"}


def test_empty_ai_value_is_refused():
    with pytest.raises(CodeParseError) as caught:
        parse_code("(01)06901234567892(30)")
    assert caught.value.reason == "BAD_GS1_DATA"


def test_ai_01_may_come_after_fixed_length_fields():
    parsed = parse_code("17250101010690123456789210ABC")
    assert (parsed.di, parsed.expiry, parsed.lot) == ("06901234567892", dt.date(2025, 1, 1), "ABC")


@pytest.mark.parametrize("text", ["(17)251231(10)ABC", f"{GS}17251231{GS}10ABC"])
def test_gs1_data_without_gtin_is_refused(text):
    with pytest.raises(CodeParseError) as caught:
        parse_code(text)
    assert caught.value.reason == "MISSING_DI"


def test_repeated_ai_with_different_values_is_refused():
    with pytest.raises(CodeParseError) as caught:
        parse_code(f"0106901234567892\x1d10AB{GS}10CD")
    assert caught.value.reason == "DUPLICATE_AI"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("(01)junk", "BAD_GS1_DATA"), ("(01)06901234567892junk(17)", "BAD_GS1_DATA"),
     ("(01)06901234567892(24)X", "UNKNOWN_AI"), ("x(01)06901234567892", "BAD_CHARACTERS"),
     ("(01)06901234567892 garbage", "BAD_GS1_DATA"), ("0106901234567892 10ABC", "UNKNOWN_AI"),
     ("https://example.com/products/42", "BAD_DIGITAL_LINK"),
     ("https://example.com/01/abc", "BAD_DIGITAL_LINK"), ("http://[oops", "BAD_DIGITAL_LINK"),
     ("]d2https://example.com/01/06901234567892/99/1", "BAD_DIGITAL_LINK"),
     ("]C1hello", "UNKNOWN_AI")],
)  # fmt: skip
def test_malformed_gs1_is_refused_with_a_specific_reason(text, reason):
    with pytest.raises(CodeParseError) as caught:
        parse_code(text)
    assert caught.value.reason == reason


# ------------------------------------------------------------------ dropped separators


def test_lot_swallowing_an_expiry_keeps_the_strict_reading():
    parsed = parse_code("010690123456789210ABC12317251231")
    assert (parsed.lot, parsed.expiry) == ("ABC12317251231", None)


def test_lot_swallowing_an_expiry_offers_the_split_reading():
    alternative = parse_code("010690123456789210ABC12317251231").extra["alternative"]
    assert (alternative["lot"], alternative["expiry"]) == ("ABC123", "2025-12-31")


def test_two_dropped_separators_are_both_recovered_in_the_alternative():
    alternative = parse_code("010690123456789210ABC1725123121XYZ").extra["alternative"]
    assert (alternative["lot"], alternative["serial"], alternative["expiry"]) == (
        "ABC", "XYZ", "2025-12-31"
    )  # fmt: skip


def test_tail_that_is_not_a_valid_date_is_not_flagged():
    assert parse_code("010690123456789210ABC17251399").warnings == ()


def test_field_closed_by_an_explicit_separator_is_not_flagged():
    parsed = parse_code(f"0106901234567892\x1d10A213B1211234{GS}")
    assert "POSSIBLE_MISSING_SEPARATOR" not in parsed.warnings


def test_hri_fields_are_never_flagged():
    assert parse_code("(01)06901234567892(10)ABC12317251231").warnings == ()


def test_ai_already_present_is_not_offered_again():
    assert parse_code("01069012345678921725010110ABC17251231").warnings == ()


def test_field_cut_at_its_maximum_length_is_reported():
    parsed = parse_code("010690123456789210ABCDEFGHIJKLMNOPQRST21XYZ")
    assert (parsed.lot, parsed.serial) == ("ABCDEFGHIJKLMNOPQRST", "XYZ")
    assert "GS_SEPARATOR_INFERRED" in parsed.warnings


# ------------------------------------------------------------------------------ HIBC


def test_hibc_code39_start_and_stop_characters_are_ignored():
    assert parse_code("*+A123BJC5D6E71G*").di == "A123BJC5D6E71"


def test_hibc_lower_case_is_upper_cased_with_a_warning():
    parsed = parse_code("+a123bjc5d6e71g")
    assert parsed.di == "A123BJC5D6E71"
    assert "CASE_NORMALISED" in parsed.warnings


def test_hibc_two_lines_scanned_one_after_the_other_are_joined():
    parsed = parse_code("+A123BJC5D6E71G\r\n+2001510X3GG")
    assert (parsed.di, parsed.lot, parsed.expiry) == ("A123BJC5D6E71", "10X3", dt.date(2020, 1, 15))


def test_hibc_secondary_line_of_another_primary_is_refused():
    line2 = "+2001510X3H"
    line2 += hibc_check_char(line2)
    with pytest.raises(CodeParseError) as caught:
        parse_code("+A123BJC5D6E71G" + line2)
    assert caught.value.reason == "HIBC_LINK_CHAR"


def test_hibc_secondary_line_alone_is_refused_for_lack_of_di():
    line = "+$$3250101LOT1G"
    with pytest.raises(CodeParseError) as caught:
        parse_code(line + hibc_check_char(line))
    assert caught.value.reason == "MISSING_DI"


@pytest.mark.parametrize(
    ("secondary", "serial", "expiry"),
    [("$+SER123", "SER123", None), ("$$+3250131SER123", "SER123", dt.date(2025, 1, 31)),
     ("$$+7SER123", "SER123", None)],
)  # fmt: skip
def test_hibc_serial_forms_are_read(secondary, serial, expiry):
    data = f"+A99912345/{secondary}"
    parsed = parse_code(data + hibc_check_char(data))
    assert (parsed.serial, parsed.expiry, parsed.lot) == (serial, expiry, None)


def test_hibc_space_check_character_survives_trimming():
    data = next(
        f"+A999{n}1" for n in range(1000, 9999) if hibc_check_char(f"+A999{n}1") == " "
    )  # fmt: skip
    assert parse_code(data + " \r\n").di == data[1:]


def test_hibc_invalid_expiry_is_refused():
    data = "+A99912345/$$3251301LOT"
    with pytest.raises(CodeParseError) as caught:
        parse_code(data + hibc_check_char(data))
    assert caught.value.reason == "BAD_DATE"


def test_hibc_with_code39_aim_prefix_is_read():
    parsed = parse_code("]A0+A123BJC5D6E71G")
    assert (parsed.di, parsed.symbology) == ("A123BJC5D6E71", "]A0")


# -------------------------------------------------------------------------- MA / AHM


def test_ma_prefix_is_case_insensitive():
    parsed = parse_code("ma.156.m0.100204.13351764.L123")
    assert (parsed.issuer, parsed.di, parsed.lot) == ("ma", "MA.156.M0.100204.13351764", "123")


def test_ma_check_characters_are_kept_but_not_verified():
    parsed = parse_code("MA.156.M0.100204.13351769.L1.C0")
    assert parsed.extra["di_check"] == "9" and parsed.extra["pi_check"] == "0"
    assert "MA_CHECK_NOT_VERIFIED" in parsed.warnings


def test_ma_eight_digit_dates_and_insurance_code_are_read():
    parsed = parse_code("MA.156.M0.100204.13351764.E20260131.YC1401010000000000001")
    assert parsed.expiry == dt.date(2026, 1, 31)
    assert parsed.extra["insurance_code"] == "C1401010000000000001"


def test_ma_product_code_outside_1_6_10_1_is_accepted_with_a_warning():
    parsed = parse_code("MA.156.M0.100204.1335")
    assert "MA_PRODUCT_CODE_NONSTANDARD" in parsed.warnings


@pytest.mark.parametrize(
    ("text", "reason"),
    [("MA.156.M0.100204", "MA_BAD_DI"), ("MA.15X.M0.100204.13351764", "MA_BAD_DI"),
     ("MA.156.M0.100204.13351764.X1", "MA_UNKNOWN_UNIT"),
     ("MA.156.M0.100204.13351764.L1.L2", "MA_DUPLICATE_UNIT"),
     ("MA.156.M0.100204.13351764.M220117.P220117", "MA_DUPLICATE_UNIT"),
     ("MA.156.M0.100204.13351764.E261301", "BAD_DATE"),
     ("MA.156.M0.100204.13351764..L1", "MA_BAD_UNIT"),
     ("MA.156.M0.100204.13351764.L", "MA_BAD_UNIT")],
)  # fmt: skip
def test_malformed_ma_is_refused(text, reason):
    with pytest.raises(CodeParseError) as caught:
        parse_code(text)
    assert caught.value.reason == reason


def test_ahm_is_read_with_an_unverified_warning():
    parsed = parse_code("MF6901234567892BA2301*SN77*MD230101ED260101")
    assert (parsed.issuer, parsed.di, parsed.lot, parsed.serial) == (
        "ahm", "MF6901234567892", "2301", "77"
    )  # fmt: skip
    assert parsed.expiry == dt.date(2026, 1, 1)
    assert "AHM_STRUCTURE_UNVERIFIED" in parsed.warnings


def test_mf_code_without_ahm_units_is_an_internal_code():
    assert parse_code("MF001").issuer == "internal"


def test_unreadable_ahm_like_code_is_refused_as_unsupported():
    with pytest.raises(CodeParseError) as caught:
        parse_code("MF12BN1*BA2")
    assert caught.value.reason == "UNSUPPORTED_ISSUER"


@pytest.mark.parametrize("text", ["=/A9999XYZ100T0944", "&)1234", "[)>\x1e06\x1d9N12345"])
def test_isbt128_and_iso15434_are_unsupported(text):
    with pytest.raises(CodeParseError) as caught:
        parse_code(text)
    assert caught.value.reason == "UNSUPPORTED_ISSUER"


# ------------------------------------------------------------------ in-hospital labels


def test_hospital_label_has_prefix_sequence_and_check_digit():
    assert make_hospital_label(1) == "YN000000000017"


def test_hospital_label_check_digit_uses_gtin_weights():
    label = make_hospital_label(12345678901)
    assert label[-1] == gtin_check_digit("12345678901")


@given(st.integers(min_value=1, max_value=10**11 - 1))
@settings(max_examples=200)
def test_hospital_label_round_trips(sequence):
    label = make_hospital_label(sequence)
    parsed = parse_code(label)
    assert (parsed.issuer, parsed.di, parsed.serial, len(label)) == ("hospital", label, label, 14)
    assert is_hospital_label(label)


def test_hospital_label_is_case_insensitive():
    assert parse_code(" yn000000000017\r\n").di == "YN000000000017"


def test_hospital_label_with_wrong_check_digit_is_refused():
    with pytest.raises(CodeParseError) as caught:
        parse_code("YN000000000018")
    assert caught.value.reason == "HOSPITAL_LABEL_CHECK"


@pytest.mark.parametrize("text", ["YN000000000018", "YN00000000017", "XN000000000017", None, 17])
def test_is_hospital_label_rejects_anything_else(text):
    assert not is_hospital_label(text)


@pytest.mark.parametrize("sequence", [0, -1, 10**11])
def test_make_hospital_label_refuses_out_of_range_sequences(sequence):
    with pytest.raises(ValueError):
        make_hospital_label(sequence)


@pytest.mark.parametrize("sequence", [True, "1", 1.0])
def test_make_hospital_label_refuses_non_integers(sequence):
    with pytest.raises(TypeError):
        make_hospital_label(sequence)


# ---------------------------------------------------------------- plain typed codes


@pytest.mark.parametrize(
    "text",
    ["C1401010000000000001", "C14010100000000000011234567", "WZ00000001", "JF-2024/001.a_b",
     "12345", "0106901234567891", "MF001", "690123456789"],
)  # fmt: skip
def test_plain_code_is_internal_with_its_text(text):
    parsed = parse_code(f" {text}\r\n")
    assert (parsed.issuer, parsed.text, parsed.di, parsed.lot, parsed.expiry) == (
        "internal", text, None, None, None
    )  # fmt: skip


def test_plain_code_longer_than_64_is_refused():
    with pytest.raises(CodeParseError) as caught:
        parse_code("A" * 65)
    assert caught.value.reason == "TOO_LONG"


def test_fullwidth_input_is_converted_with_a_warning():
    parsed = parse_code("ＷＺ００００１")
    assert (parsed.text, parsed.warnings) == ("WZ00001", ("FULLWIDTH_NORMALISED",))


# --------------------------------------------------------------------------- garbage


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "EMPTY"), ("  \r\n\t", "EMPTY"), (GS, "EMPTY"), ("]d2", "EMPTY"),
     ("x" * 513, "TOO_LONG"), ("ab\x01c", "BAD_CHARACTERS"), ("\x02WZ01\x03", "BAD_CHARACTERS"),
     ("批号123", "BAD_CHARACTERS"), ("abc#1", "BAD_CHARACTERS"), ("WZ 01", "BAD_CHARACTERS"),
     ("---", "UNRECOGNISED_FORMAT"), ("WZ01\nWZ02", "BAD_CHARACTERS"), (None, "NOT_TEXT"),
     (b"0106901234567892", "NOT_TEXT")],
)  # fmt: skip
def test_garbage_is_refused_with_a_specific_reason(text, reason):
    with pytest.raises(CodeParseError) as caught:
        parse_code(text)
    assert caught.value.reason == reason


@pytest.mark.parametrize("reason", sorted(udi.MESSAGES))
def test_error_message_is_chinese_then_english(reason):
    message = CodeParseError(reason).message
    chinese, english = message.split(" / ", 1)
    assert re.search(r"[\u4e00-\u9fff]", chinese)
    assert english.isascii() and english[0].isupper()


def test_error_carries_code_reason_message_and_detail():
    with pytest.raises(CodeParseError) as caught:
        parse_code("01069012345678911725013110ABC")
    error = caught.value
    assert (error.code, error.reason, str(error)) == (
        "UNREADABLE_CODE", "GTIN_CHECK_DIGIT", "GTIN 校验位错误 / GTIN check digit is wrong"
    )  # fmt: skip
    assert json.loads(json.dumps(error.detail)) == error.detail


def test_unexpected_failure_inside_is_still_a_code_parse_error(monkeypatch):
    from consumables import _udi_gs1

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(_udi_gs1, "build", explode)
    with pytest.raises(CodeParseError) as caught:
        parse_code("0106901234567892")
    assert (caught.value.reason, caught.value.detail) == (
        "INTERNAL_ERROR",
        {"error": "RuntimeError"},
    )


def test_parsed_code_is_immutable_and_hashable():
    parsed = parse_code("0106901234567892")
    with pytest.raises(AttributeError):
        parsed.di = "x"
    assert hash(parsed) == hash(parse_code("0106901234567892"))


# --------------------------------------------------------------------- check characters


@pytest.mark.parametrize(
    ("body", "check"),
    [("690123456789", "2"), ("37610425002123456", "9"), ("629104150021", "3"),
     ("703801005447", "1"), ("950110153100", "0"), ("978820551237", "5"),
     ("708000382434", "9")],
)  # fmt: skip
def test_gtin_check_digit_matches_published_examples(body, check):
    assert gtin_check_digit(body) == check


@pytest.mark.parametrize("body", ["", "12a", "１２"])
def test_gtin_check_digit_refuses_non_digits(body):
    with pytest.raises(ValueError):
        gtin_check_digit(body)


@pytest.mark.parametrize(
    ("data", "check"), [("+A123BJC5D6E71", "G"), ("A", "A"), ("+", "+"), ("+2001510X3G", "G")]
)
def test_hibc_check_char_is_mod_43(data, check):
    assert hibc_check_char(data) == check


def test_hibc_check_char_refuses_characters_outside_code39():
    with pytest.raises(ValueError):
        hibc_check_char("+a123")


# ------------------------------------------------------------------ robustness (fuzzing)


def assert_well_behaved(text) -> None:
    """Either a sound ParsedCode or a CodeParseError that was not the last-resort guard."""
    try:
        parsed = parse_code(text)
    except CodeParseError as error:
        assert error.reason != "INTERNAL_ERROR", error.__cause__
        assert error.reason in udi.MESSAGES
        json.dumps(error.detail)
        return
    assert parsed.issuer in {"gs1", "ma", "ahm", "hibc", "hospital", "internal"}
    assert all(isinstance(w, str) for w in parsed.warnings)
    json.dumps(parsed.extra)
    if parsed.issuer == "gs1":
        assert (
            re.fullmatch(r"\d{14}", parsed.di) and gtin_check_digit(parsed.di[:13]) == parsed.di[13]
        )
    if parsed.issuer == "internal":
        assert parsed.text and parsed.di is None


@given(st.text())
@settings(max_examples=300)
def test_any_text_is_parsed_or_refused_cleanly(text):
    assert_well_behaved(text)


@given(st.binary().map(lambda b: b.decode("latin-1")))
@settings(max_examples=300)
def test_any_bytes_are_parsed_or_refused_cleanly(text):
    assert_well_behaved(text)


NEAR_GS1_PARTS = st.one_of(
    st.sampled_from(["01", "10", "11", "15", "17", "21", "240", "713", "93", "7003", "3103", "00"]),
    st.text("0123456789", max_size=16),
    st.text("ABCxyz0123456789-./!%", max_size=12),
    st.sampled_from([GS, *SUBSTITUTES.values(), "(", ")", "{", "}", " ", "\r\n", *GS1_SYMBOLOGIES,
                     "https://id.gs1.org/01/", "/10/", "?17=", "&21=", "+", "$$", "/", "*",
                     "MA.156.M0.", ".L", "YN", "MF", "BA", "=", "]d1"]),
)  # fmt: skip


@given(st.lists(NEAR_GS1_PARTS, max_size=14).map("".join))
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_near_gs1_strings_are_parsed_or_refused_cleanly(text):
    assert_well_behaved(text)


def gtin14(digits: str) -> str:
    return digits + gtin_check_digit(digits)


GS1_FIELDS = st.fixed_dictionaries(
    {"di": st.text("0123456789", min_size=13, max_size=13).map(gtin14)},
    optional={
        "lot": st.text("ABCXYZabc0123456789-./", min_size=1, max_size=20),
        "serial": st.text("ABCXYZabc0123456789-./", min_size=1, max_size=20),
        "expiry": st.dates(dt.date(2000, 1, 1), dt.date(2049, 12, 31)).map(dt.date.isoformat),
        "production_date": st.dates(dt.date(2000, 1, 1), dt.date(2049, 12, 31)).map(
            dt.date.isoformat
        ),
    },
)


@given(GS1_FIELDS, st.sampled_from(FORM_NAMES))
@settings(max_examples=300)
def test_any_gs1_data_reads_the_same_in_any_arrival_form(expected, form):
    parsed = parse_code(arrival_forms(expected)[form])
    assert_fields(parsed, expected)


# Issue 13, finding 6a: a truncated MA read is unreadable (rescan), not an internal code.


@pytest.mark.parametrize("text", ["MA.", "ma.", "MA..", "MA.X", "MA.ABC.M0", "MA.-156", "MA./1"])
def test_truncated_or_broken_ma_read_is_unreadable_not_internal(text):
    with pytest.raises(CodeParseError) as caught:
        parse_code(text)
    assert caught.value.code == "UNREADABLE_CODE"
    assert caught.value.reason == "MA_BAD_DI"


def test_internal_code_that_only_starts_with_ma_is_still_internal():
    assert parse_code("MA001").issuer == "internal"
    assert parse_code("MA-2024-01").issuer == "internal"


# Issue 12, item 8: the dropped-separator warning fires only when the tail of the variable
# field is itself a complete, valid GS1 element string (biip parses it back), never on a
# lot that merely ends in digits that look like an AI.

GTIN_ONLY = "010690123456789210"  # (01) then (10): the lot is the last, unclosed field
WITH_EXPIRY = "01069012345678921726123110"  # (01), (17) 2026-12-31, then (10)


@pytest.mark.parametrize(
    "lot",
    [
        "NEW001",  # "01" would be a GTIN with no digits, "001" an SSCC far too short
        "L2024110",  # "110": AI 11 with one digit; "10": AI 10 with nothing
        "AB1721",  # "1721": AI 17 with two digits; "21": a serial with nothing
        "240512",  # a date-like lot: "12"/"0512" read as no UDI AI at all
        "L17251399",  # "17251399": month 13 is no date
        "L17250230",  # "17250230": 30 February is no date
        "L1725123",  # "1725123": an expiry one digit short
        "L1725",  # "1725": AI 17 far too short
    ],
)
def test_lot_ending_in_ai_like_digits_that_do_not_parse_is_not_flagged(lot):
    for prefix in (GTIN_ONLY, WITH_EXPIRY):
        parsed = parse_code(prefix + lot)
        assert parsed.lot == lot
        assert "POSSIBLE_MISSING_SEPARATOR" not in parsed.warnings, prefix


@pytest.mark.parametrize(
    "text, lot, field, value",
    [
        (GTIN_ONLY + "ABC12317251231", "ABC123", "expiry", "2025-12-31"),
        (GTIN_ONLY + "ABC12321SN001", "ABC123", "serial", "SN001"),
        (WITH_EXPIRY + "ABC12321SN001", "ABC123", "serial", "SN001"),
        (GTIN_ONLY + "L2024111250101", "L20241", "production_date", "2025-01-01"),
        (GTIN_ONLY + "L2024117250100", "L20241", "expiry", "2025-01-31"),  # day 00: month end
    ],
)
def test_lot_whose_tail_parses_as_a_valid_element_string_is_flagged(text, lot, field, value):
    parsed = parse_code(text)
    assert "POSSIBLE_MISSING_SEPARATOR" in parsed.warnings
    alternative = parsed.extra["alternative"]
    assert (alternative["lot"], alternative[field]) == (lot, value)


def test_alternative_keeps_the_keys_the_scan_service_reads():
    alternative = parse_code(GTIN_ONLY + "ABC12317251231").extra["alternative"]
    assert {"lot", "serial", "expiry"} <= set(alternative)


def test_tail_that_names_an_ai_already_in_the_message_is_not_flagged():
    # With (17) present, "17251231" at the end of the lot is part of the lot.
    parsed = parse_code(WITH_EXPIRY + "ABC12317251231")
    assert "POSSIBLE_MISSING_SEPARATOR" not in parsed.warnings
