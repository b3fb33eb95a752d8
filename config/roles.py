"""The roles of the hospital, as Django groups (created by migration consumables 0002)."""

NURSE = "nurse"
STOREKEEPER = "storekeeper"
PROCUREMENT = "procurement"
PRICING_OFFICE = "pricing_office"
FINANCE = "finance"
INSURANCE_OFFICE = "insurance_office"
SUPPLIER = "supplier"
ADMINISTRATOR = "administrator"
INTEGRATION = "integration"

ROLES = {
    NURSE: "护士 / nurse",
    STOREKEEPER: "库管员 / storekeeper",
    PROCUREMENT: "采购 / procurement",
    PRICING_OFFICE: "物价办 / pricing office",
    FINANCE: "财务 / finance",
    INSURANCE_OFFICE: "医保办 / insurance office",
    SUPPLIER: "供应商 / supplier",
    ADMINISTRATOR: "系统管理员 / administrator",
    INTEGRATION: "系统接口（HIS/HRP）/ system integration",
}

