/* Keyboard-wedge scanner input (扫码枪): the scan box keeps focus, Enter or Tab ends a scan.
 *
 * Usage: <input data-scanbox> inside a page; listen for the "scan" event on the input:
 *   input.addEventListener("scan", (e) => handle(e.detail.code));
 * GS (ASCII 29) characters survive: scanners that send them as key events still deliver
 * them in the input value. Focus returns to the box after any click outside a form field.
 */
(function () {
  "use strict";

  function attach(box) {
    box.setAttribute("autocomplete", "off");
    box.setAttribute("autocorrect", "off");
    box.setAttribute("autocapitalize", "off");
    box.setAttribute("spellcheck", "false");

    function finish(event) {
      const code = box.value.replace(/[\r\n\t]+$/, "");
      if (event) event.preventDefault();
      if (!code.trim()) return;
      box.value = "";
      box.dispatchEvent(new CustomEvent("scan", { detail: { code: code }, bubbles: true }));
    }

    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === "Tab") finish(event);
    });

    document.addEventListener("click", function (event) {
      const target = event.target;
      if (target.closest("input, select, textarea, button, a, label, [data-keep-focus]")) return;
      box.focus();
    });
    window.addEventListener("focus", function () { box.focus(); });
    box.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-scanbox]").forEach(attach);
  });
})();
