"""One catalogue of refusal codes (config/error_codes.py): every code the source raises is in
it, raised as it is worded there, the integration contract's refusal codes are all in it,
and docs/contract.md shows it as it is.

The source is read, not run: each ``DomainError(...)``/``error_body(...)`` call and each
``code=`` handed to a helper is found with ``ast``, so a code, a case or a placeholder
misspelt on a path no other test walks fails here.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.error_codes import CATALOGUE, TABLE_END, TABLE_START, Both, markdown, placeholders
from config.errors import FRAMEWORK_CODES, DomainError, error_body
from consumables.importing.master import CONFLICT_CODES

ROOT = Path(__file__).resolve().parent.parent
RAISERS = {"DomainError", "ImportFileError", "error_body"}
# Helpers that raise the ``code=`` they are handed (consumables/reviews/services.py).
CODE_HELPERS = {"ReviewKind"}

# The refusal codes CONTRACT.md (the integration contract the hospital's systems are written
# against, kept outside this repository) names "at least"; its copy is checked below when
# the file is at hand.
CONTRACT_REFUSALS = [
    "UNKNOWN_CODE",
    "UNREADABLE_CODE",
    "AMBIGUOUS_CODE",
    "EXPIRED",
    "RECALLED",
    "NOT_IN_STOCK",
    "ALREADY_USED",
    "NO_CHARGE_MAPPING",
    "NO_APPROVED_PRICE",
    "CONSENT_REQUIRED",
    "ENCOUNTER_CLOSED",
    "UNKNOWN_ENCOUNTER",
    "UNKNOWN_DEPARTMENT",
    "EVENT_ID_REUSED",
    "ENCOUNTER_NOT_ON_WARD",
    "PACKAGE_CODE",
    "TIME_OUT_OF_RANGE",
    "VALIDATION_ERROR",
]
SHARED_CONTRACT = Path("/work/shared/CONTRACT.md")


@dataclass(frozen=True)
class Raise:
    where: str
    code: str | None  # None: computed at run time
    case: str | None  # None: computed at run time
    values: frozenset[str] | None  # keyword values; None when some are spread (**kw)
    worded_here: bool  # the message is given at the site


def app_modules() -> list[Path]:
    apps = [d for d in ROOT.iterdir() if (d / "apps.py").exists()]
    return [
        path
        for app in sorted(apps)
        for path in sorted(app.rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "TEXT"`` (``APPROVAL_REQUIRED = "APPROVAL_REQUIRED"``)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _text(node, constants) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def raises_in_source() -> list[Raise]:
    found = []
    for path in app_modules():
        tree = ast.parse(path.read_text())
        constants = _constants(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            if name in CODE_HELPERS and "code" in keywords:
                found.append(Raise(where, _text(keywords["code"], constants), "", None, False))
            if name not in RAISERS:
                continue
            code = _text(node.args[0], constants) if node.args else None
            case = _text(keywords["case"], constants) if "case" in keywords else ""
            spread = any(k.arg is None for k in node.keywords)
            ignored = {"detail", "http_status", "case"}
            values = None if spread else frozenset(set(keywords) - ignored)
            if name == "error_body":
                worded_here = False
            else:
                worded_here = len(node.args) > 1 or "message" in keywords
            found.append(Raise(where, code, case, values, worded_here))
    return found


@pytest.fixture(scope="module")
def raises() -> list[Raise]:
    return raises_in_source()


def test_the_scan_finds_the_raises(raises):
    """Enough that a broken scan cannot pass by finding nothing."""
    codes = {r.code for r in raises}
    assert len(raises) >= 60
    assert {"NO_CHARGE_MAPPING", "NO_APPROVED_PRICE", "APPROVAL_REQUIRED"} <= codes
    assert {"MAPPING_CHANGE_NOT_PENDING", "SUBMISSION_NOT_PENDING"} <= codes  # code= helpers
    receive = [r for r in raises if r.code == "NO_CHARGE_MAPPING" and r.case == "receive"]
    assert receive and receive[0].where.startswith("inventory/services/receive.py")


def test_every_code_raised_in_the_source_is_in_the_catalogue(raises):
    missing = {r.where: r.code for r in raises if r.code is not None and r.code not in CATALOGUE}
    assert missing == {}


def test_every_code_computed_at_run_time_is_in_the_catalogue():
    """The codes a raise takes from a table: a code linked elsewhere, the framework's."""
    computed = {code for code, _ in CONFLICT_CODES.values()} | {"UDI_DI_CONFLICT"}
    computed |= set(FRAMEWORK_CODES.values()) | {"ERROR"}
    assert computed - set(CATALOGUE) == set()


def test_every_raise_names_a_case_the_code_has(raises):
    wrong = {
        r.where: (r.code, r.case)
        for r in raises
        if r.code in CATALOGUE and r.case and r.case not in CATALOGUE[r.code].cases
    }
    assert wrong == {}


def test_every_raise_gives_exactly_the_values_its_wording_names(raises):
    wrong = {}
    for r in raises:
        if r.code not in CATALOGUE or r.values is None or r.case is None or r.worded_here:
            continue
        entry = CATALOGUE[r.code]
        wording = entry.cases.get(r.case) if r.case else entry.wording
        if wording is None:
            wrong[r.where] = f"{r.code} needs a case"
            continue
        wanted = placeholders(wording.message) | placeholders(wording.message_en)
        if set(r.values) != wanted:
            wrong[r.where] = f"{r.code}: gives {sorted(r.values)}, wording names {sorted(wanted)}"
    assert wrong == {}


def test_only_codes_worded_by_their_caller_are_worded_at_the_raise(raises):
    """A site words its refusal itself only for the codes whose text names the field or the
    reason (VALIDATION_ERROR...); every other code says what the catalogue says."""
    worded = {
        r.where: r.code
        for r in raises
        if r.worded_here and r.code is not None and not CATALOGUE[r.code].caller_words
    }
    assert worded == {}


def test_every_refusal_code_of_the_contract_is_in_the_catalogue():
    assert set(CONTRACT_REFUSALS) - set(CATALOGUE) == set()


@pytest.mark.skipif(not SHARED_CONTRACT.exists(), reason="the shared CONTRACT.md is not here")
def test_the_copy_of_the_contracts_refusal_codes_is_the_contracts():
    text = SHARED_CONTRACT.read_text()
    listed = text[text.index("Refusal codes (at least)") :].split("\n\n")[0]
    codes = re.findall(r"`([A-Z][A-Z_]+)`", listed)
    assert codes and set(codes) == set(CONTRACT_REFUSALS)


def test_docs_contract_shows_the_catalogue():
    """docs/contract.md's tables are the catalogue's (regenerate: python -m config.error_codes)."""
    text = (ROOT / "docs" / "contract.md").read_text()
    shown = text[text.index(TABLE_START) : text.index(TABLE_END) + len(TABLE_END)] + "\n"
    assert shown == markdown()


def test_docs_table_lists_each_code_once_with_its_status():
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([0-9, ]+) \|", markdown(), re.M)
    assert [code for code, _ in rows] == list(CATALOGUE)
    assert dict(rows)["NO_APPROVED_PRICE"] == "409"
    assert dict(rows)["VALIDATION_ERROR"] == "400, 413"


def test_every_wording_fills_with_its_own_placeholders():
    """Each message formats with sample values for the names it has (a stray brace or a
    format spec that does not fit fails here, not at the bedside)."""
    sample = dt.datetime(2026, 5, 1, 8, 30)
    for entry in CATALOGUE.values():
        for case, wording in entry.wordings():
            names = placeholders(wording.message) | placeholders(wording.message_en)
            message, message_en = entry.worded(case, **dict.fromkeys(names, sample))
            assert message and message_en, (entry.code, case)
            assert re.search(r"[\u4e00-\u9fff]", message), (entry.code, case)


# -- how a raise is worded ------------------------------------------------------------------


def test_a_raise_takes_status_and_wording_from_the_catalogue():
    error = DomainError("ENCOUNTER_CLOSED", encounter="ZY001", detail={"encounter": "ZY001"})
    assert (error.http_status, error.message, error.message_en) == (
        409,
        "患者 ZY001 已出院结算，不能再记录使用或计费",
        "Encounter ZY001 is closed",
    )
    assert error.as_body()["error"]["detail"] == {"encounter": "ZY001"}


def test_the_receipt_and_the_bedside_word_a_missing_charge_code_each_their_way():
    bedside = DomainError("NO_CHARGE_MAPPING")
    receipt = DomainError("NO_CHARGE_MAPPING", case="receive")
    assert bedside.message == "该耗材可收费但没有计费编码：请联系采购/物价办完成五码对照后再使用"
    assert receipt.message == "该耗材可收费但没有计费编码，不能入库：请先完成五码对照"
    assert bedside.http_status == receipt.http_status == 409


def test_a_value_said_differently_in_each_language_and_a_list_are_said_as_each_language_does():
    error = DomainError("ALREADY_RECALLED", lots=["B1", Both("全部批次", "all lots")])
    assert error.message == "该耗材的以下批次已登记召回：B1、全部批次"
    assert error.message_en == "Already under recall: B1, all lots"


def test_a_code_not_in_the_catalogue_is_refused():
    with pytest.raises(ValueError, match="NOT_A_CODE"):
        DomainError("NOT_A_CODE")


def test_a_raise_missing_a_value_or_giving_one_too_many_is_refused():
    with pytest.raises(TypeError, match="expiry"):
        DomainError("EXPIRED")
    with pytest.raises(TypeError, match="lot"):
        DomainError("EXPIRED", expiry=dt.date(2026, 1, 1), lot="L1")
    with pytest.raises(TypeError, match="case"):
        DomainError("SELF_APPROVAL")
    with pytest.raises(KeyError):
        DomainError("SELF_APPROVAL", case="nobody")


def test_a_status_given_at_the_raise_wins():
    error = DomainError("VALIDATION_ERROR", "图片过大", "Too large", http_status=413)
    assert (error.http_status, error.message, error.message_en) == (413, "图片过大", "Too large")


def test_error_body_is_the_catalogues_wording():
    assert error_body("NOT_FOUND", {"path": "/api/x"}) == {
        "error": {
            "code": "NOT_FOUND",
            "message": "未找到",
            "message_en": "Not found",
            "detail": {"path": "/api/x"},
        }
    }
