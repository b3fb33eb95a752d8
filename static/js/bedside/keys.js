/* Scanner input: the scan field and the keyboard-wedge key guard. scanbox.js (a classic
 * script) turns the box's Enter or Tab into a "scan" event; the 确认 button and the
 * quantity field's Enter are handled here.
 *
 * A keyboard-wedge scanner types wherever focus is. Keys typed while focus is on a button,
 * a link or nothing would be lost, and the read's Enter would press that button (a focused
 * "send the scan again" once resubmitted the previous item): they go into the scan box
 * instead. Fields where the nurse types (a quantity, the consent form) keep their keys,
 * except a read spilling into a quantity field, which is moved to the box.
 */
var TEXT_TYPES = /^(text|search|number|tel|email|url|password)$/;
var QTY_MAX_DIGITS = 5;

function takesText(node) {
  if (!node || !node.tagName) return false;
  if (node.isContentEditable || node.tagName === "TEXTAREA" || node.tagName === "SELECT") {
    return true;
  }
  return node.tagName === "INPUT" && TEXT_TYPES.test(node.type);
}

export function attachKeys(page) {
  var box = page.box;
  var qtyInput = page.qtyInput;

  function submitBox() {
    var code = box.value;
    box.value = "";
    page.scan.take(code);
    box.focus();
  }

  function intoBox(text, finish) {
    box.focus();
    box.value += text;
    if (finish) submitBox();
  }

  function qtyKeys(event, field) {
    var key = event.key;
    if (key === "Enter" && field.value.length <= QTY_MAX_DIGITS) return; // the count's Enter
    if (/^[0-9]$/.test(key) && field.value.length < QTY_MAX_DIGITS) return;
    // A letter, or more digits than any count: a scanner read that landed here.
    event.preventDefault();
    var text = field.value + (key === "Enter" ? "" : key);
    field.value = "";
    intoBox(text, key === "Enter");
  }

  function guardKeys(event) {
    var target = event.target;
    var key = event.key;
    if (target === box || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
      return;
    }
    if (!key || (key.length !== 1 && key !== "Enter")) return;
    if (target.hasAttribute && target.hasAttribute("data-qty-field")) {
      qtyKeys(event, target);
      return;
    }
    if (takesText(target)) return;
    if ((key === "Enter" || key === " ") && !box.value) return; // a person pressing a button
    event.preventDefault();
    intoBox(key === "Enter" ? "" : key, key === "Enter");
  }

  document.addEventListener("keydown", guardKeys, true);
  box.addEventListener("scan", function (event) { page.scan.take(event.detail.code); });
  page.root.querySelector("[data-scan-submit]").addEventListener("click", submitBox);
  if (qtyInput) {
    qtyInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        box.focus();
      }
    });
  }
}
