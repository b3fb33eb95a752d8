"""POST /api/v1/consents: record a self-pay informed consent (自费知情同意) at the bedside.

``{"encounter": visit_no, "code": any code of the item, "signed_by", "relationship",
"signed_at"?}`` -> ``201`` recorded, ``200`` already on record (the first one, unchanged).
Nurses record consents for the patients of their own wards (a theatre nurse for any
patient: theatres take the patients of every ward); administrators for anyone.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import errors
from billing.models import Consent, Encounter
from billing.services.consent import RELATIONSHIPS, consent_record
from config import roles
from config.permissions import HasRole, has_role
from consumables.resolve import resolve_code
from inventory import errors as stock_errors
from organisation.models import Department
from organisation.selectors import visible_departments


def refuse_unless_may_record(user, encounter: Encounter) -> None:
    if has_role(user, roles.ADMINISTRATOR):
        return
    mine = visible_departments(user)
    if mine.filter(pk=encounter.department_id).exists():
        return
    if mine.filter(kind=Department.Kind.THEATRE).exists():
        return
    raise PermissionDenied("该患者不在您的病区 / This patient is not on your ward")


def consent_payload(consent: Consent) -> dict:
    consumable = consent.consumable
    return {
        "id": consent.pk,
        "encounter": consent.encounter.visit_no,
        "material_code": consumable.material_code,
        "name": consumable.name,
        "spec": consumable.spec,
        "insurance_class": consumable.insurance_class,
        "signed_by": consent.signed_by,
        "relationship": consent.relationship,
        "signed_at": consent.signed_at.isoformat(),
        "recorded_by": consent.recorded_by.username if consent.recorded_by else None,
    }


class ConsentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    encounter = serializers.CharField()
    material_code = serializers.CharField()
    name = serializers.CharField()
    spec = serializers.CharField()
    insurance_class = serializers.CharField()
    signed_by = serializers.CharField()
    relationship = serializers.ChoiceField(RELATIONSHIPS)
    signed_at = serializers.DateTimeField()
    recorded_by = serializers.CharField(allow_null=True)


class ConsentApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (roles.NURSE,)

    class ConsentInputSerializer(serializers.Serializer):
        encounter = serializers.CharField(max_length=64)
        code = serializers.CharField(max_length=1024, trim_whitespace=False)
        signed_by = serializers.CharField(max_length=100)
        relationship = serializers.ChoiceField(RELATIONSHIPS)
        signed_at = serializers.DateTimeField(required=False)

    @extend_schema(
        summary="登记自费知情同意 / Record a self-pay consent",
        request=ConsentInputSerializer,
        responses={
            201: OpenApiResponse(ConsentOutputSerializer, description="recorded"),
            200: OpenApiResponse(
                ConsentOutputSerializer, description="already on record: the first consent"
            ),
            403: OpenApiResponse(description="PERMISSION_DENIED: not your ward's patient"),
            404: OpenApiResponse(description="UNKNOWN_ENCOUNTER / UNKNOWN_CODE"),
            409: OpenApiResponse(description="ENCOUNTER_CLOSED / AMBIGUOUS_CODE"),
        },
    )
    def post(self, request):
        serializer = self.ConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        encounter = (
            Encounter.objects.select_related("department")
            .filter(visit_no=data["encounter"])
            .first()
        )
        if encounter is None:
            raise errors.unknown_encounter(data["encounter"])
        refuse_unless_may_record(request.user, encounter)
        consumable = resolve_code(data["code"]).consumable
        if consumable is None:
            raise stock_errors.unknown_code(data["code"])
        consent, created = consent_record(
            encounter=encounter,
            consumable=consumable,
            signed_by=data["signed_by"],
            relationship=data["relationship"],
            signed_at=data.get("signed_at"),
            recorded_by=request.user,
        )
        return Response(
            consent_payload(consent),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
