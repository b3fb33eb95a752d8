/* Scans not recorded (未记录的扫码): the day's refusals of this ward (any patient, the
 * latest few), apart from the uses, so an offline scan refused when the queue is sent is
 * shown, never dropped silently. A box code answered with a count leaves the list.
 */
import { el, gettext, hhmm, messageOf, startOfToday, visible } from "./kit.js";

var REFUSALS_SHOWN = 5;

export function createRefusals(page) {
  var box = page.root.querySelector("[data-refusals]");
  var list = page.root.querySelector("[data-refusal-list]");

  function render() {
    var midnight = startOfToday();
    var refused = page.queue.all().filter(function (e) {
      return e.state === "err" && !e.resolvedBy && e.ward === page.ward &&
        e.createdAt >= midnight;
    }).slice(-REFUSALS_SHOWN).reverse();
    list.textContent = "";
    refused.forEach(function (entry) { list.appendChild(row(entry)); });
    box.hidden = !refused.length;
  }

  function row(entry) {
    var error = entry.error || {};
    var li = el("li", "bs-refused");
    li.setAttribute("data-refused", entry.id);
    li.setAttribute("data-code", error.code || "");
    var line = el("div", "line");
    line.appendChild(el("span", "time", hhmm(entry.createdAt)));
    if (entry.patientName) line.appendChild(el("span", "who", entry.patientName));
    line.appendChild(el("span", "reason", "✗ " + (entry.kind === "return" ? gettext("↩ 撤销 ") : "") +
      (messageOf(error) || error.code || "")));
    li.appendChild(line);
    var sub = el("div", "sub");
    sub.appendChild(el("span", "code", error.code || ""));
    sub.appendChild(el("span", "scanned", visible(entry.code)));
    li.appendChild(sub);
    return li;
  }

  return { render: render };
}
