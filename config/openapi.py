"""OpenAPI: every operation documents the error answers it can give, with the shared
``ErrorResponse`` body (config/errors.py), besides what its view declares."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from .errors import ErrorResponseSerializer

STANDARD_ERRORS = {
    400: "VALIDATION_ERROR (detail: the fields and their errors), UNREADABLE_CODE",
    401: "NOT_AUTHENTICATED: no or an invalid token / session",
    403: "PERMISSION_DENIED: the role or department may not do this",
    404: "NOT_FOUND, UNKNOWN_CODE, UNKNOWN_ENCOUNTER, UNKNOWN_DEPARTMENT...",
    409: "a refusal of the current state: EXPIRED, RECALLED, NOT_IN_STOCK, EVENT_ID_REUSED...",
    413: "VALIDATION_ERROR (detail.reason TOO_LARGE): the body or upload is too large",
    415: "UNSUPPORTED_MEDIA_TYPE: send JSON (or multipart where an upload is asked for)",
    422: "a business rule refuses it (the code says which)",
    429: "THROTTLED: too many requests; retry after the Retry-After header's seconds",
}
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
# A read is refused with 400 too: NUL or a control character in its path or query
# (config.middleware.RefuseControlCharactersMiddleware), a malformed query parameter.
READ_ERRORS = (400, 401, 403)


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorResponseSerializer, description=description)


class ErrorDocumentingAutoSchema(AutoSchema):
    # ``_get_response_bodies`` is where drf-spectacular (pinned) turns the declared responses,
    # including those of ``@extend_schema``, into the operation's; the public
    # ``get_response_serializers`` is replaced wholesale by ``@extend_schema``.
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        wanted = list(WRITE_ERRORS if self.method in ("POST", "PUT", "PATCH") else READ_ERRORS)
        if "{" in self.path:
            wanted.append(404)
        if getattr(self.view, "throttle_scope", None):
            wanted.append(429)
        for code in wanted:
            responses.setdefault(str(code), {"description": STANDARD_ERRORS[code]})
        for code, response in responses.items():
            # An error status described without a body gets the shared error body.
            if code >= "400" and "content" not in response:
                description = response.get("description") or STANDARD_ERRORS.get(int(code), "")
                responses[code] = self._get_response_for_code(
                    error_response(description), code, direction=direction
                )
        return responses
