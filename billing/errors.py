"""Refusals of the bedside and HIS paths (docs/contract.md, Error codes), Chinese first."""

from config.errors import DomainError


def unknown_encounter(visit_no: str | None) -> DomainError:
    return DomainError(
        "UNKNOWN_ENCOUNTER",
        f"住院号 {visit_no or ''} 不存在：请核对腕带或等待 HIS 同步",
        f"Unknown encounter {visit_no}",
        detail={"encounter": visit_no},
        http_status=404,
    )


def encounter_closed(visit_no: str) -> DomainError:
    return DomainError(
        "ENCOUNTER_CLOSED",
        f"患者 {visit_no} 已出院结算，不能再记录使用或计费",
        f"Encounter {visit_no} is closed",
        detail={"encounter": visit_no},
        http_status=409,
    )


def no_charge_mapping(material_code: str) -> DomainError:
    return DomainError(
        "NO_CHARGE_MAPPING",
        "该耗材可收费但没有计费编码：请联系采购/物价办完成五码对照后再使用",
        "Chargeable item without a charge code",
        detail={"material_code": material_code},
        http_status=409,
    )


def no_approved_price(material_code: str) -> DomainError:
    return DomainError(
        "NO_APPROVED_PRICE",
        "该耗材没有已批准的收费价：请联系物价办",
        "No approved charge price in force",
        detail={"material_code": material_code},
        http_status=409,
    )


def encounter_conflict(visit_no: str, patient_id: str) -> DomainError:
    return DomainError(
        "ENCOUNTER_CONFLICT",
        f"住院号 {visit_no} 已属于另一位患者，不能改到患者 {patient_id} 名下：请在 HIS 核对",
        f"Encounter {visit_no} belongs to another patient, not {patient_id}",
        detail={"encounter": visit_no, "patient_id": patient_id},
        http_status=409,
    )


def order_conflict(order_id: str, visit_no: str, posted: str) -> DomainError:
    return DomainError(
        "ORDER_CONFLICT",
        f"医嘱 {order_id} 属于就诊 {visit_no}，不能改到就诊 {posted}：请在 HIS 开立新医嘱",
        f"Order {order_id} belongs to encounter {visit_no}, not {posted}",
        detail={"order_id": order_id, "encounter": visit_no, "posted_encounter": posted},
        http_status=409,
    )


def package_code(consumable, *, udi_di: str, units_per_package: int) -> DomainError:
    """A use of a box (package-level DI) with no stated quantity: the nurse scans the
    single item or says how many she used, never a silent charge of the whole box."""
    return DomainError(
        "PACKAGE_CODE",
        f"该条码为包装码（每包装 {units_per_package}{consumable.unit}）："
        "请扫描单件条码，或输入实际使用数量",
        f"This is a package code ({units_per_package} per package): scan the single item, "
        "or enter how many you used",
        detail={
            "units_per_package": units_per_package,
            "unit": consumable.unit,
            "udi_di": udi_di,
            "material_code": consumable.material_code,
        },
        http_status=409,
    )


def broker_unavailable(detail: dict | None = None) -> DomainError:
    return DomainError(
        "BROKER_UNAVAILABLE",
        "任务队列不可用，请稍后重试",
        "The task queue is unavailable; retry later",
        detail=detail,
        http_status=503,
    )
