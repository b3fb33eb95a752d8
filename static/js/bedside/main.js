/* Bedside scanning 床旁扫码 (templates/billing/bedside/page.html): the page's wiring.
 *
 * First the patient's wristband, then the items used on him. Every item scan becomes an
 * entry with its own event_id, kept on the device before it is sent (queue.js), sent in
 * scan order and again after a network drop with the same event_id (sender.js).
 *
 * Each module owns one concern and is made here with `page`, the page's shared context:
 * its nodes, its settings and the other modules, reached at call time (page.list.render())
 * so that none imports another's state. Native ES modules, no build step: the classic
 * scripts before (the catalogue from /i18n/js/, scanbox.js, pagekit.js) give the globals
 * that kit.js reads.
 */
import { createBoxCode } from "./boxcode.js";
import { createCamera } from "./camera.js";
import { createConsent } from "./consent.js";
import { attachKeys } from "./keys.js";
import { createList } from "./list.js";
import { createPatient } from "./patient.js";
import { createQueue } from "./queue.js";
import { createQueueBar } from "./queuebar.js";
import { createRefusals } from "./refusals.js";
import { createRepeat } from "./repeat.js";
import { createResult } from "./result.js";
import { createScan } from "./scan.js";
import { createSender } from "./sender.js";
import { createUndo } from "./undo.js";

function setup(root) {
  var ward = root.getAttribute("data-ward");
  var box = root.querySelector("[data-scanbox]");
  if (!box || !ward) return;
  var loginUrl = root.getAttribute("data-login-url");
  // The server's clock, so a scan queued offline carries the time it happened even when
  // the PDA's own clock is wrong.
  var clockOffset = parseInt(root.getAttribute("data-server-now"), 10) - Date.now();
  if (isNaN(clockOffset)) clockOffset = 0;
  // Identical reads of a lot-tracked item closer than this: asked about, not charged twice.
  var repeatMs = parseFloat(root.getAttribute("data-repeat-seconds")) * 1000;
  if (isNaN(repeatMs) || repeatMs < 0) repeatMs = 2000;

  var page = {
    root: root,
    user: root.getAttribute("data-user"),
    ward: ward,
    urls: {
      scan: root.getAttribute("data-scan-api"),
      consent: root.getAttribute("data-consent-api"),
      decode: root.getAttribute("data-decode-api"),
      patient: root.getAttribute("data-patient-url"),
    },
    repeatMs: repeatMs,
    box: box,
    qtyInput: root.querySelector("[data-qty]"),
    slot: root.querySelector("[data-patient-slot]"),
    // When a scan happened, by the server's clock.
    now: function () { return new Date(Date.now() + clockOffset).toISOString(); },
    // The login page, coming back here.
    loginHref: function () {
      return loginUrl + "?next=" + encodeURIComponent(location.pathname + location.search);
    },
  };
  page.queue = createQueue(page);
  page.sender = createSender(page);
  page.queueBar = createQueueBar(page);
  page.patient = createPatient(page);
  page.result = createResult(page);
  page.boxCode = createBoxCode(page);
  page.consent = createConsent(page);
  page.list = createList(page);
  page.refusals = createRefusals(page);
  page.undo = createUndo(page);
  page.repeat = createRepeat(page);
  page.scan = createScan(page);
  page.camera = createCamera(page);
  attachKeys(page);

  page.slot.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-change-patient]")) { page.patient.clear(); return; }
    var undo = target.closest("[data-server-rows] [data-undo]");
    if (undo) {
      var row = undo.closest("tr");
      page.undo.arm(undo, function () { page.undo.serverRow(row); });
      box.focus();
    }
  });
  window.addEventListener("online", function () {
    page.sender.online();
    page.queueBar.update();
    page.sender.pump();
  });
  window.addEventListener("offline", function () { page.queueBar.update(); });
  window.addEventListener("storage", function (event) {
    // Another tab of the same nurse changed the queue.
    if (event.key !== page.queue.storageKey) return;
    page.queue.reload();
    page.list.render();
    page.queueBar.update();
    page.sender.pump();
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) page.sender.pump();
  });

  page.queue.load();
  page.patient.read();
  var last = page.queue.last();
  var patient = page.patient.current();
  if (last && patient && last.encounter === patient.visit_no && last.state !== "ok") {
    page.sender.follow(last);
    page.result.show(last);
  }
  page.queueBar.update();
  page.sender.pump();
}

// A module runs once the page is parsed, before DOMContentLoaded: waiting for it keeps
// scanbox.js's own setup of the box first, as with the classic script before.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-bedside]").forEach(setup);
});
