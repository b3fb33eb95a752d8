"""A live item's five codes change only through the two-person review (issue 13, finding 4),
and so do its insurance class and payment restriction (issue 14).

Through the admin forms with Django's test client, logged in as procurement and as an
administrator: the change form shows the codes and DIs read-only with a link to propose a
mapping change, and a crafted POST carrying other codes leaves the database as it was.
"""

from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from config import roles
from consumables.demo_data import ROLE_PERMISSIONS
from consumables.mappings.services import mapping_change_approve, mapping_change_propose
from consumables.models import Consumable, DeviceIdentifier, MappingChange
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, gtin14, insurance_code
from tests.test_admin import form_values

pytestmark = pytest.mark.django_db

CODES = ("material_code", "charge_code", "order_code", "insurance_code")
CRAFTED = {
    "material_code": "WZ-CRAFTED",
    "charge_code": "JF-CRAFTED",
    "order_code": "YZ-CRAFTED",
    "insurance_code": insurance_code(99999001),
}


def staff_client(django_user_model, username: str, role: str) -> Client:
    """A staff user of ``role`` with the admin permissions the demo gives that role."""
    user = django_user_model.objects.create_user(username, password="pw-123456!", is_staff=True)
    group = Group.objects.get(name=role)
    for name in ROLE_PERMISSIONS[role]:
        app_label, codename = name.split(".")
        found = Permission.objects.filter(content_type__app_label=app_label)
        if codename != "*":
            found = found.filter(codename=codename)
        group.permissions.add(*found)
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(params=[roles.PROCUREMENT, roles.ADMINISTRATOR])
def staff(request, django_user_model) -> Client:
    return staff_client(django_user_model, f"staff-{request.param}", request.param)


@pytest.fixture
def live_item() -> Consumable:
    item = ConsumableFactory(name="一次性使用无菌注射器")
    DeviceIdentifierFactory(consumable=item)
    return item


def codes_of(item: Consumable) -> dict[str, str]:
    item.refresh_from_db()
    return {name: getattr(item, name) for name in CODES}


def change_url(item: Consumable) -> str:
    return reverse("admin:consumables_consumable_change", args=[item.pk])


def submitted(client: Client, url: str) -> dict[str, list[str]]:
    data = form_values(client.get(url))
    data.pop("csrfmiddlewaretoken", None)
    return data


def test_change_form_shows_the_codes_read_only_with_a_link_to_propose_a_change(
    staff, live_item
):
    response = staff.get(change_url(live_item))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert not set(CODES) & set(form.fields)
    page = response.content.decode()
    assert live_item.charge_code in page
    proposal = reverse("master:mapping-new") + "?" + urlencode(
        {"material_code": live_item.material_code}
    )
    assert f'href="{proposal}"' in page


def test_a_crafted_post_does_not_change_a_live_items_codes(staff, live_item):
    before = codes_of(live_item)
    data = submitted(staff, change_url(live_item))
    data.update({name: [value] for name, value in CRAFTED.items()})
    data["name"] = ["一次性使用无菌注射器（带针）"]

    response = staff.post(change_url(live_item), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert codes_of(live_item) == before
    assert live_item.name == "一次性使用无菌注射器（带针）"


def test_a_crafted_post_does_not_change_a_live_items_dis(staff, live_item):
    di = live_item.device_identifiers.get()
    data = submitted(staff, change_url(live_item))
    prefix = "device_identifiers"
    data.update({
        f"{prefix}-0-id": [str(di.pk)],
        f"{prefix}-0-consumable": [str(live_item.pk)],
        f"{prefix}-0-udi_di": [gtin14(99999002)],
        f"{prefix}-0-units_per_package": ["10"],
        f"{prefix}-1-consumable": [str(live_item.pk)],
        f"{prefix}-1-udi_di": [gtin14(99999003)],
        f"{prefix}-1-units_per_package": ["1"],
        f"{prefix}-1-is_active": ["on"],
        f"{prefix}-TOTAL_FORMS": ["2"],
    })

    staff.post(change_url(live_item), data)

    assert list(DeviceIdentifier.objects.values_list("udi_di", "units_per_package")) == [
        (di.udi_di, 1)
    ]


def test_a_history_revert_does_not_bring_back_codes_changed_by_review(
    staff, live_item, user, other_user
):
    old_version = live_item.history.latest().history_id
    change = mapping_change_propose(
        consumable=live_item, codes={"charge_code": "JF-REVIEWED"}, reason="HIS 新收费项目",
        proposed_by=user,
    )
    mapping_change_approve(change=change, approver=other_user)
    url = reverse(
        "admin:consumables_consumable_simple_history", args=[live_item.pk, old_version]
    )

    staff.post(url, submitted(staff, url))

    assert codes_of(live_item)["charge_code"] == "JF-REVIEWED"


def test_codes_and_dis_may_be_entered_on_a_new_item(staff):
    url = reverse("admin:consumables_consumable_add")
    data = submitted(staff, url)
    data.update({name: [value] for name, value in CRAFTED.items()})
    data.update({
        "name": ["医用外科口罩"], "unit": ["个"], "value_class": ["low"], "tracking": ["lot"],
        "billed_by": ["his"],
        "device_identifiers-TOTAL_FORMS": ["1"],
        "device_identifiers-0-udi_di": [f"(01){gtin14(99999004)}"],
        "device_identifiers-0-units_per_package": ["1"],
        "device_identifiers-0-is_active": ["on"],
    })

    response = staff.post(url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    item = Consumable.objects.get(material_code=CRAFTED["material_code"])
    assert codes_of(item) == CRAFTED
    assert list(item.device_identifiers.values_list("udi_di", flat=True)) == [gtin14(99999004)]


def test_a_di_is_neither_changed_nor_added_in_its_own_admin(staff, live_item):
    di = live_item.device_identifiers.get()
    change = reverse("admin:consumables_deviceidentifier_change", args=[di.pk])
    add = reverse("admin:consumables_deviceidentifier_add")

    changed = staff.post(change, {"consumable": live_item.pk, "udi_di": gtin14(99999005),
                                  "units_per_package": 1, "is_active": "on"})
    added = staff.post(add, {"consumable": live_item.pk, "udi_di": gtin14(99999006),
                             "units_per_package": 1, "is_active": "on"})

    assert (changed.status_code, added.status_code) == (403, 403)
    assert list(DeviceIdentifier.objects.values_list("udi_di", flat=True)) == [di.udi_di]


# -- the insurance class and payment restriction (issue 14) ----------------------------------

CONDITION = "限支架植入术中使用，每次住院限 3 个"


def terms_of(item: Consumable) -> tuple[str, str]:
    item.refresh_from_db()
    return item.insurance_class, item.insurance_restriction


def post_terms(client: Client, item: Consumable, **values):
    data = submitted(client, change_url(item))
    data.update({name: [value] for name, value in values.items()})
    return client.post(change_url(item), data)


def test_the_change_form_shows_the_insurance_terms(staff, live_item):
    form = staff.get(change_url(live_item)).context["adminform"].form
    assert {"insurance_class", "insurance_restriction", "insurance_change_reason"} <= set(
        form.fields
    )


def test_an_admin_change_of_class_is_a_proposal_a_second_person_approves(
    django_user_model, live_item
):
    buyer = staff_client(django_user_model, "buyer-a", roles.PROCUREMENT)
    second = staff_client(django_user_model, "buyer-b", roles.PROCUREMENT)

    response = post_terms(
        buyer, live_item, insurance_class="restricted", insurance_restriction=CONDITION,
        insurance_change_reason="医保目录：限定支付",
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    assert terms_of(live_item) == ("covered", "")
    change = MappingChange.objects.get()
    assert (change.status, change.reason, change.proposed_by.username) == (
        "proposed", "医保目录：限定支付", "buyer-a",
    )  # fmt: skip
    detail = reverse("master:mapping-detail", args=[change.pk])
    page = buyer.get(detail).content.decode()
    assert "限定支付" in page and CONDITION in page

    buyer.post(detail, {"action": "approve"})  # the proposer cannot decide
    assert terms_of(live_item) == ("covered", "")
    assert MappingChange.objects.get().status == "proposed"

    second.post(detail, {"action": "approve", "note": "已核对医保目录"})

    assert terms_of(live_item) == ("restricted", CONDITION)
    latest = live_item.history.order_by("-history_date", "-history_id").first()
    assert latest.history_user.username == "buyer-b"
    assert MappingChange.objects.get().decided_by.username == "buyer-b"


def test_an_admin_change_to_restricted_without_a_condition_is_refused(staff, live_item):
    response = post_terms(
        staff, live_item, insurance_class="restricted", insurance_restriction="",
        insurance_change_reason="医保目录调整",
    )  # fmt: skip

    assert response.status_code == 200
    assert "insurance_restriction" in response.context["adminform"].form.errors
    assert not MappingChange.objects.exists()
    assert terms_of(live_item) == ("covered", "")


def test_an_admin_change_of_class_needs_a_reason(staff, live_item):
    response = post_terms(staff, live_item, insurance_class="self_pay")

    assert response.status_code == 200
    assert "insurance_change_reason" in response.context["adminform"].form.errors
    assert not MappingChange.objects.exists()


def test_a_save_that_keeps_the_terms_proposes_nothing(staff, live_item):
    response = post_terms(staff, live_item, name="一次性使用无菌注射器 2ml")

    assert response.status_code == 302
    assert not MappingChange.objects.exists()


def test_a_new_item_takes_its_terms_from_the_add_form_and_the_rule_applies(staff):
    url = reverse("admin:consumables_consumable_add")
    data = submitted(staff, url)
    data.update({
        "material_code": ["WZ-NEW-1"], "name": ["冠脉支架"], "unit": ["个"],
        "value_class": ["high"], "tracking": ["unit"], "billed_by": ["scan"],
        "insurance_class": ["restricted"], "insurance_restriction": [""],
    })

    refused = staff.post(url, data)
    data["insurance_restriction"] = [CONDITION]
    accepted = staff.post(url, data)

    assert refused.status_code == 200
    assert "insurance_restriction" in refused.context["adminform"].form.errors
    assert accepted.status_code == 302, accepted.content.decode()[:3000]
    assert terms_of(Consumable.objects.get(material_code="WZ-NEW-1")) == (
        "restricted", CONDITION,
    )  # fmt: skip
