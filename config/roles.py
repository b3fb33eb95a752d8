"""The roles of the hospital, as Django groups (created by migration consumables 0002)."""

NURSE = "nurse"
STOREKEEPER = "storekeeper"
PROCUREMENT = "procurement"
PRICING_OFFICE = "pricing_office"
FINANCE = "finance"
INSURANCE_OFFICE = "insurance_office"
SUPPLIER = "supplier"
ADMINISTRATOR = "administrator"

ROLES = {
    NURSE: "护士 / nurse",
    STOREKEEPER: "库管员 / storekeeper",
    PROCUREMENT: "采购 / procurement",
    PRICING_OFFICE: "物价办 / pricing office",
    FINANCE: "财务 / finance",
    INSURANCE_OFFICE: "医保办 / insurance office",
    SUPPLIER: "供应商 / supplier",
    ADMINISTRATOR: "系统管理员 / administrator",
}


def has_role(user, *roles: str) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=roles).exists()
