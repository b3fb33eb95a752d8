"""The refusals of scans (docs/contract.md, Error codes), Chinese first with what to do next."""

from config.errors import DomainError


def unknown_code(code: str) -> DomainError:
    return DomainError(
        "UNKNOWN_CODE",
        "主数据中没有该条码对应的耗材，请联系采购维护五码对照",
        "No consumable in the master matches this code",
        detail={"code": code},
        http_status=404,
    )


def unknown_department(code: str, field: str = "department") -> DomainError:
    return DomainError(
        "UNKNOWN_DEPARTMENT",
        f"科室编码 {code} 不存在或已停用",
        f"Unknown or inactive department {code}",
        detail={"field": field, "department": code},
        http_status=404,
    )


def validation(field: str, message: str, message_en: str, **detail) -> DomainError:
    return DomainError(
        "VALIDATION_ERROR",
        message,
        message_en,
        detail={"field": field, **detail},
        http_status=400,
    )


def expired(expiry, lot_no: str) -> DomainError:
    return DomainError(
        "EXPIRED",
        f"该耗材已过期（失效日期 {expiry}），禁止使用，请退库或报损",
        f"Expired on {expiry}: refused",
        detail={"expiry": str(expiry), "lot": lot_no},
        http_status=409,
    )


def recalled(recall) -> DomainError:
    return DomainError(
        "RECALLED",
        f"该批次已被召回：{recall.reason}。请隔离并退回库房",
        f"This lot is under recall: {recall.reason}",
        detail={"lot": recall.lot_no or None, "recall_id": recall.pk},
        http_status=409,
    )


def not_in_stock(location_name: str, **detail) -> DomainError:
    return DomainError(
        "NOT_IN_STOCK",
        f"{location_name} 没有该耗材的库存",
        f"Not in stock at {location_name}",
        detail=detail,
        http_status=409,
    )
