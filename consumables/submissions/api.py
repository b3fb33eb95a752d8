"""Supplier API (/api/v1/supplier/...): a supplier account sees and submits for its own
products only; another supplier's product or submission answers 404 NOT_FOUND."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config import roles
from config.permissions import HasRole

from ..models import Consumable
from .models import SupplierSubmission
from .selectors import products_of, submissions_of
from .services import submission_create

INSURANCE_CLASS_CHOICES = Consumable.InsuranceClass.choices

ERRORS = {
    400: OpenApiResponse(
        description="VALIDATION_ERROR, INSURANCE_CODE_INVALID, UNREADABLE_CODE"
    ),
    403: OpenApiResponse(description="PERMISSION_DENIED: not a supplier account"),
    404: OpenApiResponse(description="NOT_FOUND: not a product of your suppliers"),
    409: OpenApiResponse(
        description="INSURANCE_CODE_CONFLICT / UDI_DI_CONFLICT (detail.conflicts names the "
        "item that has the code), SUBMISSION_PENDING"
    ),
}


class SubmittedPackageSerializer(serializers.Serializer):
    udi_di = serializers.CharField(max_length=200)
    units_per_package = serializers.IntegerField(min_value=1, default=1)
    package_level = serializers.CharField(max_length=40, allow_blank=True, default="")


class SubmissionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    supplier_code = serializers.CharField()
    material_code = serializers.CharField(source="consumable.material_code")
    name = serializers.CharField(source="consumable.name")
    spec = serializers.CharField(source="consumable.spec")
    insurance_code = serializers.CharField(allow_null=True)
    registration_no = serializers.CharField()
    insurance_class = serializers.ChoiceField(
        INSURANCE_CLASS_CHOICES, allow_blank=True,
        help_text="covered 医保支付, restricted 限定支付, self_pay 自费; empty: not stated",
    )  # fmt: skip
    restriction = serializers.CharField(
        allow_blank=True, help_text="限定支付条件: the condition of a restricted item"
    )
    dis = SubmittedPackageSerializer(many=True, source="dis.all")
    status = serializers.ChoiceField(SupplierSubmission.Status.choices)
    # The published names of the review fields (reviews.models.Reviewed).
    submitted_at = serializers.DateTimeField(source="proposed_at")
    reviewed_at = serializers.DateTimeField(source="decided_at", allow_null=True)
    decision_reason = serializers.CharField()


class SupplierApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (roles.SUPPLIER,)


class SupplierProductListApi(SupplierApi):
    """GET /api/v1/supplier/products: your suppliers' products and their live codes."""

    class SupplierProductOutputSerializer(serializers.Serializer):
        supplier_code = serializers.CharField()
        supplier_item_code = serializers.CharField()
        material_code = serializers.CharField(source="consumable.material_code")
        name = serializers.CharField(source="consumable.name")
        spec = serializers.CharField(source="consumable.spec")
        insurance_code = serializers.CharField(source="consumable.insurance_code", allow_null=True)
        registration_no = serializers.CharField(source="consumable.registration_no")
        insurance_class = serializers.ChoiceField(
            INSURANCE_CLASS_CHOICES, source="consumable.insurance_class"
        )
        restriction = serializers.CharField(source="consumable.insurance_restriction")
        dis = SubmittedPackageSerializer(many=True, source="consumable.live_dis")
        last_submission_id = serializers.IntegerField(allow_null=True)
        last_status = serializers.CharField(allow_null=True)

    @extend_schema(responses={200: SupplierProductOutputSerializer(many=True), 403: ERRORS[403]})
    def get(self, request):
        products = products_of(request.user)
        return Response(self.SupplierProductOutputSerializer(products, many=True).data)


class SupplierSubmissionListApi(SupplierApi):
    """GET: your suppliers' submissions, newest first. POST: submit one product's codes and
    insurance class (with its payment restriction)."""

    class SubmissionInputSerializer(serializers.Serializer):
        material_code = serializers.CharField(max_length=64)
        supplier_code = serializers.CharField(max_length=32, required=False, allow_blank=True)
        insurance_code = serializers.CharField(
            max_length=40, required=False, allow_blank=True, allow_null=True
        )
        registration_no = serializers.CharField(max_length=200)
        insurance_class = serializers.ChoiceField(
            INSURANCE_CLASS_CHOICES, required=False, allow_blank=True, allow_null=True,
            help_text="covered 医保支付, restricted 限定支付, self_pay 自费; omit to leave "
            "the item's class as it is",
        )  # fmt: skip
        restriction = serializers.CharField(
            max_length=300, required=False, allow_blank=True, allow_null=True,
            help_text="限定支付条件: required with insurance_class restricted, refused otherwise",
        )  # fmt: skip
        dis = SubmittedPackageSerializer(many=True, required=False, default=list)

    @extend_schema(responses={200: SubmissionOutputSerializer(many=True), 403: ERRORS[403]})
    def get(self, request):
        submissions = submissions_of(request.user)[:500]
        return Response(SubmissionOutputSerializer(submissions, many=True).data)

    @extend_schema(
        request=SubmissionInputSerializer,
        responses={201: SubmissionOutputSerializer, **ERRORS},
    )
    def post(self, request):
        serializer = self.SubmissionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        submission = submission_create(
            user=request.user,
            material_code=data["material_code"],
            supplier_code=data.get("supplier_code") or None,
            insurance_code=data.get("insurance_code"),
            registration_no=data["registration_no"],
            dis=data["dis"],
            insurance_class=data.get("insurance_class"),
            restriction=data.get("restriction"),
        )
        return Response(
            SubmissionOutputSerializer(submission).data, status=status.HTTP_201_CREATED
        )


class SupplierSubmissionDetailApi(SupplierApi):
    """GET /api/v1/supplier/submissions/{id}: one of your suppliers' submissions."""

    @extend_schema(responses={200: SubmissionOutputSerializer, 404: ERRORS[404]})
    def get(self, request, submission_id: int):
        submission = get_object_or_404(submissions_of(request.user), pk=submission_id)
        return Response(SubmissionOutputSerializer(submission).data)
