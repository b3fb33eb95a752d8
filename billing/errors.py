"""Refusals of the bedside and HIS paths raised from several places, with their detail
(the wording and the status are the catalogue's, config/error_codes.py)."""

from config.error_codes import Both
from config.errors import DomainError


def unknown_encounter(visit_no: str | None) -> DomainError:
    return DomainError(
        "UNKNOWN_ENCOUNTER",
        encounter=Both(visit_no or "", visit_no),
        detail={"encounter": visit_no},
    )


def encounter_closed(visit_no: str) -> DomainError:
    return DomainError("ENCOUNTER_CLOSED", encounter=visit_no, detail={"encounter": visit_no})


def no_charge_mapping(material_code: str) -> DomainError:
    return DomainError("NO_CHARGE_MAPPING", detail={"material_code": material_code})


def no_approved_price(material_code: str) -> DomainError:
    return DomainError("NO_APPROVED_PRICE", detail={"material_code": material_code})


def encounter_conflict(visit_no: str, patient_id: str) -> DomainError:
    return DomainError(
        "ENCOUNTER_CONFLICT",
        encounter=visit_no,
        patient_id=patient_id,
        detail={"encounter": visit_no, "patient_id": patient_id},
    )


def order_conflict(order_id: str, visit_no: str, posted: str) -> DomainError:
    return DomainError(
        "ORDER_CONFLICT",
        order_id=order_id,
        encounter=visit_no,
        posted=posted,
        detail={"order_id": order_id, "encounter": visit_no, "posted_encounter": posted},
    )


def package_code(consumable, *, udi_di: str, units_per_package: int) -> DomainError:
    """A use of a box (package-level DI) with no stated quantity: the nurse scans the
    single item or says how many she used, never a silent charge of the whole box."""
    return DomainError(
        "PACKAGE_CODE",
        units_per_package=units_per_package,
        unit=consumable.unit,
        detail={
            "units_per_package": units_per_package,
            "unit": consumable.unit,
            "udi_di": udi_di,
            "material_code": consumable.material_code,
        },
    )


def broker_unavailable(detail: dict | None = None) -> DomainError:
    return DomainError("BROKER_UNAVAILABLE", detail=detail)
