/* What a read means, wherever it came from (the wedge scanner, the 确认 button, the
 * camera): with no patient, a wristband (an item's code is refused: wristband first); on a
 * patient, another ward patient's wristband moves to that patient, anything else is a use
 * of an item, unless it looks like the scanner firing twice (repeat.js asks).
 */
import { el, gettext, interpolate, uuid4, visible } from "./kit.js";
import { looksLikeItemCode, stripSymbology } from "./codes.js";
import { audio, sound } from "./sound.js";

export function createScan(page) {
  var qtyInput = page.qtyInput;

  function take(raw) {
    var code = raw.replace(/^[ \r\n\t]+|[ \r\n\t]+$/g, "");
    if (!code) return;
    audio(); // a key press or tap: the moment a browser lets a page make sound
    if (page.camera.isOpen()) page.camera.close();
    var asked = page.repeat.close(); // any next scan answers or dismisses the question
    var patient = page.patient.current();
    if (!patient) { withoutPatient(code); return; }
    var visit = stripSymbology(code);
    if (page.patient.onWard(visit) && visit !== patient.visit_no) {
      // A wristband scanned while on another patient: move to that patient.
      page.patient.select(visit);
      return;
    }
    if (visit === patient.visit_no) {
      page.result.notice(interpolate(gettext("已是当前患者 %(name)s / Already this patient"),
        { name: patient.name }, true));
      sound("ok");
      return;
    }
    if (asked && asked.code === code && asked.encounter === patient.visit_no) {
      recordUse(code); // scanned again after "add another?": she means it
      return;
    }
    var first = page.repeat.repeated(code);
    if (first) { page.repeat.open(first); return; }
    recordUse(code);
  }

  function withoutPatient(code) {
    var visit = stripSymbology(code).trim();
    if (!page.patient.onWard(visit) && looksLikeItemCode(code)) { wristbandFirst(code); return; }
    page.patient.select(code);
  }

  function wristbandFirst(code) {
    // An item scanned before any wristband: it is not a visit number; nothing is recorded.
    var result = page.result.reset("bs-result err");
    result.setAttribute("data-notice", "WRISTBAND_FIRST");
    result.appendChild(el("div", "headline",
      gettext("✗ 请先扫描患者腕带 / Scan the patient's wristband first")));
    result.appendChild(el("div", "sub", gettext("这是耗材条码，未记录 / An item's code: nothing recorded")));
    result.appendChild(el("div", "sub code", visible(code)));
    sound("err");
  }

  // A use of the item on the current patient, with the quantity field's count if any.
  function recordUse(code) {
    var quantity = qtyInput && qtyInput.value ? parseInt(qtyInput.value, 10) : null;
    if (qtyInput) qtyInput.value = "";
    var request = {
      event_id: uuid4(),
      action: "use",
      code: code,
      department: page.ward,
      encounter: page.patient.current().visit_no,
      occurred_at: page.now(),
    };
    if (quantity && quantity > 0) request.quantity = quantity;
    page.sender.send({ kind: "use", code: code, request: request });
  }

  return { take: take, recordUse: recordUse };
}
