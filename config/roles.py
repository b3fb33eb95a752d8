"""The roles of the hospital, as Django groups (created by migration consumables 0002)."""

from django.utils.translation import gettext_lazy as _

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
    NURSE: _("护士 / nurse"),
    STOREKEEPER: _("库管员 / storekeeper"),
    PROCUREMENT: _("采购 / procurement"),
    PRICING_OFFICE: _("物价办 / pricing office"),
    FINANCE: _("财务 / finance"),
    INSURANCE_OFFICE: _("医保办 / insurance office"),
    SUPPLIER: _("供应商 / supplier"),
    ADMINISTRATOR: _("系统管理员 / administrator"),
    INTEGRATION: _("系统接口（HIS/HRP）/ system integration"),
}

