/* Sending the kept scans to POST /api/v1/scans, one at a time in scan order:
 *   - network down (fetch throws, times out, navigator.onLine false), a 5xx, 408 or 429:
 *     the entry stays pending (待发送) and is sent again, with the SAME event_id, on the
 *     "online" event, on a retry timer, or with "立即发送"; the API records an event_id at
 *     most once and answers a replay with the first answer (200);
 *   - logged out (401) or a stale CSRF token (403 CSRF): held until the nurse logs in again;
 *   - any other 4xx: refused, nothing recorded (with the reason and what to do).
 * It also knows which scan is the latest, the one the big answer line shows.
 */
import { csrfToken, gettext, interpolate } from "./kit.js";
import { touch } from "./queue.js";
import { sound } from "./sound.js";

var SEND_TIMEOUT_MS = 15000;
var RETRY_MIN_MS = 3000;
var RETRY_MAX_MS = 30000;

export function createSender(page) {
  var queue = page.queue;
  var inFlightId = null;
  var sending = false;
  var held = false; // logged out / CSRF: wait for a new login
  var retryTimer = null;
  var retryDelay = RETRY_MIN_MS;
  var lastEntryId = null;
  var hadOfflineQueue = false;

  // A new scan: kept, shown as the latest, then sent in its turn.
  function send(fields) {
    var patient = page.patient.current();
    var entry = Object.assign({
      id: fields.request.event_id,
      ward: page.ward,
      encounter: fields.request.encounter,
      patientName: patient ? patient.name : "",
      createdAt: Date.now(),
      state: "pending",
      attempts: 0,
      rev: 1,
    }, fields);
    queue.push(entry);
    queue.save();
    lastEntryId = entry.id;
    page.result.show(entry);
    page.list.render();
    page.queueBar.update();
    if (navigator.onLine === false) sound("pending");
    pump();
    return entry;
  }

  function post(entry) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, SEND_TIMEOUT_MS) : null;
    return fetch(page.urls.scan, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(entry.request),
      signal: controller ? controller.signal : undefined,
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: response.status, data: data };
      });
    }, function () {
      return { status: 0, data: null };
    }).then(function (answer) {
      if (timer) clearTimeout(timer);
      return answer;
    });
  }

  function isHeld(answer) {
    if (answer.status === 401) return true;
    if (answer.status !== 403) return false;
    var reason = answer.data && answer.data.error && answer.data.error.detail &&
      answer.data.error.detail.reason;
    return !answer.data || /CSRF|credentials|authenticat/i.test(String(reason || ""));
  }

  function scheduleRetry() {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { retryTimer = null; pump(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
  }

  function pump() {
    if (sending) return;
    var next = null;
    var entries = queue.all();
    for (var i = 0; i < entries.length; i++) {
      // "sending" here is a scan another tab (maybe closed since) had in flight: its
      // answer is unknown, so it is sent again, in its turn, with the same event_id.
      var state = entries[i].state;
      if (state === "pending" || (state === "sending" && entries[i].id !== inFlightId)) {
        next = entries[i];
        break;
      }
    }
    page.queueBar.update();
    if (!next) {
      if (hadOfflineQueue) {
        hadOfflineQueue = false;
        page.queueBar.flash(gettext("✓ 待发送的扫码已全部发送 / All waiting scans sent"));
      }
      return;
    }
    if (navigator.onLine === false) {
      hadOfflineQueue = true;
      scheduleRetry();
      return;
    }
    sending = true;
    inFlightId = next.id;
    next.state = "sending";
    next.attempts = (next.attempts || 0) + 1;
    touch(next);
    queue.save();
    page.list.render();
    post(next).then(function (answer) {
      sending = false;
      inFlightId = null;
      touch(next);
      settle(next, answer);
      page.repeat.answered(next);
      queue.save();
      page.list.render();
      page.queueBar.update();
      if (next.state === "pending") {
        scheduleRetry();
        return;
      }
      retryDelay = RETRY_MIN_MS;
      if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
      pump();
      if (!queue.pending().length) page.patient.refresh();
    });
  }

  function settle(entry, answer) {
    var status = answer.status;
    entry.status = status;
    if ((status === 200 || status === 201) && answer.data) {
      held = false;
      entry.state = "ok";
      entry.body = answer.data;
      entry.settledAt = Date.now();
      if (entry.kind === "return" && entry.undoOf) {
        var original = queue.find(entry.undoOf);
        if (original) {
          original.undone = true;
          touch(original);
        }
      }
      announce(entry, "ok");
      return;
    }
    if (status === 0 || status >= 500 || status === 408 || status === 429) {
      // Unknown outcome or server trouble: keep it, same event_id, send again later.
      entry.state = "pending";
      entry.note = status === 0
        ? gettext("网络不通，已保存在本机，恢复后自动发送 / Offline: kept, will be sent")
        : interpolate(gettext("服务器暂时不可用（HTTP %(status)s），稍后自动重发 / Server busy: will retry"),
          { status: status }, true);
      hadOfflineQueue = true;
      if (entry.id === lastEntryId) {
        page.result.show(entry);
        sound("pending");
      }
      return;
    }
    if (isHeld(answer)) {
      entry.state = "pending";
      held = true;
      entry.note = gettext("登录已过期：请重新登录，扫码会自动发送 / Logged out: log in again");
      hadOfflineQueue = true;
      if (entry.id === lastEntryId) page.result.show(entry);
      return;
    }
    entry.state = "err";
    entry.settledAt = Date.now();
    var error = (answer.data && answer.data.error) || {};
    entry.error = {
      code: error.code || "HTTP_" + status,
      message: error.message ||
        interpolate(gettext("请求被拒绝（HTTP %(status)s） / Refused"), { status: status }, true),
      message_en: error.message_en || "",
      detail: error.detail || {},
    };
    announce(entry, "err");
  }

  function announce(entry, kind) {
    // The big line shows the latest scan; an older one from the queue only when refused.
    if (entry.id === lastEntryId || kind === "err") {
      page.result.show(entry);
      sound(kind);
    }
  }

  function resend(entry) {
    // A refusal recorded nothing: the same event_id may be sent again once fixed.
    entry.state = "pending";
    entry.error = null;
    entry.note = null;
    touch(entry);
    lastEntryId = entry.id;
    queue.save();
    page.result.show(entry);
    page.list.render();
    pump();
    page.box.focus();
  }

  return {
    send: send,
    pump: pump,
    resend: resend,
    held: function () { return held; },
    // The entry the big answer line follows (a reload shows the last one still open).
    follow: function (entry) { lastEntryId = entry.id; },
    // "立即发送": now, and as if logged in again.
    sendNow: function () {
      retryDelay = RETRY_MIN_MS;
      held = false;
      if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
      pump();
    },
    // Back online: the next try at once.
    online: function () { retryDelay = RETRY_MIN_MS; },
  };
}
