"""Domain errors with stable codes (docs/contract.md) and their JSON rendering for the API.

Services raise ``DomainError``; views and the API turn it into
``{"error": {"code", "message", "message_en", "detail"}}``. Nobody invents codes elsewhere.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A refusal a user or another system must be told about, with a stable code."""

    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(
        self,
        code: str,
        message: str,
        message_en: str = "",
        *,
        detail: dict | None = None,
        http_status: int | None = None,
    ):
        super().__init__(f"{code}: {message_en or message}")
        self.code = code
        self.message = message
        self.message_en = message_en
        self.detail = detail or {}
        if http_status is not None:
            self.http_status = http_status

    def as_body(self) -> dict:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "message_en": self.message_en,
                "detail": self.detail,
            }
        }


def error_body(code: str, message: str, message_en: str, detail: dict | None = None) -> dict:
    return DomainError(code, message, message_en, detail=detail).as_body()


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            error_body(
                "VALIDATION_ERROR",
                "请求数据过大",
                "The request body is too large",
                {"reason": "TOO_LARGE", "max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            error_body("VALIDATION_ERROR", "请求数据有误", "The request is invalid", exc.detail),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ParseError):  # malformed body (config.parsers), any depth
        return Response(
            error_body(
                "VALIDATION_ERROR", "请求数据有误", "The request is invalid", {"reason": exc.detail}
            ),
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
        codes = {
            401: ("NOT_AUTHENTICATED", "未登录或令牌无效", "Not authenticated"),
            403: ("PERMISSION_DENIED", "无权执行此操作", "Permission denied"),
            404: ("NOT_FOUND", "未找到", "Not found"),
            405: ("METHOD_NOT_ALLOWED", "不支持该请求方法", "Method not allowed"),
            415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的内容类型", "Unsupported media type"),
            429: ("THROTTLED", "请求过于频繁", "Too many requests"),
        }
        code, zh, en = codes.get(response.status_code, ("ERROR", "请求失败", str(exc.detail)))
        response.data = error_body(code, zh, en, {"reason": str(exc.detail)})
    return response


class ErrorSerializer(serializers.Serializer):
    """The ``error`` object of every refusal (OpenAPI component ``Error``)."""

    code = serializers.CharField(help_text="Stable code: VALIDATION_ERROR, UNKNOWN_CODE, ...")
    message = serializers.CharField(help_text="中文说明")
    message_en = serializers.CharField(help_text="English explanation (may be empty)")
    detail = serializers.JSONField(help_text="Specifics: field errors, reason, ids")


class ErrorResponseSerializer(serializers.Serializer):
    """``{"error": {"code", "message", "message_en", "detail"}}`` (component ``ErrorResponse``)."""

    error = ErrorSerializer()
