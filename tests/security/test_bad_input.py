"""Every URL pattern of the resolver, fed bad input: no answer may be a 5xx.

The walk reuses the access matrix (tests/security/test_access_matrix.py): the same URL
names, the same objects for path arguments, the same roles. Each URL is requested as an
administrator and as a role the matrix allows, with NUL, overlong (5,000 characters),
out-of-range and malformed values in

- each query parameter the view reads (``QUERY_PARAMS`` below: a URL without a row fails
  ``test_every_url_says_which_query_parameters_it_reads``, and a parameter read somewhere in
  the code but named in no row fails ``test_every_query_parameter_in_the_code_is_walked``);
- each path argument (from the pattern's converters);
- the JSON body of each API method (nested 100,000 deep, NUL, lone surrogates, numbers
  beyond every column).

Every request runs in a savepoint rolled back after it, so a refusal that slipped through
to the database (a DataError) is reported for its own URL and the next request still sees
the same hospital.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from rest_framework.settings import api_settings

from config import roles
from tests.billing.conftest import hospital  # noqa: F401  (a fixture, used by name)

from .test_access_matrix import (
    MATRIX,
    QUERY,
    WALKED,
    methods,
    url_kwargs,
    url_patterns,
)
from .world import build_world, client_as

PERIOD = ("days", "end", "since", "until", "month", "format", "table")
EXPORT = ("export", "list", "page")

# URL name -> the query parameters its view reads (an empty tuple: none).
QUERY_PARAMS: dict[str, tuple[str, ...]] = {
    "home": (),
    "password_change": (),
    "password_change_done": (),
    "admin:index": (),
    "inventory:receive": ("store", "supplier", "invoice_no", "unit_cost", "ownership"),
    "inventory:issue": ("store", "q", "ward"),
    "inventory:stock": ("department", "q"),
    "inventory:history": ("code", "consumable", "lot"),
    "inventory:label-sheet": ("labels", "receipt", "event"),
    "inventory:stocktake-list": (),
    "inventory:stocktake-detail": (),
    "inventory:stocktake-scan": (),
    "inventory:stocktake-set-count": (),
    "inventory:stocktake-submit": (),
    "inventory:stocktake-reopen": (),
    "inventory:stocktake-cancel": (),
    "inventory:stocktake-confirm": (),
    "inventory:recall-list": (),
    "inventory:recall-new": (),
    "inventory:recall-detail": (),
    "inventory:recall-export": (),
    "inventory:master-check": (),
    "billing-bedside": ("ward", "visit"),
    "billing-bedside-patient": ("ward", "visit"),
    "billing-audit": ("visit_no",),
    "billing-audit-detail": (),
    "billing-daily-list-ward": ("date", "department"),
    "billing-daily-list": ("date", "department"),
    "billing-kits": (),
    "billing-audit-trail": ("since", "until", "user", "source", "q", "page", "format"),
    "billing-finance": (*PERIOD, "reconciled"),
    "billing-finance-reconcile": (),
    "billing-finance-month": PERIOD,
    "billing-finance-department": PERIOD,
    "billing-finance-item": PERIOD,
    "billing-finance-exception": ("format", "table"),
    "billing-finance-people": PERIOD,
    "billing-finance-person": PERIOD,
    "billing-finance-theatre": ("date", "department", "format", "table"),
    "billing-finance-four-price": ("format", "table"),
    "billing-finance-stock": PERIOD,
    "billing-followup": (*PERIOD, "kind", "status", "department"),
    "billing-followup-ward": (*PERIOD, "kind", "status", "department"),
    "billing-followup-act": (),
    "billing-followup-rankings": ("month", "by"),
    "billing-followup-watch": (),
    "insurance-uploads": ("date",),
    "insurance-uploads-resend": (),
    "insurance-denials": ("month",),
    "insurance-upload-list": ("date", "txn", "status", "after", "limit"),
    "insurance-upload-resend": (),
    "master:staging": EXPORT,
    "master:staging-import": EXPORT,
    "master:staging-kind": EXPORT,
    "master:staging-rows": ("status", "source", "q", *EXPORT),
    "master:staging-row": (),
    "master:staging-promote": (),
    "master:mapping-list": ("status", *EXPORT),
    "master:mapping-new": ("material_code",),
    "master:mapping-detail": (),
    "master:submission-list": ("status", *EXPORT),
    "master:submission-detail": (),
    "master:supplier-products": ("supplier", *EXPORT),
    "master:supplier-home": EXPORT,
    "master:supplier-product": (),
    "master:supplier-submission": (),
    "master:price-list": EXPORT,
    "master:price-decide": (),
    "master:price-lists": EXPORT,
    "codes-resolve": (),
    "codes-decode": (),
    "scans": (),
    "encounters": (),
    "encounter-discharge": (),
    "orders": (),
    "charges": (),
    "charge-refund": (),
    "consents": (),
    "encounter-audit": (),
    "recon-runs": (),
    "recon-run": (),
    "recon-variances": (),
    "recon-exceptions": ("kind",),
    "supplier-products": (),
    "supplier-submissions": (),
    "supplier-submission": (),
    "api-schema": ("format", "lang"),
    "api-docs": (),
}

NUL = "\x00"
LONG = "Z" * 5000
HUGE = "9" * 20  # beyond a 64-bit integer
# As the administrator: every kind of bad value. As the other role: the four kinds.
BAD_VALUES = [
    NUL,
    LONG,
    HUGE,
    "-1",
    "0001-01-01",
    "9999-12-31",
    "9999-12",
    "2024-13-45",
    "1e400",
    "' OR 1=1 --<script>%",
    "a/b\\c",
]
ROLE_VALUES = [NUL, LONG, HUGE, "2024-13-45"]
BAD_PATH = {
    "int": ["0", HUGE, "2147483648"],
    "str": [NUL, LONG, "a.b", "..", "%", "住院号", " x"],
    "isodate": ["0001-01-01", "9999-12-31", "2024-02-30"],
}
BAD_BODIES = [
    "[" * 100_000,
    "{" * 100_000,
    '{"a": ' * 200 + "1" + "}" * 200,
    '{"code": "\\u0000", "encounter": "ZY\\u0000", "department": "XNK\\u0000"}',
    '{"code": "\\ud800", "visit_no": "\\udfff"}',
    '{"quantity": 99999999999999999999, "unit_price": "9999999999.9999", "date": "0001-01-01",'
    ' "counted": 1e400, "charged_at": "9999-12-31T23:59:59+14:00"}',
    '{"quantity": ' + "9" * 5000 + "}",
    '{"a":',
    "[]",
    '"text"',
    "NaN",
]


def _relevant_role(name: str) -> str | None:
    """A role the matrix allows for ``name``, other than the administrator (the nurse or
    the storekeeper first: they are the department-scoped ones)."""
    allowed = MATRIX[name] - {roles.ADMINISTRATOR}
    for role in (roles.NURSE, roles.STOREKEEPER, *sorted(allowed)):
        if role in allowed:
            return role
    return None


def _converter(pattern, key: str) -> str:
    name = type(pattern.pattern.converters[key]).__name__
    return {"IntConverter": "int", "IsoDateConverter": "isodate"}.get(name, "str")


def _url(name: str, kwargs: dict) -> str:
    return reverse(name, kwargs=kwargs)


def _send(client, method: str, url: str, *, query=None, body=None):
    cache.clear()  # no throttle or lockout counter carries from one request to the next
    sid = transaction.savepoint()
    try:
        if method == "get":
            return client.get(url, query or {})
        if body is not None:
            return getattr(client, method)(url, body, content_type="application/json")
        return client.post(url, {})
    finally:
        transaction.savepoint_rollback(sid)


def _requests(world, name: str, pattern, thorough: bool) -> list[tuple]:
    """(method, url, query, body) of every bad request for one URL."""
    kwargs = url_kwargs(world, name, pattern)
    good_query = QUERY.get(name, {})
    url = _url(name, kwargs)
    values = BAD_VALUES if thorough else ROLE_VALUES
    out = [
        ("get", url, {**good_query, param: value}, None)
        for param in QUERY_PARAMS[name]
        for value in values
    ]
    for key in pattern.pattern.converters:
        path_values = BAD_PATH[_converter(pattern, key)]
        for value in path_values if thorough else path_values[:2]:
            out.append(("get", _url(name, {**kwargs, key: value}), good_query, None))
    bodies = BAD_BODIES if thorough else BAD_BODIES[:2]
    for method in methods(pattern):
        if method != "get":
            out.extend((method, url, None, body) for body in bodies)
    return out


def _walk(world, names) -> list[str]:
    wrong = []
    for name in names:
        pattern = next(p for n, p in url_patterns() if n == name)
        role = _relevant_role(name)
        who = [(roles.ADMINISTRATOR, True)] + ([(role, False)] if role else [])
        for role_name, thorough in who:
            client = client_as(world["users"][role_name])
            client.raise_request_exception = False
            for method, url, query, body in _requests(world, name, pattern, thorough):
                response = _send(client, method, url, query=query, body=body)
                if response.status_code == 405 and method == "get":
                    response = _send(client, "post", url)  # a POST-only page action
                if response.status_code >= 500:
                    shown = {k: v[:20] for k, v in (query or {}).items()}
                    wrong.append(
                        f"{name} as {role_name}: {method.upper()} {url[:120]} {shown} "
                        f"{(body or '')[:40]!r} -> {response.status_code}"
                    )
    return wrong


def _area(name: str) -> str:
    """Groups walked by one test each (one hospital built per group)."""
    for prefix, area in (
        ("inventory:", "inventory"),
        ("master:", "master"),
        ("billing-finance", "finance"),
        ("billing", "billing"),
    ):
        if name.startswith(prefix):
            return area
    return "api and others"


AREAS = sorted({_area(name) for name in WALKED})


@pytest.fixture
def world(hospital, monkeypatch):  # noqa: F811
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "scans", "100000/min")
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "decode", "100000/min")
    return build_world(hospital)


@pytest.mark.postgres
@pytest.mark.parametrize("area", AREAS)
def test_no_bad_input_is_a_server_error(world, area):
    names = [name for name in WALKED if _area(name) == area and name in QUERY_PARAMS]
    wrong = _walk(world, names)
    assert not wrong, f"{len(wrong)} answers were 5xx:\n" + "\n".join(wrong[:60])


def test_every_url_says_which_query_parameters_it_reads():
    missing = sorted(name for name in WALKED if name not in QUERY_PARAMS)
    assert not missing, (
        "URL names with no row in tests/security/test_bad_input.py QUERY_PARAMS "
        f"(list the query parameters the view reads, or () for none): {missing}"
    )
    assert not sorted(set(QUERY_PARAMS) - set(WALKED)), "rows for URLs that no longer exist"


# --- query parameters read anywhere in the code ------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
APPS = ("insurance_platform", "billing", "inventory", "consumables", "organisation", "config")
READ = re.compile(r"""(?:GET|query_params)\.(?:get|getlist)\(\s*["'](\w+)["']""")
BOUND_FORM = re.compile(r"""(\w+Form)\(\s*request\.GET""")


def query_parameters_in_code() -> dict[str, set[str]]:
    """Parameter name -> the files that read it: ``request.GET.get("x")``,
    ``query_params.get("x")``, and the fields of a form bound to ``request.GET``."""
    found: dict[str, set[str]] = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            names = set(READ.findall(text))
            if BOUND_FORM.search(text):
                module = importlib.import_module(
                    ".".join(path.relative_to(ROOT).with_suffix("").parts)
                )
                for form_name in BOUND_FORM.findall(text):
                    names |= set(getattr(module, form_name).base_fields)
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_query_parameter_in_the_code_is_walked():
    walked = {param for params in QUERY_PARAMS.values() for param in params}
    unwalked = {
        name: sorted(files)
        for name, files in query_parameters_in_code().items()
        if name not in walked
    }
    assert not unwalked, (
        "query parameters read by a view but in no row of QUERY_PARAMS "
        f"(add them to the row of the URL that reads them): {unwalked}"
    )
