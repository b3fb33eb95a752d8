"""The national platform's outbox for the insurance office and integrations (docs/contract.md):
a day's upload records, and a failed one sent again."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config import roles
from config.permissions import HasRole

from ..models import UploadRecord
from ..selectors import uploads as sel
from ..services.resend import resend

MAX_LIMIT = 5000


class UploadOutputSerializer(serializers.Serializer):
    """The OpenAPI description of one record (``record_payload`` builds it)."""

    id = serializers.IntegerField()
    txn = serializers.ChoiceField(UploadRecord.Txn.values)
    status = serializers.ChoiceField(UploadRecord.Status.values)
    business_day = serializers.DateField()
    ref = serializers.CharField(help_text="the move's event_id, move:<id> or stocktake:<id>")
    payload = serializers.JSONField(
        allow_null=True, help_text="the fields by their specification codes; null: not yet"
    )
    error = serializers.CharField(allow_null=True, help_text="the platform's message")
    error_code = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)


class UploadsApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (roles.INSURANCE_OFFICE, roles.INTEGRATION)


def record_payload(record: UploadRecord) -> dict:
    return {
        "id": record.pk,
        "txn": record.txn,
        "status": record.status,
        "business_day": record.business_day.isoformat(),
        "ref": sel.ref_of(record),
        "payload": record.payload,
        "error": record.error or None,
        "error_code": record.error_code or None,
        "attempts": record.attempts,
        "acknowledged_at": record.acknowledged_at.isoformat() if record.acknowledged_at else None,
    }


class UploadListApi(UploadsApi):
    class Query(serializers.Serializer):
        date = serializers.DateField()
        txn = serializers.ChoiceField(choices=UploadRecord.Txn.values, required=False)
        status = serializers.ChoiceField(choices=UploadRecord.Status.values, required=False)
        after = serializers.IntegerField(min_value=0, required=False, default=0)
        limit = serializers.IntegerField(
            min_value=1, max_value=MAX_LIMIT, required=False, default=1000
        )

    @extend_schema(
        summary="医保平台上传记录 / platform upload records of a business day",
        parameters=[
            OpenApiParameter("date", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter("txn", str, enum=UploadRecord.Txn.values),
            OpenApiParameter("status", str, enum=UploadRecord.Status.values),
            OpenApiParameter("after", int, description="records with a larger id (paging)"),
            OpenApiParameter("limit", int, description=f"at most this many (1..{MAX_LIMIT})"),
        ],
        responses={
            200: UploadOutputSerializer(many=True),
            400: OpenApiResponse(description="VALIDATION_ERROR: a bad date or filter"),
        },
    )
    def get(self, request):
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        rows = sel.day_records(q["date"], txn=q.get("txn", ""), status=q.get("status", ""))
        rows = rows.filter(pk__gt=q["after"])[: q["limit"]]
        return Response([record_payload(r) for r in rows])


class UploadResendApi(UploadsApi):
    allowed_roles = (roles.INSURANCE_OFFICE,)

    @extend_schema(
        summary="重新上传 / send a failed upload again",
        # No fields: the record is the URL's (an empty body or ``{}``).
        request={"application/json": {"type": "object", "properties": {}}},
        responses={
            200: UploadOutputSerializer,
            404: OpenApiResponse(description="NOT_FOUND: no such upload"),
            409: OpenApiResponse(description="UPLOAD_NOT_FAILED: only a failed upload"),
        },
    )
    def post(self, request, upload_id: int):
        record = resend(record_id=upload_id, user=request.user)
        return Response(record_payload(record))
