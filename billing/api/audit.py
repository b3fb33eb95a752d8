"""``GET /api/v1/encounters/{visit_no}/audit``: the pre-discharge audit (出院预审核).

The same items and findings as the page ``/billing/audit/<visit_no>/`` and, for the same
cut-off, as the nightly reconciliation (``billing.rules``).
"""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.selectors import ward as selectors
from billing.services.encounters import gated_findings
from config import roles
from config.permissions import HasRole

AUDIT_ROLES = (roles.NURSE, roles.INSURANCE_OFFICE, roles.FINANCE)


class EncounterOutputSerializer(serializers.Serializer):
    visit_no = serializers.CharField()
    department = serializers.CharField(source="department.code")
    department_name = serializers.CharField(source="department.name")
    insurance_type = serializers.CharField()
    admitted_at = serializers.DateTimeField()
    discharged_at = serializers.DateTimeField(allow_null=True)


class OrderOutputSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    order_code = serializers.CharField()
    quantity = serializers.IntegerField()
    ordered_at = serializers.DateTimeField()
    doctor = serializers.CharField()


class ItemOutputSerializer(serializers.Serializer):
    material_code = serializers.CharField()
    name = serializers.CharField()
    spec = serializers.CharField()
    unit = serializers.CharField()
    charge_code = serializers.CharField(allow_null=True)
    order_code = serializers.CharField(allow_null=True)
    insurance_code = serializers.CharField(allow_null=True)
    tracking = serializers.CharField()
    billed_by = serializers.CharField()
    chargeable = serializers.BooleanField()
    used = serializers.IntegerField()
    returned = serializers.IntegerField()
    net_used = serializers.IntegerField()
    charged = serializers.IntegerField()
    refunded = serializers.IntegerField()
    net_charged = serializers.IntegerField()
    ordered = serializers.IntegerField()
    orders = OrderOutputSerializer(many=True)


class FindingOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    encounter = serializers.CharField()
    department = serializers.CharField()
    material_code = serializers.CharField()
    quantity = serializers.IntegerField()
    ref = serializers.CharField()
    detail = serializers.DictField()
    label = serializers.CharField()
    explanation = serializers.CharField()
    action = serializers.CharField()


class PatientOutputSerializer(serializers.Serializer):
    patient_id = serializers.CharField()
    name = serializers.CharField(help_text="masked (张*) for roles that do not need it")


class AuditOutputSerializer(serializers.Serializer):
    encounter = EncounterOutputSerializer()
    patient = PatientOutputSerializer()
    until = serializers.DateTimeField()
    items = ItemOutputSerializer(many=True)
    findings = FindingOutputSerializer(many=True)
    discharge_held = FindingOutputSerializer(
        many=True,
        help_text="the findings that hold the discharge (DISCHARGE_GATE_KINDS; empty when "
        "the gate is off, nothing is held or the encounter is discharged)",
    )


class EncounterAuditApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = AUDIT_ROLES

    @extend_schema(
        summary="出院预审核 / Pre-discharge audit of an encounter",
        responses={
            200: AuditOutputSerializer,
            403: OpenApiResponse(description="PERMISSION_DENIED: not a patient of your wards"),
            404: OpenApiResponse(description="UNKNOWN_ENCOUNTER"),
        },
    )
    def get(self, request, visit_no):
        try:
            encounter = selectors.encounter_for_reader(visit_no=visit_no, user=request.user)
        except PermissionDenied as denied:  # the API's error body, not Django's 403 page
            raise exceptions.PermissionDenied(str(denied)) from denied
        audit = selectors.encounter_audit(encounter=encounter)
        held = [] if encounter.discharged_at else gated_findings(encounter, found=audit.findings)
        patient = encounter.patient
        return Response(
            {
                "encounter": EncounterOutputSerializer(encounter).data,
                "patient": {
                    "patient_id": patient.patient_id,
                    "name": selectors.patient_name_for(request.user, patient.name),
                },
                "until": serializers.DateTimeField().to_representation(audit.until),
                "items": ItemOutputSerializer(audit.items, many=True).data,
                "findings": FindingOutputSerializer(audit.findings, many=True).data,
                "discharge_held": FindingOutputSerializer(held, many=True).data,
            }
        )
