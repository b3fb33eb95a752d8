"""The catalogue of refusal codes: every stable code once, with its HTTP status, when it is
given, and what it says in Chinese and in English.

A service raises by code and hands over only the facts: ``DomainError("ENCOUNTER_CLOSED",
encounter=visit_no, detail={"encounter": visit_no})`` takes its status and its two messages
from here (``config/errors.py``). The wording is a ``str.format`` template filled with the
keyword arguments of the raise; a code given in different situations words each one as a
named ``case`` (``NO_CHARGE_MAPPING`` at receipt says the item cannot be received, at the
bedside that it cannot be used). Only the codes marked ``caller_words`` take their text
from the raising site, because the text names the field or the reason that is wrong and
comes from the check itself (``VALIDATION_ERROR``'s field messages, ``UNREADABLE_CODE``'s
reasons in ``consumables/udi.py``); their wording here is the fallback.

The messages are plain strings, not ``gettext``: the API body carries both (``message`` and
``message_en``) whatever the user's language, and the pages choose one (``config.i18n.pair``).

docs/contract.md's table of error codes is this catalogue (``markdown()``;
tests/test_error_codes.py compares them, and that every code raised in the source is here).
This module imports nothing of Django's, so any module may import it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


class Both(NamedTuple):
    """A value said one way in Chinese and another in English (a department's name and its
    code, a field's Chinese label and its API name)."""

    zh: object
    en: object


@dataclass(frozen=True)
class Wording:
    message: str  # 中文
    message_en: str  # English


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    when: str
    wording: Wording | None  # None: every raise names its case
    cases: Mapping[str, Wording] = field(default_factory=dict)
    caller_words: bool = False
    also: tuple[int, ...] = ()  # other statuses a raising site may give (documented)

    def worded(self, case: str = "", **values) -> tuple[str, str]:
        """(message, message_en) of ``case`` ('' the default) filled with ``values``.
        Every value must be used by one of the two messages, and every placeholder given."""
        wording = self.cases[case] if case else self.wording
        if wording is None:
            raise TypeError(f"{self.code} is raised with a case: one of {sorted(self.cases)}")
        used = placeholders(wording.message) | placeholders(wording.message_en)
        if set(values) != used:
            raise TypeError(
                f"{self.code}{'/' + case if case else ''} takes {sorted(used)}, "
                f"was given {sorted(values)}"
            )
        zh = wording.message.format(**{k: _said(v, 0) for k, v in values.items()})
        en = wording.message_en.format(**{k: _said(v, 1) for k, v in values.items()})
        return zh, en

    def wordings(self) -> list[tuple[str, Wording]]:
        """("", default) then the named cases, in the catalogue's order."""
        head = [("", self.wording)] if self.wording is not None else []
        return head + list(self.cases.items())


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _said(value, language: int):
    """``value`` as ``language`` (0 Chinese, 1 English) says it: one half of a ``Both``; a
    list joined as each language enumerates ("、" in Chinese, ", " in English)."""
    if isinstance(value, Both):
        return value[language]
    if isinstance(value, (list, tuple)):
        return ("、", ", ")[language].join(str(_said(v, language)) for v in value)
    return value


def _catalogue(*codes: ErrorCode) -> dict[str, ErrorCode]:
    catalogue = {}
    for entry in codes:
        if entry.code in catalogue:
            raise ValueError(f"{entry.code} is catalogued twice")
        catalogue[entry.code] = entry
    return catalogue


W = Wording


LINKED_ELSEWHERE = W(
    "{field} {value} 已关联到另一在用耗材 {item}",
    "{field} {value} is already linked to another live consumable {item}",
)

CATALOGUE: dict[str, ErrorCode] = _catalogue(
    # -- 400 -------------------------------------------------------------------------------
    ErrorCode(
        "VALIDATION_ERROR",
        400,
        "malformed request or field; `detail.field`, `detail.reason` say which "
        "(`CONTROL_CHARACTER`, `TOO_LARGE`, `NOT_A_STORE`, `LOT_REQUIRED`, `SERIAL_REQUIRED`, "
        "`MORE_THAN_USED`, `AMOUNT_TOO_LARGE`, ...); 413 for a body or picture too large",
        W("请求数据有误", "The request is invalid"),
        caller_words=True,
        also=(413,),
    ),
    ErrorCode(
        "UNREADABLE_CODE",
        400,
        "the code does not parse; `detail.reason` (e.g. `GTIN_CHECK_DIGIT`, "
        "`AMBIGUOUS_SEPARATOR`) and its message from `consumables/udi.py`",
        W("无法识别的条码", "The code cannot be read"),
        caller_words=True,
    ),
    ErrorCode(
        "TIME_OUT_OF_RANGE",
        400,
        "an event time outside the back-dating window, ahead of the clock, or before what "
        "it follows",
        W(
            "{field}超出允许范围（最早 {earliest:%Y-%m-%d %H:%M}，最晚 {latest:%Y-%m-%d %H:%M}）"
            "：请核对设备时钟",
            "{field} is outside the accepted window: check the device's clock",
        ),
        cases={
            "no_earliest": W(
                "{field}超出允许范围（最晚 {latest:%Y-%m-%d %H:%M}）：请核对设备时钟",
                "{field} is outside the accepted window: check the device's clock",
            ),
        },
    ),
    ErrorCode(
        "DAY_OUT_OF_RANGE",
        400,
        '"reconcile this day now" for a future day or a day before the history begins',
        W(
            "{day} 尚未到来，只能对账今天及以前的营业日",
            "{day} has not come yet: only today and earlier business days can be reconciled",
        ),
        cases={
            "no_history": W(
                "系统尚无出入库或计费记录，没有可对账的营业日",
                "nothing has been recorded yet (no stock move, no charge): no day to reconcile",
            ),
            "before_history": W(
                "{day} 早于系统最早的记录（{first}），没有可对账的数据",
                "{day} is before the first recorded activity ({first}): nothing to reconcile",
            ),
        },
    ),
    ErrorCode(
        "INSURANCE_CODE_INVALID",
        400,
        "a national insurance code that is not `C` + 19 digits of the right shape",
        W("医保耗材编码格式错误", "The insurance code is malformed"),
        caller_words=True,
    ),
    ErrorCode(
        "UNKNOWN_SUPPLIER",
        400,
        "procurement assigns a product to a supplier code that does not exist",
        W("未知供应商 {supplier_code}", "unknown supplier {supplier_code}"),
    ),
    ErrorCode(
        "NOTHING_TO_CHANGE",
        400,
        "a mapping change that changes nothing",
        W("与现有对码相同，无需变更", "the proposal changes nothing"),
    ),
    ErrorCode(
        "UNREADABLE_FILE",
        400,
        "an import upload (page) that is not CSV/XLSX, or a file that cannot be read as one",
        W("请上传 .csv 或 .xlsx 文件", "upload a .csv or .xlsx file"),
        cases={
            "format": W(
                "不支持的文件格式 {suffix}，请另存为 .csv 或 .xlsx",
                "unsupported file format {suffix}: save as .csv or .xlsx",
            ),
            "encoding": W(
                "文件编码无法识别，请另存为 UTF-8 CSV",
                "unknown text encoding: save the file as UTF-8 CSV",
            ),
            "not_text": W("{name} 不是文本 CSV 文件", "{name} is not a text CSV file"),
            "malformed_csv": W(
                "CSV 格式错误（第 {line} 行附近）：{error}",
                "malformed CSV near line {line}: {error}",
            ),
            "excel_unreadable": W(
                "无法读取 Excel 文件 {name}：{error}", "cannot read the Excel file {name}: {error}"
            ),
            "excel_damaged": W(
                "Excel 文件 {name} 已损坏：{error}", "the Excel file {name} is damaged: {error}"
            ),
        },
    ),
    ErrorCode(
        "FILE_NOT_FOUND",
        400,
        "`import_master` given a file that does not exist",
        W("找不到文件 {path}", "file not found: {path}"),
    ),
    ErrorCode(
        "DENIALS_ALREADY_IMPORTED",
        409,
        "`import_denials` given a file whose very content was imported before (nothing is "
        "counted twice)",
        W("该拒付文件已于 {when} 导入", "this denial file was imported on {when}"),
    ),
    ErrorCode(
        "EMPTY_FILE",
        400,
        "an import file with no data rows",
        W("{name} 没有数据行", "{name} has no data rows"),
    ),
    ErrorCode(
        "MISSING_COLUMNS",
        400,
        "an import file without a required column (`detail.missing`)",
        W("缺少必需的列：{columns}", "required columns are missing: {columns}"),
        cases={
            "table": W(
                "{table}文件缺少必需的列：{columns}",
                "the {table} file lacks required columns: {columns}",
            ),
        },
    ),
    ErrorCode(
        "FILE_TOO_LARGE",
        400,
        "an import upload (page) over `DJANGO_MAX_IMPORT_BYTES`",
        W("文件超过 {megabytes} MB", "the file is larger than {megabytes} MB"),
    ),
    # -- 401, 403 --------------------------------------------------------------------------
    ErrorCode(
        "NOT_AUTHENTICATED",
        401,
        "no session or token",
        W("未登录或令牌无效", "Not authenticated"),
    ),
    ErrorCode(
        "PERMISSION_DENIED",
        403,
        "the role or the department does not allow it",
        W("无权执行此操作", "Permission denied"),
    ),
    ErrorCode(
        "SELF_APPROVAL",
        403,
        "the proposer deciding (approving or rejecting) their own price version, mapping "
        "change or submission",
        None,
        cases={
            "price": W(
                "调价须由申请人以外的第二人审核",
                "A price change must be approved by someone other than its proposer",
            ),
            "mapping": W(
                "对码变更须由申请人以外的第二人审核",
                "a mapping change must be decided by someone other than its proposer",
            ),
            "submission": W("不能审核自己的提交", "you cannot review your own submission"),
        },
    ),
    ErrorCode(
        "NOT_YOUR_WARD",
        403,
        "the bedside page for a ward that is not the nurse's",
        W("您不能在科室 {department} 扫码：请选择本人所属病区", "You may not scan in {department}"),
    ),
    ErrorCode(
        "SELF_CONFIRMATION",
        403,
        "a stocktake confirmed by someone who counted it",
        W(
            "盘点复核须由未参与本次盘点的另一人完成",
            "The count must be confirmed by someone who did not count it",
        ),
    ),
    ErrorCode(
        "FOLLOWUP_ROLE",
        403,
        "a follow-up step of a finding by a role that does not take it: the insurance office "
        "confirms, dismisses and decides appeals; the department's nurses appeal",
        None,
        cases={
            "office": W(
                "只有医保办可以确认、驳回问题或裁定申诉",
                "Only the insurance office confirms or dismisses findings and decides appeals",
            ),
            "department": W(
                "只有问题所在科室的护士可以提出申诉",
                "Only the nurses of the finding's department may appeal it",
            ),
        },
    ),
    ErrorCode(
        "FOLLOWUP_NOT_YOUR_DEPARTMENT",
        403,
        "an appeal of a finding of a department the user is not a member of",
        W(
            "该问题属于科室 {department}，您只能申诉本科室的问题",
            "The finding is {department}'s: you may appeal your own department's findings only",
        ),
    ),
    ErrorCode(
        "FOLLOWUP_SELF_DECISION",
        403,
        "an appeal decided by the person who made it",
        W("申诉须由申诉人以外的医保办人员裁定", "An appeal must be decided by someone else"),
    ),
    ErrorCode(
        "FOLLOWUP_STATUS",
        409,
        "a follow-up step the finding's current status does not allow (e.g. a dismissed "
        "finding appealed, an appeal decided twice)",
        W(
            "该问题当前状态为“{status}”，不能{step}",
            "The finding is {status_en}: it cannot be {step_en}",
        ),
    ),
    ErrorCode(
        "FOLLOWUP_REASON_REQUIRED",
        400,
        "a dismissal, an appeal or an appeal's decision without a reason",
        W("请填写理由", "A reason is required"),
    ),
    ErrorCode(
        "FOLLOWUP_UNKNOWN_FINDING",
        404,
        "a follow-up step of a finding that no reconciliation run or pre-discharge audit reports",
        W("未找到该问题：{key}", "No such finding: {key}"),
    ),
    ErrorCode(
        "UPLOAD_NOT_FAILED",
        409,
        "a resend of a platform upload that has not failed (it is pending, in flight or "
        "accepted: the sender takes it, or took it, by itself)",
        W(
            "该上传记录状态为“{status}”，只有上传失败的记录可以重新上传",
            "The upload is {status_en}: only a failed upload can be resent",
        ),
    ),
    # -- 404, 405, 415 ---------------------------------------------------------------------
    ErrorCode(
        "NOT_FOUND",
        404,
        "no such object or path under `/api/`",
        W("未找到", "Not found"),
        cases={
            "stocktake": W("盘点单不存在", "No such stocktake"),
            "stocktake_line": W("盘点明细不存在", "No such line"),
            "charge": W("计费记录不存在", "No such charge"),
            "supplier_product": W("未找到该供货品种", "no such product of yours"),
            "upload": W("上传记录不存在", "No such upload"),
        },
    ),
    ErrorCode(
        "UNKNOWN_CODE",
        404,
        "no consumable has this code (or, at HIS, this charge code)",
        W(
            "主数据中没有该条码对应的耗材，请联系采购维护五码对照",
            "No consumable in the master matches this code",
        ),
        cases={
            "charge_code": W(
                "计费编码 {charge_code} 没有对应的耗材",
                "No consumable has the charge code {charge_code}",
            ),
        },
    ),
    ErrorCode(
        "UNKNOWN_DEPARTMENT",
        404,
        "no such active department",
        W("科室编码 {department} 不存在或已停用", "Unknown or inactive department {department}"),
    ),
    ErrorCode(
        "UNKNOWN_ENCOUNTER",
        404,
        "no such visit number",
        W(
            "住院号 {encounter} 不存在：请核对腕带或等待 HIS 同步",
            "Unknown encounter {encounter}",
        ),
    ),
    ErrorCode(
        "METHOD_NOT_ALLOWED",
        405,
        "the URL does not take this method",
        W("不支持该请求方法", "Method not allowed"),
    ),
    ErrorCode(
        "UNSUPPORTED_MEDIA_TYPE",
        415,
        "a body in a content type the endpoint does not read",
        W("不支持的内容类型", "Unsupported media type"),
    ),
    # -- 409 -------------------------------------------------------------------------------
    ErrorCode(
        "AMBIGUOUS_CODE",
        409,
        "one code maps to several consumables",
        W("该编码对应多个耗材，请扫描其他条码或人工确认", "This code matches several consumables"),
    ),
    ErrorCode(
        "EXPIRED",
        409,
        "the lot's expiry is past",
        W(
            "该耗材已过期（失效日期 {expiry}），禁止使用，请退库或报损",
            "Expired on {expiry}: refused",
        ),
    ),
    ErrorCode(
        "RECALLED",
        409,
        "the lot (or every lot) is under recall",
        W("该批次已被召回：{reason}。请隔离并退回库房", "This lot is under recall: {reason}"),
    ),
    ErrorCode(
        "NOT_IN_STOCK",
        409,
        "not on hand where it is taken from (`detail.reason` `UNIT_NOT_HERE`, "
        "`UNIT_NOT_RECEIVED`, `FEFO_SHORT`; case `short`: the ledger's balance is short)",
        W("{location} 没有该耗材的库存", "Not in stock at {location}"),
        cases={
            "short": W(
                "{location} 库存不足：现有 {on_hand}，需要 {requested}",
                "Not enough stock at {location}: {on_hand} on hand, {requested} needed",
            ),
        },
    ),
    ErrorCode(
        "ALREADY_USED",
        409,
        "a tracked unit used before",
        W(
            "该单件已于 {used_at:%Y-%m-%d %H:%M} 使用，不能重复使用/计费",
            "This unit has already been used",
        ),
    ),
    ErrorCode(
        "ALREADY_RECEIVED",
        409,
        "a serial received before",
        W("序列号 {serial} 已入库，不能重复入库", "Serial {serial} was already received"),
    ),
    ErrorCode(
        "ALREADY_RECALLED",
        409,
        "the recall is registered already",
        W("该耗材的以下批次已登记召回：{lots}", "Already under recall: {lots}"),
    ),
    ErrorCode(
        "NO_CHARGE_MAPPING",
        409,
        "a chargeable item without a charge code (at use; case `receive`: at receipt)",
        W(
            "该耗材可收费但没有计费编码：请联系采购/物价办完成五码对照后再使用",
            "Chargeable item without a charge code",
        ),
        cases={
            "receive": W(
                "该耗材可收费但没有计费编码，不能入库：请先完成五码对照",
                "Chargeable item without a charge code cannot be received",
            ),
        },
    ),
    ErrorCode(
        "NO_APPROVED_PRICE",
        409,
        "a chargeable item without an approved charge price in force (at use; case "
        "`receive`: at receipt)",
        W("该耗材没有已批准的收费价：请联系物价办", "No approved charge price in force"),
        cases={
            "receive": W(
                "该耗材没有已批准的采购价/收费价，不能入库：请物价办先审核价格",
                "Chargeable item without an approved price cannot be received",
            ),
        },
    ),
    ErrorCode(
        "CONSENT_REQUIRED",
        409,
        "a self-pay or restricted item in an insured encounter without consent",
        W(
            "该耗材为自费/限定支付项目，使用前须签署自费知情同意书",
            "Self-pay or restricted item: record the patient's consent first",
        ),
    ),
    ErrorCode(
        "APPROVAL_REQUIRED",
        409,
        "a high-value item without a use approval, in `block` mode",
        W(
            "该高值耗材需先在本次就诊登记使用审批",
            "This high-value item needs a use approval recorded on the encounter first",
        ),
    ),
    ErrorCode(
        "NO_ORDER",
        409,
        "a use without a doctor order, when `BILLING_REFUSE_USE_WITHOUT_ORDER` is on",
        W("该患者没有对应医嘱，请先开立医嘱", "No doctor order for this item"),
    ),
    ErrorCode(
        "PACKAGE_CODE",
        409,
        "a box code used without a quantity",
        W(
            "该条码为包装码（每包装 {units_per_package}{unit}）："
            "请扫描单件条码，或输入实际使用数量",
            "This is a package code ({units_per_package} per package): scan the single item, "
            "or enter how many you used",
        ),
    ),
    ErrorCode(
        "ENCOUNTER_CLOSED",
        409,
        "the visit is discharged",
        W("患者 {encounter} 已出院结算，不能再记录使用或计费", "Encounter {encounter} is closed"),
    ),
    ErrorCode(
        "CHARGE_REFUSED",
        409,
        "an HIS charge fails a boundary check the hospital set to refuse (`HIS_CHARGE_REFUSE`); "
        "`detail.kinds` and `detail.findings` say which",
        W(
            "HIS 计费未通过事中审核（{kinds}），未记录",
            "The charge fails the insurance checks ({kinds}) and is not recorded",
        ),
    ),
    ErrorCode(
        "OPEN_FINDINGS",
        409,
        "a discharge while findings of the kinds in `DISCHARGE_GATE_KINDS` stand; "
        "`detail.findings` lists them",
        W(
            "患者 {encounter} 尚有 {count} 个出院预审核问题未处理，暂不能出院",
            "Encounter {encounter} has {count} open audit findings: discharge is held",
        ),
    ),
    ErrorCode(
        "ENCOUNTER_NOT_ON_WARD",
        409,
        "the patient is on another ward",
        W(
            "住院号 {encounter} 的患者在{patient_ward}，不在{ward}：请核对腕带或切换病区",
            "Encounter {encounter} is not on {ward}",
        ),
    ),
    ErrorCode(
        "ENCOUNTER_CONFLICT",
        409,
        "a visit number posted again for another patient",
        W(
            "住院号 {encounter} 已属于另一位患者，不能改到患者 {patient_id} 名下：请在 HIS 核对",
            "Encounter {encounter} belongs to another patient, not {patient_id}",
        ),
    ),
    ErrorCode(
        "ORDER_CONFLICT",
        409,
        "an order id posted again for another encounter",
        W(
            "医嘱 {order_id} 属于就诊 {encounter}，不能改到就诊 {posted}：请在 HIS 开立新医嘱",
            "Order {order_id} belongs to encounter {encounter}, not {posted}",
        ),
    ),
    ErrorCode(
        "EVENT_ID_REUSED",
        409,
        "the same `event_id` with different content",
        W(
            "该 event_id 已用于另一条不同内容的请求",
            "This event_id was already used for a different request",
        ),
    ),
    ErrorCode(
        "CONFLICT",
        409,
        "a concurrent write took the same unit at the same instant; retry",
        W(
            "与另一条同时提交的操作冲突，请刷新后重试",
            "Conflicts with a concurrent write; refresh and retry",
        ),
    ),
    ErrorCode(
        "REFUND_EXCEEDS_CHARGE",
        409,
        "refunding more than is left of the charge",
        W(
            "退费数量 {quantity} 超过可退数量 {left}",
            "Refund of {quantity} exceeds the {left} still charged",
        ),
    ),
    ErrorCode(
        "INSURANCE_CODE_CONFLICT",
        409,
        "the insurance code is linked to another live consumable (`detail.conflicts`)",
        LINKED_ELSEWHERE,
    ),
    ErrorCode(
        "UDI_DI_CONFLICT",
        409,
        "the UDI-DI is linked to another live consumable (`detail.conflicts`)",
        LINKED_ELSEWHERE,
    ),
    ErrorCode(
        "CHARGE_CODE_CONFLICT",
        409,
        "the charge code is linked to another live consumable (`detail.conflicts`)",
        LINKED_ELSEWHERE,
    ),
    ErrorCode(
        "ORDER_CODE_CONFLICT",
        409,
        "the order code is linked to another live consumable (`detail.conflicts`)",
        LINKED_ELSEWHERE,
    ),
    ErrorCode(
        "CONSUMABLE_INACTIVE",
        409,
        "a change to a consumable no longer in use",
        W("耗材 {material_code} 已停用", "consumable {material_code} is retired"),
    ),
    ErrorCode(
        "MAPPING_STALE",
        409,
        "the item's codes changed since the mapping change was proposed",
        W(
            "提出变更后该耗材的编码或医保支付类别已被修改，请重新提出",
            "the item's codes or insurance terms changed since this proposal: propose again",
        ),
    ),
    ErrorCode(
        "PRICE_VERSION_NOT_PENDING",
        409,
        "a price version decided already (two people deciding at once decide once)",
        W("该调价申请已处理", "This price proposal has already been decided"),
    ),
    ErrorCode(
        "MAPPING_CHANGE_NOT_PENDING",
        409,
        "a mapping change decided already (two people deciding at once decide once)",
        W("该对码变更已处理", "this mapping change has already been decided"),
    ),
    ErrorCode(
        "SUBMISSION_NOT_PENDING",
        409,
        "a submission reviewed already (two people deciding at once decide once)",
        W("该提交已审核", "this submission has already been reviewed"),
    ),
    ErrorCode(
        "SUBMISSION_PENDING",
        409,
        "a submission for the item awaits review",
        W(
            "该品种已有一份待审核的提交，请等待医院审核",
            "a submission of this product already awaits review",
        ),
    ),
    ErrorCode(
        "STAGING_ROW_NOT_EDITABLE",
        409,
        "a staging row already promoted or superseded",
        W("该行状态为「{status}」，不能修改", "this row is {status} and cannot be changed"),
    ),
    ErrorCode(
        "STOCKTAKE_IN_PROGRESS",
        409,
        "a count of the location is already open or submitted",
        W(
            "{department} 已有进行中的盘点单，请继续该盘点或先取消",
            "A count of this location is already in progress",
        ),
    ),
    ErrorCode(
        "STOCKTAKE_NOT_OPEN",
        409,
        "counting on a stocktake submitted for confirmation",
        W(
            "该盘点单已提交复核，不能继续盘点；如需补盘请先退回",
            "Stocktake submitted: send it back to count again",
        ),
    ),
    ErrorCode(
        "STOCKTAKE_NOT_SUBMITTED",
        409,
        "confirming a stocktake not submitted yet",
        W("该盘点单尚未提交复核", "Stocktake not submitted for confirmation yet"),
    ),
    ErrorCode(
        "STOCKTAKE_CANCELLED",
        409,
        "any change to a cancelled stocktake",
        W("该盘点单已取消", "Stocktake cancelled"),
    ),
    ErrorCode(
        "ALREADY_POSTED",
        409,
        "any change to a posted stocktake",
        W("该盘点单已复核过账，不能再修改", "Already posted"),
    ),
    ErrorCode(
        "ALREADY_COUNTED",
        409,
        "a unit scanned twice in one stocktake",
        W(
            "单件 {serial} 已在本次盘点中计数",
            "Unit {serial} was already counted in this stocktake",
        ),
    ),
    ErrorCode(
        "UNKNOWN_UNIT",
        409,
        "a serial or in-hospital label counted that was never received",
        W("系统中没有该序列号/院内码的入库记录，请先办理入库", "This unit was never received"),
    ),
    ErrorCode(
        "UNIT_LEFT_STOCK",
        409,
        "a unit counted that is recorded as used, scrapped or returned",
        W(
            "单件 {serial} 已记录为使用、报损或退货，不能盘入；请先更正该记录",
            "Unit {serial} is recorded as used, scrapped or returned",
        ),
    ),
    ErrorCode(
        "STOCK_MOVED_DURING_COUNT",
        409,
        "posting a count whose book moved meanwhile, without accepting the drift",
        W(
            "盘点期间库存有变动，请核对后确认按实盘数过账",
            "The book moved during the count: review the drift and accept it to post",
        ),
    ),
    # -- 422, 429, 5xx ---------------------------------------------------------------------
    ErrorCode(
        "FOUR_PRICE_VIOLATION",
        422,
        "approving a price version that breaks the four-price rule",
        W(
            "不符合四价统一规则，不能批准",
            "The prices break the four-price rule and cannot be approved",
        ),
    ),
    ErrorCode(
        "THROTTLED",
        429,
        "over `DJANGO_SCAN_RATE` or `DJANGO_DECODE_RATE`",
        W("请求过于频繁", "Too many requests"),
    ),
    ErrorCode(
        "ERROR",
        406,
        "any other refusal of the framework (e.g. 406 Not Acceptable), with its status",
        W("请求失败", "{reason}"),
    ),
    ErrorCode(
        "RECONCILIATION_FAILED",
        500,
        "a reconciliation run in the request failed; the previous result stands",
        W("对账失败，原有结果保留不变", "The reconciliation failed; the previous result stands"),
    ),
    ErrorCode(
        "BROKER_UNAVAILABLE",
        503,
        "the task queue does not answer",
        W("任务队列不可用，请稍后重试", "The task queue is unavailable; retry later"),
    ),
)


def entry(code: str) -> ErrorCode:
    try:
        return CATALOGUE[code]
    except KeyError:
        raise ValueError(f"{code!r} is not in the catalogue (config/error_codes.py)") from None


# -- docs/contract.md ----------------------------------------------------------------------

TABLE_START = "<!-- error codes: generated from config/error_codes.py -->"
TABLE_END = "<!-- end of error codes -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """The catalogue as docs/contract.md shows it: each code with its status and when, then
    what each says (``{name}``: filled in by the raise)."""
    lines = [
        TABLE_START,
        "| code | status | when |",
        "|---|---|---|",
    ]
    for e in CATALOGUE.values():
        statuses = [e.status, *e.also]
        lines.append(f"| `{e.code}` | {', '.join(map(str, statuses))} | {_cell(e.when)} |")
    lines += [
        "",
        "What each says (`message`, `message_en`; a case is one situation of the code, "
        "*: the raising site words it, this is the fallback):",
        "",
        "| code | case | message | message_en |",
        "|---|---|---|---|",
    ]
    for e in CATALOGUE.values():
        for case, w in e.wordings():
            name = f"`{e.code}`" + ("*" if e.caller_words else "")
            lines.append(f"| {name} | {case} | {_cell(w.message)} | {_cell(w.message_en)} |")
    lines.append(TABLE_END)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m config.error_codes: the table to paste
    print(markdown(), end="")
