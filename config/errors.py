"""Domain errors with stable codes (docs/contract.md) and their JSON rendering for the API.

Services raise ``DomainError`` by code, with the facts the message names and the
``detail``; the status and the wording are the catalogue's (``config/error_codes.py``).
Views and the API turn it into ``{"error": {"code", "message", "message_en", "detail"}}``.
Nobody invents codes or wording elsewhere.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from . import error_codes


class DomainError(Exception):
    """A refusal a user or another system must be told about, with a stable code.

    ``DomainError("ALREADY_RECEIVED", serial=serial, detail={"serial": serial})``: the
    keyword arguments fill the catalogue's wording of the code (or of its ``case``), the
    status is the code's. ``message`` and ``message_en`` are given only for the codes whose
    text the raising site words (``caller_words``: a field's or a reason's own message).
    A code missing from the catalogue is a programming error (``ValueError``).
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        message_en: str | None = None,
        *,
        detail: dict | None = None,
        http_status: int | None = None,
        case: str = "",
        **values,
    ):
        entry = error_codes.entry(code)
        if message is None:
            message, message_en = entry.worded(case, **values)
        elif case or values:
            raise TypeError(f"{code}: give either the message or the values it is worded with")
        super().__init__(f"{code}: {message_en or message}")
        self.code = code
        self.message = message
        self.message_en = message_en or ""
        self.detail = detail or {}
        self.http_status = http_status or entry.status

    def as_body(self) -> dict:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "message_en": self.message_en,
                "detail": self.detail,
            }
        }


def error_body(code: str, detail: dict | None = None, **values) -> dict:
    """The JSON body of a refusal ``code`` worded with ``values`` (see ``DomainError``)."""
    return DomainError(code, detail=detail, **values).as_body()


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            DomainError(
                "VALIDATION_ERROR",
                "请求数据过大",
                "The request body is too large",
                detail={"reason": "TOO_LARGE", "max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
            ).as_body(),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            error_body("VALIDATION_ERROR", exc.detail), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, exceptions.ParseError):  # malformed body (config.parsers), any depth
        return Response(
            error_body("VALIDATION_ERROR", {"reason": exc.detail}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    # Django's own 404 and 403 (get_object_or_404, a selector's PermissionDenied) get the
    # same body as DRF's: convert them first, as DRF's handler does internally.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        reason = str(exc.detail)
        code = FRAMEWORK_CODES.get(response.status_code)
        if code is None:
            response.data = error_body("ERROR", {"reason": reason}, reason=reason)
        else:
            response.data = error_body(code, {"reason": reason})
    return response


# The framework's own refusals by status; any other is ERROR, worded with its reason.
FRAMEWORK_CODES = {
    401: "NOT_AUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "THROTTLED",
}


class ErrorSerializer(serializers.Serializer):
    """The ``error`` object of every refusal (OpenAPI component ``Error``)."""

    code = serializers.CharField(help_text="Stable code: VALIDATION_ERROR, UNKNOWN_CODE, ...")
    message = serializers.CharField(help_text="中文说明")
    message_en = serializers.CharField(help_text="English explanation (may be empty)")
    detail = serializers.JSONField(help_text="Specifics: field errors, reason, ids")


class ErrorResponseSerializer(serializers.Serializer):
    """``{"error": {"code", "message", "message_en", "detail"}}`` (component ``ErrorResponse``)."""

    error = ErrorSerializer()
