"""The refusals of scans raised from several places, with their detail (the wording and the
status are the catalogue's, config/error_codes.py)."""

from config.errors import DomainError


def unknown_code(code: str) -> DomainError:
    return DomainError("UNKNOWN_CODE", detail={"code": code})


def unknown_department(code: str, field: str = "department") -> DomainError:
    return DomainError(
        "UNKNOWN_DEPARTMENT", department=code, detail={"field": field, "department": code}
    )


def validation(field: str, message: str, message_en: str, **detail) -> DomainError:
    """VALIDATION_ERROR, worded by the check that names what is wrong with ``field``."""
    return DomainError("VALIDATION_ERROR", message, message_en, detail={"field": field, **detail})


def expired(expiry, lot_no: str) -> DomainError:
    return DomainError("EXPIRED", expiry=expiry, detail={"expiry": str(expiry), "lot": lot_no})


def recalled(recall) -> DomainError:
    return DomainError(
        "RECALLED",
        reason=recall.reason,
        detail={"lot": recall.lot_no or None, "recall_id": recall.pk},
    )


def not_in_stock(location_name: str, **detail) -> DomainError:
    return DomainError("NOT_IN_STOCK", location=location_name, detail=detail)
