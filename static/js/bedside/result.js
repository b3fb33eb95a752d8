/* The big answer line under the scan box: the latest scan's state (sending, waiting,
 * recorded with its amount and warnings, refused with the reason and what to do next),
 * short notices, and where a refusal asks for the consent or a box code for a count.
 */
import {
  asideOf, el, gettext, interpolate, itemTitle, messageOf, visible, yuan,
} from "./kit.js";

var WARNINGS = {
  NO_ORDER: gettext("无对应医嘱，已记录，请补开医嘱 / No doctor order: recorded, ask for the order"),
  NO_HIGH_VALUE_APPROVAL:
    gettext("高值耗材未登记使用审批，已记录，请补登审批 / No high-value approval: recorded, get it approved"),
  POSSIBLE_MISSING_SEPARATOR:
    gettext("条码可能缺少分隔符，请核对批号/序列号 / The code may have lost a separator: check lot/serial"),
};
// What to do next, when the server's message does not already say it.
var HINTS = {
  ALREADY_USED: gettext("请核对实物：同一件不能重复使用或计费 / Check the item: a unit is used once"),
  NOT_IN_STOCK: gettext("本病区账上没有该耗材：请核对科室，或请库房先出库到本病区 / Not in this ward's stock"),
  EXPIRED: gettext("请更换一件，过期品交库房报损 / Use another one"),
  RECALLED: gettext("请更换一件，召回品隔离并交库房 / Use another one; set this one aside"),
  ENCOUNTER_CLOSED: gettext("患者已出院结算：请联系住院处 / Patient discharged"),
  UNKNOWN_ENCOUNTER: gettext("请重新扫描患者腕带 / Scan the wristband again"),
  UNKNOWN_CODE: gettext("请扫描最小包装上的 UDI 条码或院内码 / Scan the UDI or the hospital label"),
  UNREADABLE_CODE: gettext("请重新扫描 / Scan again"),
  AMBIGUOUS_CODE: gettext("请扫描包装上的 UDI 条码 / Scan the UDI barcode instead"),
  NO_CHARGE_MAPPING: gettext("未出库、未计费：请联系物价办/采购完成对照 / Nothing recorded"),
  NO_APPROVED_PRICE: gettext("未出库、未计费：请联系物价办 / Nothing recorded"),
  PERMISSION_DENIED: gettext("请确认病区与账号 / Check the ward and your account"),
  APPROVAL_REQUIRED: gettext("未出库、未计费：请先登记高值耗材使用审批 / Record the approval first"),
  TIME_OUT_OF_RANGE:
    gettext("扫码时间超出允许范围（离线过久），未记录：请核对后重新扫描 / Outside the time window: nothing recorded, scan it again"),
  ENCOUNTER_NOT_ON_WARD: gettext("请扫描本病区患者的腕带 / Scan the wristband of a patient of this ward"),
};

export function consentLine(consent) {
  return interpolate(gettext("已登记知情同意（签署人 %(name)s，%(relationship)s） / Consent recorded"),
    { name: consent.signed_by, relationship: consent.relationship }, true);
}

export function createResult(page) {
  var result = page.root.querySelector("[data-result]");

  function hide() {
    reset("bs-result");
    result.hidden = true;
  }

  // The line emptied and shown with this class; the node, to write into.
  function reset(className) {
    result.hidden = false;
    result.className = className;
    result.textContent = "";
    result.removeAttribute("data-entry");
    result.removeAttribute("data-notice");
    result.removeAttribute("data-question");
    return result;
  }

  function notice(text) {
    reset("bs-result info");
    result.appendChild(el("div", "headline small", text));
  }

  function show(entry) {
    reset("bs-result");
    result.setAttribute("data-entry", entry.id);
    var who = entry.patientName
      ? interpolate(gettext("患者 %(name)s · "), { name: entry.patientName }, true) : "";
    if (entry.state === "pending" || entry.state === "sending") {
      result.className = "bs-result pending";
      var offline = navigator.onLine === false || entry.note ||
        entry.attempts > (entry.state === "sending" ? 1 : 0);
      result.appendChild(el("div", "headline", offline
        ? (entry.kind === "return"
          ? interpolate(gettext("… 待发送 撤销 %(item)s"), { item: entry.itemName || "" }, true)
          : gettext("… 待发送"))
        : gettext("… 发送中 / Sending")));
      result.appendChild(el("div", "sub", entry.note ||
        (offline ? gettext("已保存在本机，联网后自动发送 / Kept on this device, sent when online") : "")));
      result.appendChild(el("div", "sub code", who + visible(entry.code)));
      return;
    }
    if (entry.state === "ok") {
      var body = entry.body || {};
      var charge = body.charge;
      result.className = "bs-result ok";
      var head = el("div", "headline",
        (entry.kind === "return" ? gettext("↩ 已撤销：") : "✓ ") + itemTitle(entry));
      if (charge && charge.self_pay) head.appendChild(el("span", "badge selfpay", gettext("自费")));
      result.appendChild(head);
      var facts = [];
      if (entry.kind === "return") {
        facts.push(interpolate(gettext("退回 %(qty)s"), { qty: body.quantity }, true));
        if (charge) {
          facts.push(interpolate(gettext("退费 %(amount)s"), { amount: yuan(charge.amount) }, true));
        }
      } else {
        facts.push(interpolate(gettext("数量 %(qty)s"), { qty: body.quantity }, true));
        facts.push(charge
          ? interpolate(gettext("金额 %(amount)s"), { amount: yuan(charge.amount) }, true)
          : gettext("不单独计费 / not charged by scan"));
      }
      result.appendChild(el("div", "facts", facts.join(" · ")));
      var more = [];
      if (body.lot) more.push(interpolate(gettext("批号 %(lot)s"), { lot: body.lot }, true));
      if (body.serial) more.push("SN " + body.serial);
      if (body.expiry) {
        more.push(interpolate(gettext("效期 %(expiry)s"), { expiry: body.expiry }, true));
      }
      result.appendChild(el("div", "sub", who + more.join(" · ")));
      if (entry.consent) result.appendChild(el("div", "sub", consentLine(entry.consent)));
      (body.warnings || []).forEach(function (code) {
        result.appendChild(el("div", "warning", "⚠ " + (WARNINGS[code] || code)));
      });
      if (entry.status === 200) {
        result.appendChild(el("div", "sub", gettext("此前已记录，按首次结果返回，未重复计费 / Replay: recorded once")));
      }
      return;
    }
    var error = entry.error || {};
    if (error.code === "PACKAGE_CODE") { page.boxCode.ask(entry, who, result); return; }
    result.className = "bs-result err";
    result.appendChild(el("div", "headline", "✗ " + (messageOf(error) || gettext("失败"))));
    var sub = el("div", "sub");
    sub.appendChild(el("span", "code", error.code || ""));
    if (asideOf(error)) sub.appendChild(document.createTextNode(" " + asideOf(error)));
    result.appendChild(sub);
    result.appendChild(el("div", "sub code", who + visible(entry.code)));
    if (error.code === "CONSENT_REQUIRED") {
      var detail = error.detail || {};
      if (detail.restriction) {
        result.appendChild(el("div", "todo",
          interpolate(gettext("限定支付条件：%(restriction)s"), { restriction: detail.restriction }, true)));
      }
      if (entry.consent) {
        // Sent again by itself once the consent was recorded: refused all the same.
        result.appendChild(el("div", "todo", consentLine(entry.consent)));
      } else {
        result.appendChild(el("div", "todo",
          gettext("请患者或家属签署《自费知情同意书》后登记 / Have the consent form signed, then record it")));
        var record = el("button", "bs-btn", gettext("登记知情同意 / Record consent"));
        record.type = "button";
        record.setAttribute("data-consent", "");
        record.addEventListener("click", function () {
          record.remove();
          page.consent.form(entry, result);
        });
        result.appendChild(record);
      }
    } else if (HINTS[error.code]) {
      result.appendChild(el("div", "todo", "➜ " + HINTS[error.code]));
    }
  }

  return { show: show, notice: notice, hide: hide, reset: reset };
}
