"""Reconciliation endpoints (docs/contract.md): run or queue a day, its status, rows, exceptions."""

import datetime as dt

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from kombu.exceptions import OperationalError as BrokerError
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import errors, reconciliation, tasks
from billing.api import reconciliation_schema as doc
from billing.models import ExceptionRow, ReconciliationRun, VarianceRow
from config import roles
from config.errors import DomainError
from config.permissions import HasRole

FIRST_DAY = dt.date(2000, 1, 1)


class ReconciliationApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (roles.FINANCE, roles.INSURANCE_OFFICE)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def run_payload(run: ReconciliationRun) -> dict:
    """``status`` is the latest attempt's; ``computed_at``, ``totals`` and the rows are the
    stored result's, which a failed or interrupted attempt leaves as they were."""
    return {
        "date": run.date.isoformat(),
        "status": run.status,
        "requested_at": _iso(run.requested_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "computed_at": _iso(run.computed_at),
        "attempts": run.attempts,
        "error": run.error or None,
        "threshold_pct": None if run.threshold_pct is None else str(run.threshold_pct),
        "totals": run.totals,
    }


class RunCreateApi(ReconciliationApi):
    class RunInputSerializer(serializers.Serializer):
        date = serializers.DateField()

        def validate_date(self, value: dt.date) -> dt.date:
            # A business day that has begun: nothing to reconcile after today.
            if not FIRST_DAY <= value <= timezone.localdate():
                raise serializers.ValidationError(
                    f"营业日须在 {FIRST_DAY} 与今天之间 / the day must be between {FIRST_DAY} "
                    "and today"
                )
            return value

    @extend_schema(request=RunInputSerializer, responses=doc.RUN_CREATE)
    def post(self, request):
        serializer = self.RunInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        day: dt.date = serializer.validated_data["date"]
        try:
            run, queued, failure = tasks.run_or_queue_day(day)
        except BrokerError as error:
            detail = run_payload(ReconciliationRun.objects.get(date=day))
            raise errors.broker_unavailable(detail) from error
        if failure is not None:
            raise DomainError("RECONCILIATION_FAILED", detail=run_payload(run)) from failure
        answer = status.HTTP_202_ACCEPTED if queued else status.HTTP_201_CREATED
        return Response(run_payload(run), status=answer)


class RunDetailApi(ReconciliationApi):
    @extend_schema(responses=doc.RUN_DETAIL)
    def get(self, request, date):
        run = get_object_or_404(ReconciliationRun, date=date)
        # A run whose worker died says "running" until someone looks: look before answering.
        return Response(run_payload(reconciliation.recover_stale_run(run)))


class VarianceListApi(ReconciliationApi):
    FIELDS = [
        "department_code",
        "material_code",
        "received",
        "issued",
        "used",
        "billed",
        "variance_qty",
        "variance_amount",
        "variance_pct",
    ]

    @extend_schema(responses=doc.VARIANCES)
    def get(self, request, date):
        run = get_object_or_404(ReconciliationRun, date=date)
        rows = VarianceRow.objects.filter(run=run).values_list(*self.FIELDS)
        return Response(
            [
                {
                    "department": dept,
                    "material_code": material,
                    "received": received,
                    "issued": issued,
                    "used": used,
                    "billed": billed,
                    "variance_qty": qty,
                    "variance_amount": str(amount),
                    "variance_pct": None if pct is None else str(pct),
                }
                for dept, material, received, issued, used, billed, qty, amount, pct in rows
            ]
        )


class ExceptionListApi(ReconciliationApi):
    @extend_schema(parameters=[doc.KIND_FILTER], responses=doc.EXCEPTIONS)
    def get(self, request, date):
        run = get_object_or_404(ReconciliationRun, date=date)
        rows = ExceptionRow.objects.filter(run=run)
        kind = request.query_params.get("kind")
        if kind:
            rows = rows.filter(kind=kind)
        return Response(
            [
                {
                    "kind": row.kind,
                    "department": row.department_code or None,
                    "material_code": row.material_code or None,
                    "encounter": row.encounter_no or None,
                    "quantity": row.quantity,
                    "ref": row.ref,
                    "detail": row.detail,
                }
                for row in rows
            ]
        )
