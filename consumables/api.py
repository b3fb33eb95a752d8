"""REST API of the consumables app (docs/contract.md: code resolution)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config import roles
from config.permissions import HasRole

from .resolve import Resolution, resolve_code

# Who looks codes up: the scanning roles and the offices that check codes. Not suppliers
# (they see only their own submissions) nor integration accounts.
RESOLVE_ROLES = (
    roles.NURSE,
    roles.STOREKEEPER,
    roles.PROCUREMENT,
    roles.PRICING_OFFICE,
    roles.FINANCE,
    roles.INSURANCE_OFFICE,
)


class ConsumableCodesSerializer(serializers.Serializer):
    """The consumable object of docs/contract.md: its five codes, name and spec.

    Renders a ``Resolution``: the consumable a code names and the DI it was scanned by."""

    material_code = serializers.CharField(source="consumable.material_code")
    charge_code = serializers.CharField(source="consumable.charge_code", allow_null=True)
    order_code = serializers.CharField(source="consumable.order_code", allow_null=True)
    insurance_code = serializers.CharField(source="consumable.insurance_code", allow_null=True)
    udi_di = serializers.CharField(allow_null=True)
    name = serializers.CharField(source="consumable.name")
    spec = serializers.CharField(source="consumable.spec")


def consumable_payload(consumable, udi_di: str | None) -> dict | None:
    if consumable is None:
        return None
    return {
        "material_code": consumable.material_code,
        "charge_code": consumable.charge_code,
        "order_code": consumable.order_code,
        "insurance_code": consumable.insurance_code,
        "udi_di": udi_di,
        "name": consumable.name,
        "spec": consumable.spec,
    }


def resolution_payload(resolution: Resolution) -> dict:
    parsed = resolution.parsed
    return {
        "issuer": parsed.issuer,
        "di": parsed.di if parsed.issuer != "internal" else resolution.udi_di,
        "lot": resolution.lot,
        "serial": parsed.serial,
        "expiry": resolution.expiry.isoformat() if resolution.expiry else None,
        "production_date": (parsed.production_date.isoformat() if parsed.production_date else None),
        "units_per_package": resolution.units_per_package,
        "consumable": consumable_payload(resolution.consumable, resolution.udi_di),
        "warnings": list(parsed.warnings),
    }


class CodeResolveApi(APIView):
    """POST /api/v1/codes/resolve: read-only; records nothing."""

    permission_classes = [HasRole]
    allowed_roles = RESOLVE_ROLES

    class ResolveInputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=1024, trim_whitespace=False)

    class ResolveOutputSerializer(serializers.Serializer):
        issuer = serializers.ChoiceField(["gs1", "ma", "ahm", "hibc", "hospital", "internal"])
        di = serializers.CharField(allow_null=True)
        lot = serializers.CharField(allow_null=True)
        serial = serializers.CharField(allow_null=True)
        expiry = serializers.DateField(allow_null=True)
        production_date = serializers.DateField(allow_null=True)
        units_per_package = serializers.IntegerField(allow_null=True)
        consumable = ConsumableCodesSerializer(allow_null=True)
        warnings = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        request=ResolveInputSerializer,
        responses={
            200: ResolveOutputSerializer,
            400: OpenApiResponse(description="UNREADABLE_CODE / VALIDATION_ERROR"),
            409: OpenApiResponse(description="AMBIGUOUS_CODE"),
        },
    )
    def post(self, request):
        serializer = self.ResolveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resolution = resolve_code(serializer.validated_data["code"])
        return Response(resolution_payload(resolution))
