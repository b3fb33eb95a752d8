"""The platform's transactions and their fields, as the interface specification for
designated medical institutions (定点医药机构接口规范) gives them: code, type, maximum
length and whether required. The payload builder writes by these codes; the platform
double checks by them. One table, read by both sides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class Field:
    code: str  # the specification's field code, e.g. "med_list_codg"
    label: str  # its Chinese name, e.g. "医疗目录编码"
    type: str  # "str", "num" (decimal as text or number), "date", "datetime", "list"
    max_len: int | None = None
    required: bool = False
    items: tuple[Field, ...] = ()  # a list's entries: the fields of each (type "list")


def _f(code, label, type_="str", max_len=None, required=False, items=()):
    return Field(code, label, type_, max_len, required, items)


# The fields every transaction has (the item, our batch, the prescription flag: "0", a
# consumable is not a prescription drug), and the traceability codes scanned (追溯码信息):
# a list of {drug_trac_codg, trac_pkg_lv}. The specification gives drug_trac_codg 30
# characters, written for the 20-digit drug codes; a consumable's UDI (GS1 element string,
# with lot and serial) is longer, so the length here is 100, and ``trac_pkg_lv`` (the
# package level of the code's DI: 最小销售单元, 中包装...) is this system's addition.
ITEM = (
    _f("med_list_codg", "医疗目录编码", max_len=50, required=True),
    _f("fixmedins_hilist_id", "定点医药机构目录编号", max_len=30, required=True),
    _f("fixmedins_hilist_name", "定点医药机构目录名称", max_len=200, required=True),
    _f("fixmedins_bchno", "定点医药机构批次流水号", max_len=30, required=True),
    _f("rx_flag", "处方药标志", max_len=3, required=True),
)
TRACE = _f(
    "drugtracinfo",
    "追溯码信息",
    "list",
    items=(
        _f("drug_trac_codg", "追溯码", max_len=100, required=True),
        _f("trac_pkg_lv", "包装层级", max_len=40),
    ),
)
MEMO = _f("memo", "备注", max_len=500)

# txn -> its fields, from the interface specification for designated medical institutions
# (定点医药机构接口规范 1.1.x), 3501..3506 (code, name, type, length, required).
TRANSACTIONS: dict[str, tuple[Field, ...]] = {
    # 商品盘存: one line of a posted stocktake (the counted quantity).
    "3501": (
        *ITEM,
        _f("invdate", "盘存日期", "date", required=True),
        _f("inv_cnt", "库存数量", "num", 16, required=True),
        _f("manu_lotnum", "生产批号", max_len=30),
        _f("manu_date", "生产日期", "date", required=True),
        _f("expy_end", "有效期止", "date", required=True),
        MEMO,
    ),
    # 库存变更: a move between our locations, scrap, a stocktake difference.
    "3502": (
        *ITEM,
        _f("inv_chg_type", "库存变更类型", max_len=6, required=True),
        _f("pric", "单价", "num", 16, required=True),
        _f("cnt", "数量", "num", 16, required=True),
        _f("inv_chg_time", "库存变更时间", "datetime", required=True),
        _f("inv_chg_opter_name", "库存变更经办人姓名", max_len=50),
        _f("trdn_flag", "拆零标志", max_len=2),
        _f("manu_lotnum", "生产批号", max_len=30),
        _f("expy_end", "有效期止", "date"),
        MEMO,
        TRACE,
    ),
    # 商品采购: goods received from a supplier.
    "3503": (
        *ITEM,
        _f("dynt_no", "随货单号", max_len=50),
        _f("spler_name", "供应商名称", max_len=200, required=True),
        _f("spler_pmtno", "供应商许可证号", max_len=50),
        _f("manu_lotnum", "生产批号", max_len=30, required=True),
        _f("prodentp_name", "生产厂家名称", max_len=200, required=True),
        _f("aprvno", "批准文号", max_len=100, required=True),
        _f("manu_date", "生产日期", "date", required=True),
        _f("expy_end", "有效期止", "date", required=True),
        _f("finl_trns_pric", "最终成交单价", "num", 16),
        _f("purc_retn_cnt", "采购/退货数量", "num", 16, required=True),
        _f("purc_invo_codg", "采购发票编码", max_len=50),
        _f("purc_invo_no", "采购发票号", max_len=50),
        _f("purc_retn_stoin_time", "采购/退货入库时间", "datetime", required=True),
        _f("purc_retn_opter_name", "采购/退货经办人姓名", max_len=50, required=True),
        _f("prod_geay_flag", "商品赠送标志", max_len=3),
        MEMO,
        TRACE,
    ),
    # 商品采购退货: goods sent back to the supplier.
    "3504": (
        *ITEM,
        _f("spler_name", "供应商名称", max_len=200, required=True),
        _f("spler_pmtno", "供应商许可证号", max_len=50),
        _f("manu_lotnum", "生产批号", max_len=30),
        _f("manu_date", "生产日期", "date", required=True),
        _f("expy_end", "有效期止", "date", required=True),
        _f("finl_trns_pric", "最终成交单价", "num", 16),
        _f("purc_retn_cnt", "采购/退货数量", "num", 16, required=True),
        _f("purc_invo_codg", "采购发票编码", max_len=50),
        _f("purc_invo_no", "采购发票号", max_len=50, required=True),
        _f("purc_retn_stoin_time", "采购/退货入库时间", "datetime", required=True),
        _f("purc_retn_opter_name", "采购/退货经办人姓名", max_len=50, required=True),
        _f("medins_prod_purc_no", "商品采购流水号", max_len=50),
        MEMO,
        TRACE,
    ),
    # 商品销售: a use charged to an insured patient. The specification marks the
    # prescriber's and the pharmacist's names required: they are a pharmacy's (dispensing
    # a drug); a consumable used at the bedside has no pharmacist, and the prescriber is
    # the doctor of the order where HIS sent one. Here they are optional.
    "3505": (
        *ITEM,
        _f("prsc_dr_cert_type", "开方医师证件类型", max_len=6),
        _f("prsc_dr_certno", "开方医师证件号码", max_len=50),
        _f("prsc_dr_name", "开方医师姓名", max_len=50),
        _f("phar_cert_type", "药师证件类型", max_len=6),
        _f("phar_certno", "药师证件号码", max_len=50),
        _f("phar_name", "药师姓名", max_len=50),
        _f("phar_prac_cert_no", "药师执业资格证号", max_len=50),
        _f("hi_feesetl_type", "医保费用结算类型", max_len=6),
        _f("setl_id", "结算ID", max_len=30),
        _f("mdtrt_sn", "就医流水号", max_len=30, required=True),
        _f("psn_no", "人员编号", max_len=30),
        _f("psn_cert_type", "人员证件类型", max_len=6),
        _f("certno", "证件号码", max_len=50),
        _f("psn_name", "人员姓名", max_len=50),
        _f("manu_lotnum", "生产批号", max_len=30, required=True),
        _f("manu_date", "生产日期", "date", required=True),
        _f("expy_end", "有效期止", "date"),
        _f("trdn_flag", "拆零标志", max_len=3, required=True),
        _f("finl_trns_pric", "最终成交单价", "num", 16),
        _f("rxno", "处方号", max_len=40),
        _f("rx_circ_flag", "外购处方标志", max_len=3),
        _f("rtal_docno", "零售单据号", max_len=40, required=True),
        _f("stoout_no", "销售出库单据号", max_len=40),
        _f("bchno", "批次号", max_len=30),
        _f("sel_retn_cnt", "销售/退货数量", "num", 16, required=True),
        _f("sel_retn_time", "销售/退货时间", "datetime", required=True),
        _f("sel_retn_opter_name", "销售/退货经办人姓名", max_len=50, required=True),
        MEMO,
        TRACE,
    ),
    # 商品销售退货: an unused item back from an insured patient.
    "3506": (
        *ITEM,
        _f("setl_id", "结算ID", max_len=30),
        _f("mdtrt_sn", "就医流水号", max_len=30),
        _f("psn_no", "人员编号", max_len=30),
        _f("psn_cert_type", "人员证件类型", max_len=6),
        _f("certno", "证件号码", max_len=50),
        _f("psn_name", "人员姓名", max_len=50),
        _f("manu_lotnum", "生产批号", max_len=30, required=True),
        _f("manu_date", "生产日期", "date", required=True),
        _f("expy_end", "有效期止", "date"),
        _f("trdn_flag", "拆零标志", max_len=3, required=True),
        _f("finl_trns_pric", "最终成交单价", "num", 16),
        _f("sel_retn_cnt", "销售/退货数量", "num", 16, required=True),
        _f("sel_retn_time", "销售/退货时间", "datetime", required=True),
        _f("sel_retn_opter_name", "销售/退货经办人姓名", max_len=50, required=True),
        _f("medins_prod_sel_no", "商品销售流水号", max_len=50),
        MEMO,
        TRACE,
    ),
}


def field_errors(txn: str, record: dict) -> list[str]:
    """What is wrong with one record of a transaction (empty: it conforms)."""
    fields = TRANSACTIONS.get(txn)
    if fields is None:
        return [f"unknown transaction {txn}"]
    return _errors(fields, record)


def _errors(fields: tuple[Field, ...], record) -> list[str]:
    if not isinstance(record, dict):
        return ["not an object"]
    errors = []
    for f in fields:
        value = record.get(f.code)
        if value in (None, ""):
            if f.required:
                errors.append(f"{f.code}: required")
            continue
        if f.type == "list":
            if not isinstance(value, list):
                errors.append(f"{f.code}: not a list")
                continue
            for i, entry in enumerate(value):
                errors += [f"{f.code}[{i}].{e}" for e in _errors(f.items, entry)]
            continue
        text = str(value)
        if f.max_len is not None and len(text) > f.max_len:
            errors.append(f"{f.code}: longer than {f.max_len}")
        if f.type == "num":
            try:
                Decimal(text)
            except InvalidOperation:
                errors.append(f"{f.code}: not a number")
        elif f.type == "date":
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                errors.append(f"{f.code}: not a date (YYYY-MM-DD)")
        elif f.type == "datetime":
            try:
                dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                errors.append(f"{f.code}: not a time (YYYY-MM-DD HH:MM:SS)")
    return errors
