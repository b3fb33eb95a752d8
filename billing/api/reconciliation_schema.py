"""OpenAPI descriptions of the reconciliation endpoints' bodies (billing/api/reconciliation.py)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class RunOutputSerializer(serializers.Serializer):
    date = serializers.DateField()
    status = serializers.ChoiceField(["queued", "running", "succeeded", "failed"])
    requested_at = serializers.DateTimeField(allow_null=True, required=False)
    started_at = serializers.DateTimeField(allow_null=True, required=False)
    finished_at = serializers.DateTimeField(allow_null=True, required=False)
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="when the stored result was computed; null: none yet"
    )
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    threshold_pct = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    totals = serializers.JSONField(help_text="counts of rows and of exceptions by kind")


class VarianceOutputSerializer(serializers.Serializer):
    department = serializers.CharField()
    material_code = serializers.CharField()
    received = serializers.IntegerField()
    issued = serializers.IntegerField()
    used = serializers.IntegerField(help_text="uses - returns from patients")
    billed = serializers.IntegerField(help_text="charged - refunded")
    variance_qty = serializers.IntegerField()
    variance_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    variance_pct = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)


class ExceptionOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="UNBILLED_USE, CHARGE_WITHOUT_USE, ... (docs/contract.md)"
    )
    department = serializers.CharField(allow_null=True)
    material_code = serializers.CharField(allow_null=True)
    encounter = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField(allow_null=True)
    ref = serializers.CharField(allow_blank=True)
    detail = serializers.JSONField()


NO_RUN = OpenApiResponse(description="NOT_FOUND: that day has not been run")
RUN_CREATE = {
    201: OpenApiResponse(RunOutputSerializer, description="ran in-process (no broker)"),
    202: OpenApiResponse(RunOutputSerializer, description="queued for the worker"),
    503: OpenApiResponse(description="BROKER_UNAVAILABLE: retry later"),
}
RUN_DETAIL = {200: RunOutputSerializer, 404: NO_RUN}
VARIANCES = {200: VarianceOutputSerializer(many=True), 404: NO_RUN}
EXCEPTIONS = {200: ExceptionOutputSerializer(many=True), 404: NO_RUN}
KIND_FILTER = OpenApiParameter(
    "kind", str, description="only exceptions of this kind (e.g. UNBILLED_USE)", required=False
)
