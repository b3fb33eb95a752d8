/* A box code (包装码, PACKAGE_CODE): the scan named a box, not a unit, and nothing was
 * recorded. The answer line asks for the unit's code (the scan box keeps focus) or the
 * number of units used; a count is a new use scan with its own event_id.
 */
import { ENGLISH, el, gettext, interpolate, uuid4, visible } from "./kit.js";
import { touch } from "./queue.js";

export function createBoxCode(page) {
  // Into the answer line `into`, already emptied for this entry.
  function ask(entry, who, into) {
    var detail = (entry.error && entry.error.detail) || {};
    into.className = "bs-result ask";
    into.setAttribute("data-question", "package");
    into.appendChild(el("div", "headline", interpolate(gettext(
      "这是包装码（每盒 %(n)s %(unit)s）：请扫描单件条码，或输入实际使用数量 / This is the box code (%(n)s per box): scan the single item, or enter how many you used"),
      { n: detail.units_per_package || "?", unit: detail.unit || "" }, true)));
    into.appendChild(el("div", "sub code", who + visible(entry.code)));
    if (entry.resolvedBy) {
      into.appendChild(el("div", "todo", gettext("已按数量登记 / Recorded by quantity")));
      return;
    }
    into.appendChild(countForm(entry, detail.unit || ""));
  }

  function countForm(entry, unit) {
    var form = el("form", "bs-package");
    form.setAttribute("data-package-form", "");
    var field = el("input", "bs-qty");
    field.type = "text";
    field.inputMode = "numeric";
    field.autocomplete = "off";
    field.setAttribute("data-qty-field", "");
    field.setAttribute("aria-label", gettext("实际使用数量 / Units used"));
    field.placeholder = gettext("数量");
    var record = el("button", "bs-btn", gettext("按数量登记 / Record"));
    record.type = "submit";
    record.setAttribute("data-package-record", "");
    var message = el("div", "bs-package-msg");
    form.appendChild(field);
    if (unit && !ENGLISH) form.appendChild(el("span", "unit", unit)); // the master's word
    form.appendChild(record);
    form.appendChild(message);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = field.value.trim();
      var quantity = /^[0-9]{1,5}$/.test(text) ? parseInt(text, 10) : 0;
      if (!quantity) {
        message.textContent = gettext("请输入使用数量（整数） / Enter the number of units used");
        field.focus();
        return;
      }
      answer(entry, quantity);
      page.box.focus();
    });
    return form;
  }

  function answer(entry, quantity) {
    // A new event_id: the refused scan's id keeps its own (refused) content.
    var request = Object.assign({}, entry.request, { event_id: uuid4(), quantity: quantity });
    entry.resolvedBy = request.event_id;
    touch(entry);
    page.sender.send({
      kind: "use", code: entry.code, request: request, answers: entry.id,
      patientName: entry.patientName,
    });
  }

  return { ask: ask };
}
