/* The waiting bar and the network badge: how many scans wait on this device (and for
 * other patients), a login link while held, "立即发送"; a short "all sent" when the queue
 * empties after an outage. Beside the big answer line, never over it.
 */
import { el, gettext, interpolate } from "./kit.js";

export function createQueueBar(page) {
  var bar = page.root.querySelector("[data-queue]");
  var netBadge = page.root.querySelector("[data-net]");

  function flash(text) {
    // Said beside the big line, not over it: that one shows the latest scan's answer.
    bar.hidden = false;
    bar.className = "bs-queue done";
    bar.textContent = "";
    bar.appendChild(el("span", "count", text));
    setTimeout(function () {
      if (!page.queue.pending().length && bar.classList.contains("done")) {
        bar.hidden = true;
      }
    }, 5000);
  }

  function update() {
    var waiting = page.queue.waiting();
    var offline = navigator.onLine === false;
    var held = page.sender.held();
    if (netBadge) {
      netBadge.hidden = !offline && !held;
      netBadge.textContent = held ? gettext("未登录 / Logged out") : gettext("离线 / Offline");
    }
    if (!waiting.length) {
      if (!bar.classList.contains("done")) {
        bar.hidden = true;
        bar.textContent = "";
      }
      return;
    }
    var patient = page.patient.current();
    var others = waiting.filter(function (e) {
      return !patient || e.encounter !== patient.visit_no;
    }).length;
    bar.hidden = false;
    bar.textContent = "";
    bar.className = "bs-queue" + (held ? " held" : "");
    var text = others
      ? interpolate(gettext("… 待发送 %(n)s 条（其中其他患者 %(others)s 条） / %(n)s waiting"),
        { n: waiting.length, others: others }, true)
      : interpolate(gettext("… 待发送 %(n)s 条 / %(n)s waiting"), { n: waiting.length }, true);
    bar.appendChild(el("span", "count", text));
    bar.setAttribute("data-count", String(waiting.length));
    if (held) {
      var link = el("a", "bs-btn", gettext("重新登录 / Log in"));
      link.href = page.loginHref();
      link.target = "_blank";
      link.rel = "opener";
      bar.appendChild(link);
    }
    var now = el("button", "bs-btn secondary", gettext("立即发送 / Send now"));
    now.type = "button";
    now.setAttribute("data-send-now", "");
    now.addEventListener("click", function () {
      page.sender.sendNow();
      page.box.focus();
    });
    bar.appendChild(now);
  }

  return { update: update, flash: flash };
}
