/* The self-pay consent (自费知情同意): a CONSENT_REQUIRED refusal offers the form; once
 * POST /api/v1/consents records it, the held scan is sent again with its own event_id.
 */
import { csrfToken, gettext, messageOf, readAnswer } from "./kit.js";
import { touch } from "./queue.js";
import { sound } from "./sound.js";

export function createConsent(page) {
  var box = page.box;

  // The form for this refused entry, put into `into` (the answer line).
  function form(entry, into) {
    var template = page.root.querySelector("[data-consent-template]");
    if (!template) return;
    var node = template.content.firstElementChild.cloneNode(true);
    var signer = node.querySelector("[name=signed_by]");
    var message = node.querySelector("[data-consent-msg]");
    signer.value = entry.patientName || "";
    node.querySelector("[data-consent-cancel]").addEventListener("click", function () {
      node.remove();
      box.focus();
    });
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {
        encounter: entry.request.encounter,
        code: entry.code,
        signed_by: signer.value.trim(),
        relationship: node.querySelector("[name=relationship]").value,
      };
      if (!body.signed_by) { signer.focus(); return; }
      message.className = "bs-consent-msg";
      message.textContent = gettext("提交中… / Sending");
      fetch(page.urls.consent, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify(body),
      }).then(readAnswer).then(function (answer) {
        if (answer.status === 200 || answer.status === 201) {
          // The held scan goes by itself and the scanner's next read lands in the scan
          // box: a button left focused here once took the next read's Enter and
          // resubmitted the previous item.
          entry.consent = answer.data;
          touch(entry);
          node.remove();
          box.focus();
          page.sender.resend(entry);
        } else {
          var error = (answer.data && answer.data.error) || {};
          message.className = "bs-consent-msg err";
          message.textContent = "✗ " + (messageOf(error) || gettext("登记失败 / Failed")) +
            (error.code ? " (" + error.code + ")" : "");
          sound("err");
        }
      }).catch(function () {
        message.className = "bs-consent-msg err";
        message.textContent = gettext("✗ 网络不通，知情同意未登记，请联网后再试 / Offline: not recorded");
        sound("err");
      });
    });
    into.appendChild(node);
    signer.focus();
    signer.select();
  }

  return { form: form };
}
