"""Column names of HRP and HIS exports: the keys of consumables.csv and suppliers.csv
(docs/contract.md) or the Chinese headings those systems print. ``canonical_row`` renames a
row's columns to keys."""

from __future__ import annotations

from consumables.selectors import MASTER_COLUMNS

# Headings seen in HRP/HIS exports besides the labels of our own export (MASTER_COLUMNS).
ALIASES = {
    "收费编码": "charge_code",
    "收费项目编码": "charge_code",
    "计费项目编码": "charge_code",
    "医嘱项目编码": "order_code",
    "医保编码": "insurance_code",
    "医保耗材代码": "insurance_code",
    "国家医保编码": "insurance_code",
    "udi": "udi_di",
    "di": "udi_di",
    "产品标识": "udi_di",
    "最小销售单元产品标识": "udi_di",
    "包装内数量": "units_per_package",
    "材料名称": "name",
    "物资名称": "name",
    "收费项目名称": "name",
    "医嘱名称": "name",
    "规格": "spec",
    "型号规格": "spec",
    "厂家": "manufacturer",
    "生产厂家": "manufacturer",
    "注册证": "registration_no",
    "注册证编号": "registration_no",
    "医保支付类别": "insurance_class",
    "限定支付条件": "restriction",
    "限制支付范围": "restriction",
}
# Headings of an HRP supplier list (the keys of suppliers.csv, or what the HRP prints).
SUPPLIER_HEADINGS = {
    "code": "code",
    "供应商编码": "code",
    "供应商代码": "code",
    "name": "name",
    "供应商名称": "name",
    "供应商": "name",
    "credit_code": "credit_code",
    "统一社会信用代码": "credit_code",
    "社会信用代码": "credit_code",
    "license_no": "license_no",
    "医疗器械经营许可证号": "license_no",
    "经营许可证号": "license_no",
    "许可证号": "license_no",
    "医疗器械经营许可证": "license_no",
}
HEADINGS = {label.lower(): key for key, label in MASTER_COLUMNS} | ALIASES


def canonical_row(raw: dict[str, str], headings: dict[str, str] = HEADINGS) -> dict[str, str]:
    """``raw`` with every known heading renamed to its key; a key column wins over an alias
    column of the same meaning when both are present and filled. ``headings``: those of a
    material or catalogue export (default) or ``SUPPLIER_HEADINGS``."""
    row: dict[str, str] = {}
    for name, value in raw.items():
        key = headings.get(name, name)
        if key not in row or (not row[key] and value):
            row[key] = value
    return row
