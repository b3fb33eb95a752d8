"""Every URL pattern x every role: allowed or denied, as the table below says.

The patterns come from the URL resolver, so a new page or endpoint without a row in
``MATRIX`` (or a reasoned entry in ``SKIPPED``) fails ``test_every_url_has_a_rule``.

Allowed means the request passed the role and department gate (any answer but 401, 403, a
redirect to a login page, 404 or a 5xx: objects named in the URL exist, so a 404 would
mean the gate was never reached). Denied means 403 (401 or 403 for an API), or a redirect
to the login page for the anonymous visitor. Pages are requested with GET; API endpoints
with each method they implement (POST with an empty body: refused by validation after the
gate, so nothing is written).
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config import roles
from tests.billing.conftest import hospital  # noqa: F401  (a fixture, used by name)

from .world import ANONYMOUS, KEEPER_OTHER_STORE, NURSE_OTHER_WARD, build_world, client_as

N, S, P, PO = roles.NURSE, roles.STOREKEEPER, roles.PROCUREMENT, roles.PRICING_OFFICE
F, INS, SUP, A = roles.FINANCE, roles.INSURANCE_OFFICE, roles.SUPPLIER, roles.ADMINISTRATOR
INT = roles.INTEGRATION
ROLES = [ANONYMOUS, *roles.ROLES]
PEOPLE = {N, S, P, PO, F, INS, SUP, A}  # every role but the integration accounts
ADMIN_SITE = {S, P, PO, F, INS, A}  # is_staff (as load_demo makes them)
ANY_ACCOUNT = PEOPLE | {INT}

# URL name -> roles allowed (administrators may do everything: always listed).
MATRIX: dict[str, set[str]] = {
    "home": PEOPLE,
    "password_change": PEOPLE,
    "password_change_done": PEOPLE,
    "admin:index": ADMIN_SITE,
    # Stores: receiving and issuing are the storekeeper's; reading stock is for the stores,
    # the wards, and the offices that read everything.
    "inventory:receive": {S, A},
    "inventory:issue": {S, A},
    "inventory:stock": {S, N, F, INS, A},
    "inventory:history": {S, N, F, INS, A},
    "inventory:label-sheet": {S, N, A},
    # Stocktakes: counted by stores and wards; finance and the insurance office read them.
    "inventory:stocktake-list": {S, N, F, INS, A},
    "inventory:stocktake-detail": {S, N, F, INS, A},
    "inventory:stocktake-scan": {S, N, A},
    "inventory:stocktake-set-count": {S, N, A},
    "inventory:stocktake-submit": {S, N, A},
    "inventory:stocktake-reopen": {S, N, A},
    "inventory:stocktake-cancel": {S, N, A},
    "inventory:stocktake-confirm": {S, N, A},
    # Recalls: registered by stores, procurement and the insurance office; finance reads.
    "inventory:recall-list": {S, P, INS, F, A},
    "inventory:recall-new": {S, P, INS, A},
    "inventory:recall-detail": {S, P, INS, F, A},
    "inventory:recall-export": {S, P, INS, F, A},
    # The set-up check of the master data: procurement's.
    "inventory:master-check": {P, A},
    # Bedside: nurses only (it charges); the encounter reads for the wards and offices.
    "billing-bedside": {N, A},
    "billing-bedside-patient": {N, A},
    "billing-audit": {N, INS, F, A},
    "billing-audit-detail": {N, INS, F, A},
    "billing-daily-list-ward": {N, INS, F, A},
    "billing-daily-list": {N, INS, F, A},
    "billing-kits": {N, INS, F, A},
    "billing-audit-trail": {INS, F, A},
    # Finance dashboard: finance and the insurance office; four prices also the pricing office.
    "billing-finance": {F, INS, A},
    "billing-finance-month": {F, INS, A},
    "billing-finance-department": {F, INS, A},
    "billing-finance-item": {F, INS, A},
    "billing-finance-exception": {F, INS, A},
    "billing-finance-people": {F, INS, A},
    # Follow-up of findings: the insurance office's list, rankings and watch list; the
    # ward's own findings; one POST for every step (the service checks the step's role).
    "billing-followup": {F, INS, A},
    "billing-followup-ward": {N, A},
    "billing-followup-act": {INS, N, A},
    "billing-followup-rankings": {F, INS, A},
    "billing-followup-watch": {INS, A},
    "billing-finance-person": {F, INS, A},
    "billing-finance-theatre": {F, INS, A},
    "billing-finance-four-price": {PO, F, INS, A},
    "billing-finance-stock": {F, INS, A},
    "billing-finance-reconcile": {F, INS, A},
    # The national platform's uploads: the insurance office's (finance reads the page);
    # HIS or the integration engine may read the records too.
    "insurance-uploads": {F, INS, A},
    "insurance-uploads-resend": {INS, A},
    "insurance-denials": {F, INS, A},
    # Master data: code conflicts and mappings are procurement's, prices the pricing office's;
    # suppliers see their own products and submissions only.
    "master:staging": {P, A},
    "master:staging-import": {P, A},
    "master:staging-kind": {P, A},
    "master:staging-rows": {P, A},
    "master:staging-row": {P, A},
    "master:staging-promote": {P, A},
    "master:mapping-list": {P, A},
    "master:mapping-new": {P, A},
    "master:mapping-detail": {P, A},
    "master:submission-list": {P, A},
    "master:submission-detail": {P, A},
    "master:supplier-products": {P, A},
    "master:supplier-home": {SUP, A},
    "master:supplier-product": {SUP, A},
    "master:supplier-submission": {SUP, A},
    "master:price-list": {PO, A},
    "master:price-decide": {PO, A},
    "master:price-lists": {PO, A},
    # API.
    "codes-resolve": {N, S, P, PO, F, INS, A},
    "codes-decode": {N, S, A},
    "scans": {N, S, A},
    "encounters": {INT, A},
    "encounter-discharge": {INT, A},
    "orders": {INT, A},
    "charges": {INT, A},
    "charge-refund": {INT, A},
    "consents": {N, A},
    "encounter-audit": {N, INS, F, A},
    "recon-runs": {F, INS, A},
    "recon-run": {F, INS, A},
    "recon-variances": {F, INS, A},
    "recon-exceptions": {F, INS, A},
    "insurance-upload-list": {INS, INT, A},
    "insurance-upload-resend": {INS, A},
    "supplier-products": {SUP, A},
    "supplier-submissions": {SUP, A},
    "supplier-submission": {SUP, A},
    "api-schema": ANY_ACCOUNT,
    "api-docs": ANY_ACCOUNT,
}

# Not walked, with the reason.
SKIPPED = {
    "login": "the login page itself: anonymous by nature",
    "logout": "logging out: open to everyone by nature",
    "set_language": "language switch: no data behind it",
    "javascript-catalog": "the scripts' interface messages: no data behind them",
}
# The admin site's own views sit behind is_staff and model permissions (admin:index is
# walked as their representative).
SKIPPED_NAMESPACES = ("admin:",)
LOGIN_PATHS = ("/accounts/login/", "/admin/login/")


def url_patterns(patterns=None, namespace=""):
    """(name, pattern) of every URL the project serves, names with their namespace."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            # An unnamed pattern is "<namespace>:" (the admin's catch-all) or None.
            yield (f"{namespace}{entry.name}" if entry.name else namespace or None), entry


def walked(name: str | None) -> bool:
    if name == "admin:index":
        return True
    return name not in SKIPPED and not (name or "").startswith(SKIPPED_NAMESPACES)


WALKED = sorted({name for name, _ in url_patterns() if name and walked(name)})


def url_kwargs(world, name: str, pattern: URLPattern) -> dict:
    sources = {
        "visit_no": world["encounter"].visit_no,
        "charge_id": world["charge"].pk,
        "date": world["run_date"],
        "line_id": getattr(world["stocktake_line"], "pk", None),
        "what": "stock",
        "fmt": "csv",
        "code": world["ward"].code,
        "material_code": world["consumable"].material_code,
        "user_id": world["users"][roles.NURSE].pk,
        "kind": world["conflict_kind"],
        "consumable_id": world["supplied"].pk,
        "submission_id": world["submission"].pk,
        "upload_id": getattr(world["upload"], "pk", None),
    }
    pk_of = {
        "master:staging-import": world["staging_import"].pk,
        "master:staging-row": world["staging_row"].pk,
        "master:mapping-detail": world["mapping_change"].pk,
        "master:price-decide": world["price_proposal"].pk,
        "master:supplier-submission": world["submission"].pk,
        "master:submission-detail": world["submission"].pk,
        "inventory:stocktake": world["stocktake"].pk,
        "inventory:recall": world["recall"].pk,
        "billing-finance-exception": world["exception"].pk,
    }
    kwargs = {}
    for key in pattern.pattern.converters:
        if key == "pk":
            value = next((v for prefix, v in pk_of.items() if name.startswith(prefix)), None)
        else:
            value = sources.get(key)
        assert value is not None, f"{name}: the matrix has no object for <{key}>"
        kwargs[key] = value
    return kwargs


def methods(pattern: URLPattern) -> list[str]:
    view_class = getattr(pattern.callback, "cls", None)  # DRF views
    if view_class is None:
        return ["get"]
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]


# Query strings a page needs to reach its gate with real objects.
QUERY = {
    "billing-bedside-patient": {"ward": "XNK", "visit": "ZY001"},
}


# Form fields a POST-only page action needs to get past its own 404 for an unknown action.
FORM = {
    "master:staging-row": {"action": "restore"},  # refused: the row is not excluded
}


def request(client, method: str, url: str, name: str):
    if method == "get":
        response = client.get(url, QUERY.get(name, {}))
        if response.status_code != 405:
            return response
        # A form action that only takes POST: a form that changes nothing.
        return client.post(url, FORM.get(name, {}))
    return getattr(client, method)(url, "{}", content_type="application/json")


def denied(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 302 and response["Location"].startswith(LOGIN_PATHS)


@pytest.fixture
def world(hospital):  # noqa: F811
    return build_world(hospital)


def test_every_url_has_a_rule():
    names = [name for name, _ in url_patterns()]
    unnamed = [str(p.pattern) for name, p in url_patterns() if name is None]
    assert not unnamed, f"URL patterns without a name (the matrix keys by name): {unnamed}"
    missing = sorted(n for n in names if walked(n) and n not in MATRIX)
    assert not missing, (
        "URL names with no row in tests/security/test_access_matrix.py MATRIX "
        f"(say which roles may open them): {missing}"
    )


def test_no_rule_names_a_url_that_no_longer_exists():
    names = {name for name, _ in url_patterns()}
    assert not sorted(set(MATRIX) - names)
    assert not sorted(set(SKIPPED) - names)


@pytest.mark.parametrize("name", WALKED)
def test_url_allows_exactly_its_roles(world, name):
    if name not in MATRIX:
        pytest.fail(f"{name} has no row in MATRIX: say which roles may open it")
    pattern = next(p for n, p in url_patterns() if n == name)
    url = reverse(name, kwargs=url_kwargs(world, name, pattern))
    wrong = []
    for role in ROLES:
        client = client_as(world["users"].get(role))
        for method in methods(pattern):
            response = request(client, method, url, name)
            expected = role in MATRIX[name] or role == A
            if response.status_code >= 500 or (expected and response.status_code == 404):
                wrong.append(f"{role} {method.upper()}: {response.status_code}")
            elif denied(response) == expected:
                verdict = "denied" if expected else "allowed"
                wrong.append(f"{role} {method.upper()}: {verdict} ({response.status_code})")
    assert not wrong, f"{name} {url}: " + "; ".join(wrong)


# Department scoping: a nurse of another ward, or a storekeeper of another store, is refused
# what the table allows the role (URL name, kwargs, query, method, body, who).
def scoped_cases():
    def scan(action, department, **extra):
        return {
            "event_id": "5b2f7f0e-1d1c-4c3b-9a8b-7c6d5e4f3a2b",
            "action": action,
            "code": "WZ-ANY",
            "department": department,
            **extra,
        }

    return [
        ("billing-audit-detail", {"visit_no": "ZY001"}, {}, "get", None, NURSE_OTHER_WARD),
        ("billing-daily-list", {"visit_no": "ZY001"}, {}, "get", None, NURSE_OTHER_WARD),
        ("billing-kits", {"visit_no": "ZY001"}, {}, "get", None, NURSE_OTHER_WARD),
        ("billing-daily-list-ward", {}, {"department": "XNK"}, "get", None, NURSE_OTHER_WARD),
        (
            "billing-bedside-patient",
            {},
            {"ward": "XNK", "visit": "ZY001"},
            "get",
            None,
            NURSE_OTHER_WARD,
        ),
        ("inventory:stock", {}, {"department": "XNK"}, "get", None, NURSE_OTHER_WARD),
        ("inventory:stock", {}, {"department": "CK01"}, "get", None, KEEPER_OTHER_STORE),
        ("inventory:stocktake-detail", {"pk": "stocktake"}, {}, "get", None, NURSE_OTHER_WARD),
        ("encounter-audit", {"visit_no": "ZY001"}, {}, "get", None, NURSE_OTHER_WARD),
        ("scans", {}, {}, "post", scan("use", "XNK", encounter="ZY001"), NURSE_OTHER_WARD),
        ("scans", {}, {}, "post", scan("receive", "CK01", supplier="GYS01"), KEEPER_OTHER_STORE),
        ("scans", {}, {}, "post", scan("issue", "XNK", from_department="CK01"), KEEPER_OTHER_STORE),
        (
            "consents",
            {},
            {},
            "post",
            {"encounter": "ZY001", "code": "WZ-ANY", "signed_by": "张三", "relationship": "本人"},
            NURSE_OTHER_WARD,
        ),
    ]


@pytest.mark.parametrize(
    ("name", "kwargs", "query", "method", "body", "who"),
    scoped_cases(),
    ids=[f"{c[0]}-{c[5]}-{i}" for i, c in enumerate(scoped_cases())],
)
def test_other_departments_are_refused(world, name, kwargs, query, method, body, who):
    kwargs = {k: world[v].pk if v == "stocktake" else v for k, v in kwargs.items()}
    url = reverse(name, kwargs=kwargs)
    own = {NURSE_OTHER_WARD: roles.NURSE, KEEPER_OTHER_STORE: roles.STOREKEEPER}[who]
    for user, expect_denied in ((world["users"][who], True), (world["users"][own], False)):
        client = client_as(user)
        if method == "get":
            response = client.get(url, query)
        else:
            response = client.post(url, body, content_type="application/json")
        assert response.status_code < 500, (name, user.username, response.status_code)
        assert (response.status_code == 403) == expect_denied, (
            f"{name} as {user.username}: {response.status_code}"
        )
