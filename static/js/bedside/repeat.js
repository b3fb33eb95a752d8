/* "Scanned twice: add another?" (重复扫码): the same code again at once, for the same
 * patient, right after a read that may have charged a lot-tracked item, is asked about
 * instead of charged. A third read or "再加一件" charges it; any other scan dismisses it;
 * the first read's refusal, or its answer naming a unit, closes the question.
 */
import { el, gettext, itemTitle, visible } from "./kit.js";
import { tracksUnits } from "./codes.js";
import { sound } from "./sound.js";

export function createRepeat(page) {
  var ask = page.root.querySelector("[data-ask]");
  var question = null; // {code, encounter, firstId}: the question on screen

  function repeated(code) {
    // The scanner fired twice: that read, else null.
    var last = page.queue.last();
    var patient = page.patient.current();
    if (!last || last.kind !== "use" || last.answers) return null;
    if (last.code !== code || last.encounter !== patient.visit_no) return null;
    if (Date.now() - last.createdAt >= page.repeatMs) return null;
    if (last.state === "err" || tracksUnits(last)) return null;
    return last;
  }

  function open(first) {
    question = { code: first.code, encounter: first.encounter, firstId: first.id };
    ask.hidden = false;
    ask.textContent = "";
    ask.setAttribute("data-question", "repeat");
    ask.appendChild(el("div", "headline", gettext("重复扫码：再加一件？ / Scanned twice: add another?")));
    ask.appendChild(el("div", "sub", itemTitle(first) || visible(first.code)));
    ask.appendChild(el("div", "sub",
      gettext("未重复计费。再扫一次或点“再加一件”才计费 / Not charged again: scan it again or press “Add another”")));
    var more = el("button", "bs-btn", gettext("再加一件 / Add another"));
    more.type = "button";
    more.setAttribute("data-add-another", "");
    more.addEventListener("click", function () {
      var asked = close();
      var patient = page.patient.current();
      if (asked && patient && asked.encounter === patient.visit_no) page.scan.recordUse(asked.code);
      page.box.focus();
    });
    ask.appendChild(more);
    sound("pending");
  }

  // The question closed; what it asked ({code, encounter, firstId}), or null.
  function close() {
    var asked = question;
    question = null;
    ask.hidden = true;
    ask.textContent = "";
    ask.removeAttribute("data-question");
    return asked;
  }

  function answered(entry) {
    // The first read's answer came: refused (nothing charged) or a unit (the server
    // refuses a second use): the second read was no second item, nothing to ask.
    if (!question || question.firstId !== entry.id) return;
    if (entry.state === "err" || (entry.state === "ok" && tracksUnits(entry))) close();
  }

  return { repeated: repeated, open: open, close: close, answered: answered };
}
