"""REST API: POST /api/v1/codes/decode, barcodes read from a photo (phone or PDA camera)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config import roles
from config.errors import DomainError
from config.permissions import HasRole
from inventory.decode import MAX_BYTES, ImageError, decode_image

# Room for the multipart envelope around an image of MAX_BYTES.
MULTIPART_OVERHEAD = 64 * 1024
EXAMPLE_GS1 = "]d2" + "0106901234567892" + "17271231" + "101234" + "\x1d" + "21YN000000000017"


def image_refused(error: ImageError) -> DomainError:
    too_large = error.reason == "TOO_LARGE"
    return DomainError(
        "VALIDATION_ERROR",
        error.message,
        error.message_en,
        detail={"field": "image", "reason": error.reason, **error.detail},
        http_status=413 if too_large else 400,
    )


def _too_large(size: int) -> DomainError:
    return image_refused(ImageError("TOO_LARGE", size=size, max_bytes=MAX_BYTES))


class ParsedSerializer(serializers.Serializer):
    issuer = serializers.CharField()
    di = serializers.CharField(allow_null=True)
    lot = serializers.CharField(allow_null=True)
    serial = serializers.CharField(allow_null=True)
    expiry = serializers.DateField(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())


class DecodedSerializer(serializers.Serializer):
    text = serializers.CharField()
    format = serializers.CharField(help_text="DataMatrix, Code128, EAN13, QRCode, ...")
    symbology = serializers.CharField(allow_null=True, help_text="]d2, ]C1, ]C0, ...")
    parsed = ParsedSerializer(allow_null=True)


class DecodeOutputSerializer(serializers.Serializer):
    codes = DecodedSerializer(many=True)


class CodeDecodeApi(APIView):
    """POST /api/v1/codes/decode: read every barcode in an uploaded photo. Records nothing.

    Request: ``multipart/form-data`` with the field ``image``: a JPEG, PNG or WebP of at most
    8 MB (``MAX_BYTES``).

    Answers:

    - ``200 {"codes": [{"text", "format", "symbology", "parsed"}]}``. ``text`` is what a
      scanner would send: GS1 symbols keep their symbology identifier and ASCII 29
      separators (``"]d201…10LOT\\x1d21SN"``), others their plain content (``"YN…"``), so
      it can be posted as is to ``/api/v1/codes/resolve`` or ``/api/v1/scans``.
      ``symbology`` is the AIM identifier (``"]d2"``, ``"]C1"``, ``"]C0"``...; null when only
      the pyzbar fallback could read the code). ``parsed`` is what ``parse_code`` reads
      (``issuer, di, lot, serial, expiry, warnings``), or null when it refuses the text.
    - **No barcode in the picture is not an error**: ``200 {"codes": []}`` (the client
      asks for a sharper or closer photo). Only a bad upload is refused.
    - ``413 VALIDATION_ERROR`` (``detail.reason`` ``TOO_LARGE``): more than 8 MB.
    - ``400 VALIDATION_ERROR``: no ``image`` field (``detail.reason`` ``REQUIRED``), empty
      file (``EMPTY``), not an image or damaged (``NOT_AN_IMAGE``), another image format such
      as HEIC, GIF, BMP, TIFF (``UNSUPPORTED_FORMAT``), more than 64 megapixels
      (``TOO_MANY_PIXELS``).
    - ``403 PERMISSION_DENIED``: only nurses and storekeepers (and administrators).
    """

    permission_classes = [HasRole]
    allowed_roles = (roles.NURSE, roles.STOREKEEPER)
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "decode"

    @extend_schema(
        operation_id="codes_decode",
        summary="从照片识别条码 / Read barcodes from a photo",
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "image": {
                        "type": "string",
                        "format": "binary",
                        "description": "JPEG, PNG or WebP, at most 8 MB",
                    }
                },
                "required": ["image"],
            }
        },
        responses={
            200: OpenApiResponse(
                response=DecodeOutputSerializer,
                description="Codes found (an empty list when none)",
                examples=[
                    OpenApiExample(
                        "GS1 DataMatrix and in-hospital label",
                        value={
                            "codes": [
                                {
                                    "text": EXAMPLE_GS1,
                                    "format": "DataMatrix",
                                    "symbology": "]d2",
                                    "parsed": {
                                        "issuer": "gs1",
                                        "di": "06901234567892",
                                        "lot": "1234",
                                        "serial": "YN000000000017",
                                        "expiry": "2027-12-31",
                                        "warnings": [],
                                    },
                                },
                                {
                                    "text": "YN000000000017",
                                    "format": "Code128",
                                    "symbology": "]C0",
                                    "parsed": {
                                        "issuer": "hospital",
                                        "di": "YN000000000017",
                                        "lot": None,
                                        "serial": "YN000000000017",
                                        "expiry": None,
                                        "warnings": [],
                                    },
                                },
                            ]
                        },
                    )
                ],
            ),
            400: OpenApiResponse(description="VALIDATION_ERROR: no image, not an image, damaged"),
            403: OpenApiResponse(description="PERMISSION_DENIED"),
            413: OpenApiResponse(description="VALIDATION_ERROR (TOO_LARGE): over 8 MB"),
        },
    )
    def post(self, request):
        # Refuse an oversized body before parsing it, when the client says its length.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BYTES + MULTIPART_OVERHEAD:
            raise _too_large(length)
        upload = request.FILES.get("image")
        if upload is None:
            raise DomainError(
                "VALIDATION_ERROR",
                "请上传图片（字段 image）",
                "Upload the picture in the field 'image'",
                detail={"field": "image", "reason": "REQUIRED"},
            )
        if upload.size > MAX_BYTES:
            raise _too_large(upload.size)
        data = upload.read(MAX_BYTES + 1)
        try:
            codes = decode_image(data)
        except ImageError as error:
            raise image_refused(error) from None
        return Response({"codes": [code.as_dict() for code in codes]})
