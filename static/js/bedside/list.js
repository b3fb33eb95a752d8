/* Today's uses of the patient (今日使用): the server's rows come with the patient panel;
 * this adds this device's own scans above them (waiting ones grey, recorded ones until the
 * server's list has them), with 取消 for an unsent scan and 撤销 for a recorded one.
 * Drawing it also redraws the refusals (refusals.js).
 */
import { el, gettext, hhmm, interpolate, itemTitle, messageOf, startOfToday, visible, yuan } from "./kit.js";

var BADGES = { NO_ORDER: gettext("无医嘱"), NO_HIGH_VALUE_APPROVAL: gettext("无审批") };

export function createList(page) {
  var slot = page.slot;

  function serverEventIds() {
    var ids = {};
    slot.querySelectorAll("[data-server-rows] tr[data-event-id]").forEach(function (row) {
      ids[row.getAttribute("data-event-id")] = row;
    });
    return ids;
  }

  function render() {
    page.refusals.render();
    var body = slot.querySelector("[data-session-rows]");
    if (!body) return;
    body.textContent = "";
    var patient = page.patient.current();
    if (!patient) return;
    var onServer = serverEventIds();
    var midnight = startOfToday();
    var serverLoadedAt = page.patient.loadedAt();
    var mine = page.queue.all().filter(function (e) {
      if (e.encounter !== patient.visit_no || e.ward !== page.ward) return false;
      if (e.state !== "ok" && e.state !== "err") return true; // waiting: always shown
      if (e.createdAt < midnight) return false;
      if (e.state === "err") return false; // refusals have their own list
      if (e.kind === "use" && onServer[e.id]) return false;
      // Settled before the server's list was (re)loaded: that list already shows it.
      return !(serverLoadedAt > e.settledAt);
    });
    mine.slice().reverse().forEach(function (entry) { body.appendChild(row(entry)); });
    var empty = slot.querySelector("[data-server-rows] tr[data-empty]");
    if (empty) empty.hidden = mine.length > 0;
    var note = slot.querySelector("[data-local-note]");
    if (note && serverLoadedAt) {
      var waiting = mine.filter(function (e) { return e.state !== "ok" && e.state !== "err"; });
      note.hidden = !waiting.length;
      note.textContent = waiting.length
        ? gettext("灰色为本机待发送记录 / Grey rows are waiting on this device") : "";
    }
  }

  function row(entry) {
    var state = entry.state;
    var tr = el("tr", "local " + (state === "sending" ? "pending sending" : state) +
      (entry.undone ? " returned" : ""));
    tr.setAttribute("data-entry", entry.id);
    tr.setAttribute("data-state", state);
    tr.appendChild(el("td", "time", hhmm(entry.createdAt)));
    var item = el("td", "item");
    var waiting = state === "pending" || state === "sending";
    var title = itemTitle(entry) || (waiting ? gettext("待发送的扫码 / Waiting scan") : visible(entry.code));
    item.appendChild(el("div", "bs-item-name",
      (entry.kind === "return" ? gettext("↩ 撤销 ") : "") + title));
    var line = el("div", "code");
    if (state === "sending") {
      line.textContent = gettext("发送中…") + " · " + visible(entry.code);
    } else if (state === "pending") {
      line.textContent = (entry.attempts ? gettext("待发送（结果未知，将重发）") : gettext("待发送")) + " · " + visible(entry.code);
    } else if (state === "err") {
      line.textContent = "✗ " + (entry.error ? messageOf(entry.error) : "");
    } else if (entry.body) {
      line.textContent = entry.body.serial ? "SN " + entry.body.serial
        : entry.body.lot ? interpolate(gettext("批号 %(lot)s"), { lot: entry.body.lot }, true) : "";
      (entry.body.warnings || []).forEach(function (code) {
        if (BADGES[code]) line.appendChild(el("span", "badge warn", BADGES[code]));
      });
    }
    item.appendChild(line);
    tr.appendChild(item);
    var quantity = entry.body ? entry.body.quantity : entry.request.quantity || "";
    tr.appendChild(el("td", "num qty", quantity ? (entry.kind === "return" ? "-" : "×") + quantity : ""));
    var amount = el("td", "num amount");
    var charge = entry.body && entry.body.charge;
    if (charge) {
      amount.textContent = (entry.kind === "return" ? "-" : "") + yuan(charge.amount);
      if (charge.self_pay) amount.appendChild(el("span", "badge selfpay", gettext("自费")));
    }
    tr.appendChild(amount);
    var act = el("td", "act");
    if (entry.kind === "use" && state === "pending" && !entry.attempts) {
      var cancel = el("button", "bs-undo", gettext("取消 / Cancel"));
      cancel.type = "button";
      cancel.addEventListener("click", function () { page.undo.entry(entry); page.box.focus(); });
      act.appendChild(cancel);
    } else if (entry.kind === "use" && state === "ok" && !entry.undone) {
      var undo = el("button", "bs-undo", gettext("撤销 / Undo"));
      undo.type = "button";
      undo.setAttribute("data-undo", "");
      undo.addEventListener("click", function () {
        page.undo.arm(undo, function () { page.undo.entry(entry); });
        page.box.focus();
      });
      act.appendChild(undo);
    } else if (entry.undone) {
      act.appendChild(el("span", "bs-done", gettext("已撤销")));
    }
    tr.appendChild(act);
    return tr;
  }

  return { render: render };
}
