"""HIS feed (docs/contract.md): encounters, discharge, doctor orders, charges and refunds."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import ChargeLine, DoctorOrder, Encounter, Patient
from billing.services.charges import charge_refund_record, his_charge_record
from billing.services.encounters import encounter_discharge, encounter_upsert, order_upsert
from config import roles
from config.bounds import decimal_bounds, integer_bounds, max_length
from config.event_times import EventTimeField
from config.permissions import HasRole


class EncounterFeedOutputSerializer(serializers.Serializer):
    visit_no = serializers.CharField()
    created = serializers.BooleanField(help_text="false: an update of a known visit")
    recheck = serializers.DictField(
        required=False,
        help_text="after a change of insurance_type: insurance_change (old → new), "
        "self_pay_changed (open lines whose self-pay share the new type changes: charge, "
        "material_code, self_pay as charged, self_pay_now) and findings (consent, "
        "restricted items) of the open lines",
    )


class DischargeOutputSerializer(serializers.Serializer):
    visit_no = serializers.CharField()
    discharged_at = serializers.DateTimeField()


class OrderFeedOutputSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    created = serializers.BooleanField()


class FeedChargeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    self_pay = serializers.BooleanField()


class BoundaryFindingSerializer(serializers.Serializer):
    kind = serializers.CharField()
    material_code = serializers.CharField()
    quantity = serializers.IntegerField()
    ref = serializers.CharField(required=False, help_text="charge:<id>; absent in a refusal")
    action = serializers.CharField(help_text="what to do, in Chinese")
    explanation = serializers.CharField(help_text="what is wrong and what to do, in Chinese")


class ChargeOutputSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    charge = FeedChargeSerializer()
    encounter = serializers.CharField()
    material_code = serializers.CharField()
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="the boundary checks the charge fails (PRICE_MISMATCH, CHARGE_WITHOUT_ORDER, "
        "SELF_PAY_WITHOUT_CONSENT, SPLIT_CHARGE, ...): recorded with a warning",
    )
    findings = BoundaryFindingSerializer(many=True)


class InsuranceRecheckSerializer(serializers.Serializer):
    insurance_change = serializers.CharField(help_text="e.g. 自费 → 职工医保")
    self_pay_changed = serializers.ListField(child=serializers.DictField())
    findings = BoundaryFindingSerializer(many=True)


class RefundOutputSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    charge = serializers.IntegerField()
    refund = serializers.IntegerField()
    quantity = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


REPLAY = "the same event_id again: the first answer"

# docs/contract.md: a visit number is 1-32 of A-Z a-z 0-9 - _ (it is a path segment of the pages
# and of the API, and a file name of the exports).
VISIT_NO_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
# A quantity HIS may send in one message: far below the column. Whether a quantity at its
# price fits an amount is checked in services.charges.money, for scans and HIS alike.
MAX_FEED_QUANTITY = 100_000


def visit_no_field(**kwargs):
    return serializers.RegexField(
        VISIT_NO_PATTERN,
        max_length=32,
        error_messages={
            "invalid": _("住院号须为 1-32 位字母、数字、- 或 _ / "
                         "A visit number is 1-32 letters, digits, - or _")
        },
        help_text="1-32 of A-Z a-z 0-9 - _",
        **kwargs,
    )


def feed_quantity(model, name):
    return serializers.IntegerField(
        **{**integer_bounds(model, name), "min_value": 1, "max_value": MAX_FEED_QUANTITY}
    )


class HisFeedApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (roles.INTEGRATION,)


class EncounterApi(HisFeedApi):
    class EncounterInputSerializer(serializers.Serializer):
        visit_no = visit_no_field()
        patient_id = serializers.CharField(max_length=max_length(Patient, "patient_id"))
        patient_name = serializers.CharField(max_length=max_length(Patient, "name"))
        # A string, one of the hospital's configured types (billing.InsuranceType); an
        # unknown one is refused by the service with the list (insurance_type_or_refuse).
        insurance_type = serializers.CharField(
            max_length=max_length(Encounter, "insurance_type"),
            help_text="one of the hospital's configured insurance types "
            "(职工医保, 居民医保, 离休, 工伤保险, 生育保险, 自费, and those it adds)",
        )
        department = serializers.CharField(max_length=32)
        admitted_at = serializers.DateTimeField()
        psn_no = serializers.CharField(
            max_length=max_length(Encounter, "psn_no"),
            required=False,
            help_text="人员编号: the insured person's number at the insurance platform "
            "(the platform's sale records carry it); absent: kept as it was",
        )

    @extend_schema(
        summary="HIS：就诊登记或更新 / HIS: register or update an encounter",
        request=EncounterInputSerializer,
        examples=[
            OpenApiExample(
                "入院 / admission",
                request_only=True,
                value={
                    "visit_no": "ZY20260301",
                    "patient_id": "P0301",
                    "patient_name": "张三",
                    "insurance_type": "职工医保",
                    "department": "XNK",
                    "admitted_at": "2026-03-01T08:30:00+08:00",
                },
            )
        ],
        responses={
            201: OpenApiResponse(EncounterFeedOutputSerializer, description="created"),
            200: OpenApiResponse(
                EncounterFeedOutputSerializer, description="updated, or the same post again"
            ),
            400: OpenApiResponse(
                description="VALIDATION_ERROR; an insurance type that is not configured: "
                "reason UNKNOWN_INSURANCE_TYPE, detail.configured lists the types"
            ),
            404: OpenApiResponse(description="UNKNOWN_DEPARTMENT"),
            409: OpenApiResponse(
                description="ENCOUNTER_CONFLICT (the visit number belongs to another patient), "
                "ENCOUNTER_CLOSED (a change to a discharged encounter)"
            ),
        },
    )
    def post(self, request):
        serializer = self.EncounterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        encounter, created = encounter_upsert(**serializer.validated_data)
        body = {"visit_no": encounter.visit_no, "created": created}
        if getattr(encounter, "insurance_recheck", None) is not None:
            body["recheck"] = encounter.insurance_recheck
        return Response(
            body,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DischargeApi(HisFeedApi):
    class DischargeInputSerializer(serializers.Serializer):
        discharged_at = EventTimeField(required=False)
        setl_id = serializers.CharField(
            max_length=max_length(Encounter, "setl_id"),
            required=False,
            help_text="结算ID: the insurance settlement's id (denials name it); may come with "
            "a later discharge post",
        )

    @extend_schema(
        summary="HIS：出院 / HIS: discharge",
        request=DischargeInputSerializer,
        responses={
            200: DischargeOutputSerializer,
            404: OpenApiResponse(description="UNKNOWN_ENCOUNTER"),
            409: OpenApiResponse(
                description="OPEN_FINDINGS: findings of the kinds in DISCHARGE_GATE_KINDS stand "
                "(detail.findings: kind, material_code, quantity, ref, explanation)"
            ),
        },
    )
    def post(self, request, visit_no):
        serializer = self.DischargeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        encounter = encounter_discharge(
            visit_no=visit_no,
            discharged_at=serializer.validated_data.get("discharged_at") or timezone.now(),
            setl_id=serializer.validated_data.get("setl_id", ""),
        )
        return Response({"visit_no": encounter.visit_no, "discharged_at": encounter.discharged_at})


class OrderApi(HisFeedApi):
    class OrderInputSerializer(serializers.Serializer):
        order_id = serializers.CharField(max_length=max_length(DoctorOrder, "order_id"))
        encounter = serializers.CharField(max_length=max_length(Encounter, "visit_no"))
        order_code = serializers.CharField(max_length=max_length(DoctorOrder, "order_code"))
        quantity = feed_quantity(DoctorOrder, "quantity")
        ordered_at = serializers.DateTimeField()
        doctor = serializers.CharField(
            max_length=max_length(DoctorOrder, "doctor"), required=False, default=""
        )

    @extend_schema(
        summary="HIS：医嘱 / HIS: doctor order",
        request=OrderInputSerializer,
        examples=[
            OpenApiExample(
                "耗材医嘱 / an order for a consumable",
                request_only=True,
                value={
                    "order_id": "YZ20260301001",
                    "encounter": "ZY001",
                    "order_code": "YZ00000001",
                    "quantity": 1,
                    "ordered_at": "2026-03-01T09:00:00+08:00",
                    "doctor": "李医生",
                },
            )
        ],
        responses={
            201: OpenApiResponse(OrderFeedOutputSerializer, description="created"),
            200: OpenApiResponse(OrderFeedOutputSerializer, description="updated"),
            404: OpenApiResponse(description="UNKNOWN_ENCOUNTER"),
            409: OpenApiResponse(
                description="ENCOUNTER_CLOSED (a new or changed order on a discharged "
                "encounter), ORDER_CONFLICT (the order_id belongs to another encounter)"
            ),
        },
    )
    def post(self, request):
        serializer = self.OrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order, created = order_upsert(**serializer.validated_data)
        return Response(
            {"order_id": order.order_id, "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ChargeApi(HisFeedApi):
    class ChargeInputSerializer(serializers.Serializer):
        event_id = serializers.UUIDField()
        encounter = serializers.CharField(max_length=max_length(Encounter, "visit_no"))
        charge_code = serializers.CharField(max_length=max_length(ChargeLine, "charge_code"))
        quantity = feed_quantity(ChargeLine, "quantity")
        unit_price = serializers.DecimalField(
            **decimal_bounds(ChargeLine, "unit_price"), min_value=0
        )
        charged_at = EventTimeField()
        order = serializers.CharField(
            max_length=max_length(DoctorOrder, "order_id"), required=False, allow_null=True
        )

    @extend_schema(
        summary="HIS：计费 / HIS: a charge keyed in at HIS",
        request=ChargeInputSerializer,
        responses={
            201: OpenApiResponse(ChargeOutputSerializer, description="recorded"),
            200: OpenApiResponse(ChargeOutputSerializer, description=REPLAY),
            404: OpenApiResponse(description="UNKNOWN_ENCOUNTER, UNKNOWN_CODE (charge code)"),
            409: OpenApiResponse(
                description="ENCOUNTER_CLOSED, EVENT_ID_REUSED, CHARGE_REFUSED (a boundary "
                "check the hospital refuses: HIS_CHARGE_REFUSE)"
            ),
        },
    )
    def post(self, request):
        serializer = self.ChargeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = his_charge_record(**serializer.validated_data, user=request.user)
        return Response(outcome.body, status=outcome.status)


class RefundApi(HisFeedApi):
    class RefundInputSerializer(serializers.Serializer):
        event_id = serializers.UUIDField()
        quantity = feed_quantity(ChargeLine, "refunded_quantity")
        refunded_at = EventTimeField()

    @extend_schema(
        summary="HIS：退费 / HIS: refund a charge",
        request=RefundInputSerializer,
        responses={
            201: OpenApiResponse(RefundOutputSerializer, description="recorded"),
            200: OpenApiResponse(RefundOutputSerializer, description=REPLAY),
            404: OpenApiResponse(description="NOT_FOUND: no such charge"),
            409: OpenApiResponse(description="more than is left to refund, EVENT_ID_REUSED"),
        },
    )
    def post(self, request, charge_id):
        serializer = self.RefundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = charge_refund_record(
            charge_id=charge_id, **serializer.validated_data, user=request.user
        )
        return Response(outcome.body, status=outcome.status)
