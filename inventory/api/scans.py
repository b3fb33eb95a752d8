"""REST API of the inventory app: POST /api/v1/scans (docs/contract.md)."""

from functools import cache

from django.db.models import Exists, OuterRef
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from config import roles
from config.event_times import EventTimeField
from config.permissions import HasRole, has_role
from consumables.api import ConsumableCodesSerializer
from inventory.models import Receipt
from inventory.services.scans import (
    ACTIONS,
    ScanRequest,
    ScanResult,
    active_departments,
    scan_record,
)
from organisation.models import Department
from organisation.selectors import visible_departments

ACTION_ROLES = {
    "receive": (roles.STOREKEEPER,),
    "issue": (roles.STOREKEEPER,),
    "scrap": (roles.STOREKEEPER, roles.NURSE),
    "use": (roles.NURSE,),
    "return": (roles.NURSE, roles.STOREKEEPER),
}


def refuse_unless_allowed(user, data: dict) -> Department | None:
    """Role per action, and the department where it happens must be the user's own
    (for an issue: the store it leaves). Returns the department it read (with its
    location), for ``scan_record`` to use when it is the scan's own."""
    if not has_role(user, *ACTION_ROLES[data["action"]], roles.ADMINISTRATOR):
        raise PermissionDenied("该角色不能执行此扫码操作 / Your role may not do this scan")
    where = data.get("from_department") if data["action"] == "issue" else data["department"]
    if not where:
        return None
    # An unknown department is answered by the service (UNKNOWN_DEPARTMENT). One query,
    # the department with whether it is one of the user's.
    departments = active_departments(where)
    administrator = has_role(user, roles.ADMINISTRATOR)
    if not administrator:
        mine = visible_departments(user).filter(pk=OuterRef("pk"))
        departments = departments.annotate(mine=Exists(mine))
    department = departments.first()
    if department is not None and not administrator and not department.mine:
        raise PermissionDenied("只能在本人所属科室操作 / Only in your own departments")
    return department


class ScanChargeSerializer(serializers.Serializer):
    """The charge line a use of a chargeable item created (docs/contract.md)."""

    id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    self_pay = serializers.BooleanField()


class ScanMoveSerializer(serializers.Serializer):
    lot = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField()


class ScanReceiptSerializer(serializers.Serializer):
    invoice_no = serializers.CharField(allow_blank=True, allow_null=True)
    ownership = serializers.CharField()


class ScanApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (roles.NURSE, roles.STOREKEEPER)
    throttle_scope = "scans"  # per user, REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    class ScanInputSerializer(serializers.Serializer):
        event_id = serializers.UUIDField()
        action = serializers.ChoiceField(ACTIONS)
        code = serializers.CharField(max_length=1024, trim_whitespace=False)
        department = serializers.CharField(max_length=32)
        from_department = serializers.CharField(max_length=32, required=False)
        to_department = serializers.CharField(max_length=32, required=False)
        quantity = serializers.IntegerField(min_value=1, max_value=100000, required=False)
        encounter = serializers.CharField(max_length=64, required=False)
        order = serializers.CharField(max_length=64, required=False)
        occurred_at = EventTimeField(required=False)
        supplier = serializers.CharField(max_length=32, required=False)
        invoice_no = serializers.CharField(max_length=64, required=False)
        unit_cost = serializers.DecimalField(
            max_digits=14, decimal_places=4, min_value=0, required=False
        )
        ownership = serializers.ChoiceField(Receipt.Ownership.values, required=False)
        reason = serializers.CharField(max_length=200, required=False)

    class ScanOutputSerializer(serializers.Serializer):
        """Renders a ``ScanResult``. The fields of some actions only are left out of the
        answers of the others (``required=False``), not sent as null."""

        event_id = serializers.UUIDField()
        action = serializers.CharField()
        quantity = serializers.IntegerField()
        consumable = ConsumableCodesSerializer(source="resolution")
        lot = serializers.CharField(allow_null=True)
        expiry = serializers.DateField(allow_null=True)
        serial = serializers.CharField(allow_null=True)
        hospital_barcode = serializers.CharField(allow_null=True)
        charge = ScanChargeSerializer(allow_null=True)
        labels = serializers.ListField(child=serializers.CharField(), required=False)
        moves = ScanMoveSerializer(many=True, required=False)
        encounter = serializers.CharField(required=False, help_text="use / return")
        from_department = serializers.CharField(required=False, help_text="issue")
        to = serializers.CharField(required=False, help_text="return: where it went back")
        receipt = ScanReceiptSerializer(required=False, help_text="receive")
        warnings = serializers.ListField(child=serializers.CharField())

        def to_representation(self, result):
            answer = super().to_representation(result)
            for name, field in self.fields.items():
                if not field.required and answer[name] is None:
                    del answer[name]
            return answer

    @extend_schema(
        summary="扫码：入库、出库、使用、退回、报损 / Scan: receive, issue, use, return, scrap",
        request=ScanInputSerializer,
        responses={
            201: ScanOutputSerializer,
            200: ScanOutputSerializer,
            400: OpenApiResponse(description="VALIDATION_ERROR / UNREADABLE_CODE"),
            404: OpenApiResponse(description="UNKNOWN_CODE / UNKNOWN_DEPARTMENT"),
            409: OpenApiResponse(description="EXPIRED, RECALLED, NOT_IN_STOCK, EVENT_ID_REUSED…"),
        },
    )
    def post(self, request):
        serializer = self.ScanInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        department = refuse_unless_allowed(request.user, serializer.validated_data)
        outcome = scan_record(
            request=ScanRequest(**serializer.validated_data),
            user=request.user,
            answer=scan_answer,
            department=department,
        )
        # The answer as rendered when the scan was recorded, and stored with it: a replay
        # gets the same body (``idempotency.run_once``).
        return Response(outcome.body, status=outcome.status)


def scan_answer(result: ScanResult) -> dict:
    """The answer of a scan (docs/contract.md): its ``ScanResult`` rendered."""
    return _scan_renderer().to_representation(result)


@cache
def _scan_renderer() -> serializers.Serializer:
    # One output serializer per process, its fields bound once: DRF deep-copies every
    # declared field of a new serializer, so rendering a use's answer took 0.48 ms of CPU
    # with a new one and takes 0.04 ms with this one (measured on a busy two-CPU machine).
    # Rendering only reads the serializer, so one instance serves every request.
    return ScanApi.ScanOutputSerializer()
