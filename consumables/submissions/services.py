"""Supplier submissions: submit (a supplier user, for one of its own products), approve or
reject (the hospital). One transaction each; every step is in the models' history.

Approval links the codes into the live master through ``linking.link_apply``, and sets the
insurance class and payment restriction when the supplier stated them. An insurance code or
DI that another live item already holds is refused at submission and again at approval, with
that item named; insurance terms that break ``insurance.insurance_terms_problem`` (a
restricted item without its condition) are refused at both too.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from config.errors import DomainError
from organisation.selectors import supplier_codes_for, supplier_exists

from ..insurance import checked_insurance_terms
from ..linking import (
    PackageDI,
    checked_codes,
    checked_di,
    conflict_error,
    link_apply,
    link_conflicts,
)
from ..models import Consumable
from ..reviews.services import ReviewKind, review_approve, review_propose, review_reject, saved_by
from ..staging.conflicts import take_snapshot
from ..staging.models import ConflictSnapshot
from .models import SubmissionDI, SupplierProduct, SupplierSubmission

REGISTRATION_LIMIT = SupplierSubmission._meta.get_field("registration_no").max_length


def not_found() -> DomainError:
    # Another supplier's product and a product that does not exist look the same.
    return DomainError("NOT_FOUND", case="supplier_product")


def own_product(
    user, *, consumable_id: int | None = None, material_code: str | None = None,
    supplier_code: str | None = None,
) -> SupplierProduct:
    """The active supplier product of ``user``'s suppliers for the consumable (by id or
    material code), else NOT_FOUND (404): a supplier never learns about another supplier's
    products."""
    codes = supplier_codes_for(user)
    if supplier_code:
        codes = [c for c in codes if c == supplier_code]
    products = SupplierProduct.objects.select_related("consumable").filter(
        supplier_id__in=codes, is_active=True
    )
    if consumable_id is not None:
        products = products.filter(consumable_id=consumable_id)
    else:
        products = products.filter(consumable__material_code=material_code or "")
    product = products.order_by("supplier_id").first()
    if product is None:
        raise not_found()
    return product


@transaction.atomic
def supplier_product_assign(
    *, supplier_code: str, consumable: Consumable, user, supplier_item_code: str = ""
) -> SupplierProduct:
    """Record that the hospital buys ``consumable`` from ``supplier_code`` (procurement)."""
    if not supplier_exists(supplier_code):
        raise DomainError("UNKNOWN_SUPPLIER", supplier_code=supplier_code)
    product, _ = SupplierProduct.objects.get_or_create(
        supplier_id=supplier_code, consumable=consumable, defaults={"created_by": user}
    )
    if not product.is_active or product.supplier_item_code != supplier_item_code:
        product.is_active = True
        product.supplier_item_code = supplier_item_code[:64]
        saved_by(product, user)
    return product


@transaction.atomic
def submission_create(
    *,
    user,
    consumable_id: int | None = None,
    material_code: str | None = None,
    insurance_code: str | None,
    registration_no: str,
    dis: list[dict],
    supplier_code: str | None = None,
    insurance_class: str | None = None,
    restriction: str | None = None,
) -> SupplierSubmission:
    """A supplier user submits the codes of one of its own products (by consumable id or
    material code) for review.

    ``dis``: ``[{"udi_di", "units_per_package", "package_level"}]`` (any readable UDI form).
    ``insurance_class`` (``covered``, ``restricted``, ``self_pay``; empty: not stated) with
    ``restriction``, the 限定支付 condition a ``restricted`` item must name.
    Refused: not the user's product (NOT_FOUND), an invalid code or DI, no insurance code,
    no DI and no insurance class, a DI twice, a code or DI linked to another live item
    (named), a restricted class without its condition or a condition without the restricted
    class (VALIDATION_ERROR), a submission of the same product already awaiting review
    (SUBMISSION_PENDING).
    """
    product = own_product(
        user, consumable_id=consumable_id, material_code=material_code,
        supplier_code=supplier_code,
    )
    registration_no = (registration_no or "").strip()
    if not registration_no or len(registration_no) > REGISTRATION_LIMIT:
        raise DomainError(
            "VALIDATION_ERROR",
            f"注册证号必填（最长 {REGISTRATION_LIMIT} 字）",
            f"the registration number is required (at most {REGISTRATION_LIMIT} characters)",
            http_status=400,
        )
    insurance = checked_codes({"insurance_code": insurance_code})["insurance_code"]
    terms = ("", "")
    if (insurance_class or "").strip() or (restriction or "").strip():
        terms = checked_insurance_terms(insurance_class, restriction)
    packages = [
        checked_di(d.get("udi_di", ""), d.get("units_per_package") or 1, d.get("package_level"))
        for d in dis
        if (d.get("udi_di") or "").strip()
    ]
    seen = [p.udi_di for p in packages]
    twice = sorted({di for di in seen if seen.count(di) > 1})
    if twice:
        raise DomainError(
            "VALIDATION_ERROR",
            f"UDI-DI {'、'.join(twice)} 重复填写",
            f"UDI-DI {', '.join(twice)} given twice",
            http_status=400,
        )
    if insurance is None and not packages and not terms[0]:
        raise DomainError(
            "VALIDATION_ERROR",
            "请至少填写医保耗材编码、一个 UDI-DI 或医保支付类别",
            "give the insurance code, at least one UDI-DI or the insurance class",
            http_status=400,
        )
    conflicts = link_conflicts(
        consumable=product.consumable, codes={"insurance_code": insurance}, dis=seen
    )
    if conflicts:
        raise conflict_error(conflicts)
    submission = SupplierSubmission(
        supplier_code=product.supplier_code,
        consumable=product.consumable,
        insurance_code=insurance,
        registration_no=registration_no,
        insurance_class=terms[0],
        restriction=terms[1],
    )
    try:
        with transaction.atomic():
            review_propose(record=submission, proposed_by=user)
    except IntegrityError as error:
        raise DomainError("SUBMISSION_PENDING") from error
    for package in packages:
        saved_by(SubmissionDI(submission=submission, **package.as_dict()), user)
    return submission


def _link(submission: SupplierSubmission, reviewer, at) -> None:
    """The approval's effect: the submitted insurance code, DIs and registration number
    linked into the live master, with the insurance class and payment restriction when the
    supplier stated them. Refused when a code or DI is by now linked to another live item
    (named)."""
    codes = {"insurance_code": submission.insurance_code} if submission.insurance_code else {}
    fields = {"registration_no": submission.registration_no}
    if submission.insurance_class:
        insurance_class, restriction = checked_insurance_terms(
            submission.insurance_class, submission.restriction
        )
        fields.update(insurance_class=insurance_class, insurance_restriction=restriction)
    link_apply(
        consumable_id=submission.consumable_id,
        codes=codes,
        add_dis=[
            PackageDI(
                udi_di=d.udi_di,
                issuer=d.issuer,
                units_per_package=d.units_per_package,
                package_level=d.package_level,
            )
            for d in submission.dis.all()
        ],
        fields=fields,
        user=reviewer,
        reason=f"供应商提交 #{submission.pk} 审核通过 / supplier submission approved",
    )


SUBMISSION_REVIEW = ReviewKind(
    model=SupplierSubmission,
    code="SUBMISSION_NOT_PENDING",
    case="submission",
    reason_required=("退回须填写原因", "a returned submission needs a reason"),
    on_approve=_link,
)


@transaction.atomic
def submission_approve(*, submission: SupplierSubmission, reviewer, note: str = ""):
    """Link the submission into the live master (``_link``), decided by the hospital."""
    submission = review_approve(
        kind=SUBMISSION_REVIEW, record=submission, decider=reviewer, reason=note
    )
    take_snapshot(trigger=ConflictSnapshot.Trigger.MASTER, user=reviewer)
    return submission


def submission_reject(*, submission: SupplierSubmission, reviewer, reason: str):
    """Return a submission to its supplier with a reason; the master does not change."""
    return review_reject(kind=SUBMISSION_REVIEW, record=submission, decider=reviewer,
                         reason=reason)  # fmt: skip
