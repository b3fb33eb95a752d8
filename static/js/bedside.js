/* Bedside scanning 床旁扫码 (templates/billing/bedside/page.html).
 *
 * First the patient's wristband, then the items used on him. Every item scan becomes an
 * entry with its own event_id, kept in localStorage (per user) BEFORE it is sent, and sent
 * to POST /api/v1/scans one at a time in scan order:
 *   - network down (fetch throws, times out, navigator.onLine false), a 5xx, 408 or 429:
 *     the entry stays pending (grey, 待发送) and is sent again, with the SAME event_id, on
 *     the "online" event, on a retry timer, or with the "立即发送" button; the API records
 *     an event_id at most once and answers a replay with the first answer (200);
 *   - logged out (401) or a stale CSRF token (403 CSRF): held until the nurse logs in again;
 *   - any other 4xx: refused, nothing recorded (red, with the reason and what to do).
 * The queue survives a reload. Undo (撤销) sends a `return` scan of the same code.
 * The scan box is fed by a keyboard-wedge scanner (scanbox.js) or by the camera
 * (BarcodeDetector in the browser, else a photo decoded by POST /api/v1/codes/decode).
 */
(function () {
  "use strict";

  var kit = window.WumaPage;
  var gettext = kit.gettext, interpolate = kit.interpolate, ENGLISH = kit.english;
  var englishPart = kit.englishPart, uuid4 = kit.uuid4, csrfToken = kit.csrfToken;
  var el = kit.el, visible = kit.visible;

  // A refusal in the page's language: its English (message_en, or the part after " / ") on
  // an English page, else the Chinese; the English aside goes under a Chinese headline only.
  function messageOf(error) {
    if (!ENGLISH) return error.message || "";
    return error.message_en || englishPart(error.message) || error.message || "";
  }
  function asideOf(error) {
    return ENGLISH ? "" : error.message_en || "";
  }

  var KEEP_MS = 24 * 3600 * 1000; // settled entries are kept a day (for undo), pending ones always
  var KEEP_SETTLED = 300;
  var SEND_TIMEOUT_MS = 15000;
  var RETRY_MIN_MS = 3000;
  var RETRY_MAX_MS = 30000;

  var WARNINGS = {
    NO_ORDER: gettext("无对应医嘱，已记录，请补开医嘱 / No doctor order: recorded, ask for the order"),
    NO_HIGH_VALUE_APPROVAL:
      gettext("高值耗材未登记使用审批，已记录，请补登审批 / No high-value approval: recorded, get it approved"),
    POSSIBLE_MISSING_SEPARATOR:
      gettext("条码可能缺少分隔符，请核对批号/序列号 / The code may have lost a separator: check lot/serial"),
  };
  var BADGES = { NO_ORDER: gettext("无医嘱"), NO_HIGH_VALUE_APPROVAL: gettext("无审批") };
  // What to do next, when the server's message does not already say it.
  var HINTS = {
    ALREADY_USED: gettext("请核对实物：同一件不能重复使用或计费 / Check the item: a unit is used once"),
    NOT_IN_STOCK: gettext("本病区账上没有该耗材：请核对科室，或请库房先出库到本病区 / Not in this ward's stock"),
    EXPIRED: gettext("请更换一件，过期品交库房报损 / Use another one"),
    RECALLED: gettext("请更换一件，召回品隔离并交库房 / Use another one; set this one aside"),
    ENCOUNTER_CLOSED: gettext("患者已出院结算：请联系住院处 / Patient discharged"),
    UNKNOWN_ENCOUNTER: gettext("请重新扫描患者腕带 / Scan the wristband again"),
    UNKNOWN_CODE: gettext("请扫描最小包装上的 UDI 条码或院内码 / Scan the UDI or the hospital label"),
    UNREADABLE_CODE: gettext("请重新扫描 / Scan again"),
    AMBIGUOUS_CODE: gettext("请扫描包装上的 UDI 条码 / Scan the UDI barcode instead"),
    NO_CHARGE_MAPPING: gettext("未出库、未计费：请联系物价办/采购完成对照 / Nothing recorded"),
    NO_APPROVED_PRICE: gettext("未出库、未计费：请联系物价办 / Nothing recorded"),
    PERMISSION_DENIED: gettext("请确认病区与账号 / Check the ward and your account"),
    APPROVAL_REQUIRED: gettext("未出库、未计费：请先登记高值耗材使用审批 / Record the approval first"),
    TIME_OUT_OF_RANGE:
      gettext("扫码时间超出允许范围（离线过久），未记录：请核对后重新扫描 / Outside the time window: nothing recorded, scan it again"),
    ENCOUNTER_NOT_ON_WARD: gettext("请扫描本病区患者的腕带 / Scan the wristband of a patient of this ward"),
  };

  function hhmm(ms) {
    var d = new Date(ms);
    return [d.getHours(), d.getMinutes()]
      .map(function (n) { return (n < 10 ? "0" : "") + n; }).join(":");
  }

  function yuan(amount) {
    // As the server's money filter writes it: 1234.50 on a Chinese page, 1,234.50 in English.
    var n = Number(amount);
    if (isNaN(n)) return "¥" + amount;
    var text = Math.abs(n).toFixed(2);
    if (ENGLISH) text = text.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "¥" + text;
  }

  function stripSymbology(text) {
    return text.replace(/^\][A-Za-z][0-9A-Za-z]/, "");
  }

  // ------------------------------------------------------------------ sounds (Web Audio)
  var audioContext = null;

  function audio() {
    var Ctor = window.AudioContext || window.webkitAudioContext;
    if (!Ctor) return null;
    if (!audioContext) {
      try { audioContext = new Ctor(); } catch (e) { return null; }
    }
    if (audioContext.state === "suspended") audioContext.resume();
    return audioContext;
  }

  function tones(notes, type) {
    var ctx = audio();
    if (!ctx) return;
    var t = ctx.currentTime + 0.01;
    notes.forEach(function (note) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = type;
      osc.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.3, t + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + note[1]);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(t);
      osc.stop(t + note[1] + 0.02);
      t += note[1] + 0.06;
    });
  }

  function sound(kind) {
    try {
      if (kind === "ok") tones([[1318, 0.12]], "sine");
      else if (kind === "err") {
        tones([[220, 0.22], [175, 0.32]], "square");
        if (navigator.vibrate) navigator.vibrate([120, 60, 120]);
      } else tones([[660, 0.07], [660, 0.07]], "triangle");
    } catch (e) { /* no sound on this device: the colours still say it */ }
  }

  // ------------------------------------------------------------------ the page
  function setup(root) {
    var user = root.getAttribute("data-user");
    var ward = root.getAttribute("data-ward");
    var scanApi = root.getAttribute("data-scan-api");
    var consentApi = root.getAttribute("data-consent-api");
    var decodeApi = root.getAttribute("data-decode-api");
    var patientUrl = root.getAttribute("data-patient-url");
    var loginUrl = root.getAttribute("data-login-url");
    // The server's clock, so a scan queued offline carries the time it happened even when
    // the PDA's own clock is wrong.
    var clockOffset = parseInt(root.getAttribute("data-server-now"), 10) - Date.now();
    if (isNaN(clockOffset)) clockOffset = 0;
    // Identical reads of a lot-tracked item closer than this: asked about, not charged twice.
    var repeatMs = parseFloat(root.getAttribute("data-repeat-seconds")) * 1000;
    if (isNaN(repeatMs) || repeatMs < 0) repeatMs = 2000;

    var box = root.querySelector("[data-scanbox]");
    if (!box || !ward) return;
    var qtyInput = root.querySelector("[data-qty]");
    var label = root.querySelector("[data-scan-label]");
    var result = root.querySelector("[data-result]");
    var ask = root.querySelector("[data-ask]");
    var refusalsBox = root.querySelector("[data-refusals]");
    var refusalList = root.querySelector("[data-refusal-list]");
    var queueBar = root.querySelector("[data-queue]");
    var netBadge = root.querySelector("[data-net]");
    var slot = root.querySelector("[data-patient-slot]");
    var submit = root.querySelector("[data-scan-submit]");
    var rosterNode = document.getElementById("bedside-roster");
    var roster = {};
    try {
      (JSON.parse(rosterNode ? rosterNode.textContent : "[]") || []).forEach(function (p) {
        roster[p.visit_no] = p;
      });
    } catch (e) { roster = {}; }

    // Per user: on a shared PDA, one nurse's waiting scans are never sent under another's login.
    var storageKey = "bedside:v1:" + user;
    var entries = [];
    var dropped = {}; // id -> time: unsent scans cancelled here, never to come back from storage
    var inFlightId = null;
    var patient = null; // {visit_no, name, insurance}
    var sending = false;
    var held = false; // logged out / CSRF: wait for a new login
    var retryTimer = null;
    var retryDelay = RETRY_MIN_MS;
    var lastEntryId = null;
    var serverLoadedAt = 0;
    var refreshTimer = null;
    var hadOfflineQueue = false;
    var repeatAsk = null; // {code, encounter, firstId}: "scanned twice: add another?" is open

    // -------------------------------------------------------------- storage
    function readStored() {
      var data = null;
      try { data = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { data = null; }
      if (!data || typeof data !== "object" || Array.isArray(data)) return { entries: [], dropped: {} };
      return {
        entries: Array.isArray(data.entries) ? data.entries : [],
        dropped: data.dropped && typeof data.dropped === "object" ? data.dropped : {},
      };
    }

    function merge(stored) {
      // Another tab of the same nurse may have written since: keep the union, the newer
      // revision of each entry, and nothing cancelled.
      Object.keys(stored.dropped).forEach(function (id) {
        if (!dropped[id]) dropped[id] = stored.dropped[id];
      });
      var mine = {};
      entries.forEach(function (e) { mine[e.id] = e; });
      stored.entries.forEach(function (other) {
        var have = mine[other.id];
        if (!have) {
          entries.push(other);
          mine[other.id] = other;
        } else if ((other.rev || 0) > (have.rev || 0)) {
          Object.assign(have, other);
        }
      });
      entries = entries.filter(function (e) { return !dropped[e.id]; });
      entries.sort(function (a, b) { return a.createdAt - b.createdAt; });
    }

    function touch(entry) {
      entry.rev = (entry.rev || 0) + 1;
    }

    function load() {
      entries = [];
      merge(readStored());
    }

    function prune() {
      var now = Date.now();
      Object.keys(dropped).forEach(function (id) {
        if (now - dropped[id] > 2 * KEEP_MS) delete dropped[id];
      });
      var settled = 0;
      for (var i = entries.length - 1; i >= 0; i--) {
        var entry = entries[i];
        if (entry.state === "pending" || entry.state === "sending") continue;
        settled += 1;
        if (settled > KEEP_SETTLED || now - entry.createdAt > KEEP_MS) entries.splice(i, 1);
      }
    }

    function save() {
      merge(readStored());
      prune();
      try {
        localStorage.setItem(storageKey, JSON.stringify({ entries: entries, dropped: dropped }));
      } catch (e) {
        showNotice(gettext("本机存储不可用：离线扫码在刷新页面后会丢失 / Local storage unavailable"));
      }
    }

    function pendingEntries() {
      return entries.filter(function (e) { return e.state === "pending" || e.state === "sending"; });
    }

    function waitingEntries() {
      // What the nurse is told is waiting: not a first attempt that is merely in flight
      // (that would flash the bar on every scan).
      return entries.filter(function (e) {
        return e.state === "pending" || (e.state === "sending" && e.attempts > 1);
      });
    }

    function find(id) {
      for (var i = 0; i < entries.length; i++) if (entries[i].id === id) return entries[i];
      return null;
    }

    // -------------------------------------------------------------- patient
    function readPatient() {
      var node = slot.querySelector("[data-encounter]");
      patient = node ? {
        visit_no: node.getAttribute("data-encounter"),
        name: node.getAttribute("data-patient-name"),
        insurance: node.getAttribute("data-insurance"),
      } : null;
      serverLoadedAt = Date.now();
      var params = new URLSearchParams();
      params.set("ward", ward);
      if (patient) params.set("visit", patient.visit_no);
      history.replaceState(null, "", location.pathname + "?" + params.toString());
      mode();
      renderSession();
    }

    function mode() {
      if (patient) {
        label.textContent = gettext("扫耗材");
        box.placeholder = gettext("请扫描耗材条码 / Scan the item");
        if (qtyInput) qtyInput.hidden = false;
      } else {
        label.textContent = gettext("扫腕带");
        box.placeholder = gettext("请扫描患者腕带 / Scan the wristband");
        if (qtyInput) { qtyInput.hidden = true; qtyInput.value = ""; }
      }
    }

    function patientQuery(visit) {
      return patientUrl + "?ward=" + encodeURIComponent(ward) + "&visit=" + encodeURIComponent(visit);
    }

    function fetchPatient(visit) {
      return fetch(patientQuery(visit), {
        credentials: "same-origin",
        headers: { Accept: "text/html", "X-Requested-With": "fetch" },
      }).then(function (response) {
        return response.text().then(function (html) {
          if (response.redirected || (response.status === 403 && !/data-refusal/.test(html))) {
            // Sent to the login page (the session ended), or no longer allowed here.
            var error = new Error("login");
            error.login = true;
            throw error;
          }
          if (response.status >= 500) throw new Error("server " + response.status);
          return { status: response.status, html: html };
        });
      });
    }

    function selectPatient(raw) {
      var visit = stripSymbology(raw).trim();
      hideResult();
      fetchPatient(visit).then(function (answer) {
        slot.innerHTML = answer.html;
        readPatient();
        sound(patient ? "ok" : "err");
      }).catch(function (error) {
        if (error && error.login) loggedOut();
        else offlinePatient(visit);
      }).then(function () { box.focus(); });
    }

    function loggedOut() {
      slot.textContent = "";
      var refusal = el("div", "bs-refusal");
      refusal.setAttribute("role", "alert");
      refusal.appendChild(el("div", "headline", gettext("✗ 登录已过期，请重新登录 / Logged out")));
      var link = el("a", "bs-btn", gettext("重新登录 / Log in"));
      link.href = loginUrl + "?next=" + encodeURIComponent(location.pathname + location.search);
      refusal.appendChild(link);
      slot.appendChild(refusal);
      patient = null;
      mode();
      sound("err");
    }

    function offlinePatient(visit) {
      // No network: the ward's roster (rendered with the page) still tells who is on it.
      var known = roster[visit];
      slot.textContent = "";
      if (!known) {
        var refusal = el("div", "bs-refusal");
        refusal.setAttribute("data-refusal", "OFFLINE_UNVERIFIED");
        refusal.setAttribute("role", "alert");
        refusal.appendChild(el("div", "headline",
          interpolate(gettext("✗ 离线状态下无法核实住院号 %(visit)s：不在本病区在院名单中"),
            { visit: visit }, true)));
        refusal.appendChild(el("div", "sub",
          "Offline: this visit number is not on the ward's list. Scan again when online."));
        slot.appendChild(refusal);
        patient = null;
        mode();
        sound("err");
        return;
      }
      var panel = el("div", "bs-patient");
      panel.setAttribute("data-encounter", known.visit_no);
      panel.setAttribute("data-patient-name", known.name);
      panel.setAttribute("data-insurance", known.insurance_type);
      var who = el("div", "bs-who");
      who.appendChild(el("span", "bs-name", known.name));
      who.appendChild(el("span", "bs-visit",
        interpolate(gettext("住院号 %(visit)s"), { visit: known.visit_no }, true)));
      panel.appendChild(who);
      var facts = el("div", "bs-facts");
      facts.appendChild(el("span", "badge " + (known.insurance_type === "自费" ? "selfpay" : "ins"),
        known.insurance_type));
      facts.appendChild(el("span", "en", gettext("离线：按本机在院名单核对 / offline, checked against the ward list")));
      panel.appendChild(facts);
      var change = el("button", "bs-btn secondary bs-change", gettext("换患者 / Next patient"));
      change.type = "button";
      change.setAttribute("data-change-patient", "");
      panel.appendChild(change);
      slot.appendChild(panel);
      var list = el("section", "bs-list");
      list.appendChild(el("h2", null, gettext("今日使用 / Used today")));
      var note = el("div", "bs-local-note", gettext("离线：仅显示本机扫码 / Offline: this device's scans only"));
      note.setAttribute("data-local-note", "");
      list.appendChild(note);
      var table = el("table", "bs-table");
      var rows = el("tbody");
      rows.setAttribute("data-session-rows", "");
      table.appendChild(rows);
      list.appendChild(table);
      slot.appendChild(list);
      patient = { visit_no: known.visit_no, name: known.name, insurance: known.insurance_type };
      serverLoadedAt = 0;
      mode();
      renderSession();
      sound("ok");
    }

    function clearPatient() {
      patient = null;
      closeRepeat();
      slot.textContent = "";
      var prompt = el("div", "bs-prompt");
      prompt.appendChild(el("div", "big", gettext("① 请扫描患者腕带")));
      prompt.appendChild(el("div", "en", "Scan the patient's wristband, then the items used."));
      slot.appendChild(prompt);
      hideResult();
      readPatient();
      box.focus();
    }

    function refreshList() {
      // The server's list of today's uses after scans settled (merged with the local ones).
      if (!patient || refreshTimer) return;
      refreshTimer = setTimeout(function () {
        refreshTimer = null;
        if (!patient || pendingEntries().length) return;
        var visit = patient.visit_no;
        fetchPatient(visit).then(function (answer) {
          if (!patient || patient.visit_no !== visit || answer.status !== 200) return;
          slot.innerHTML = answer.html;
          readPatient();
        }).catch(function () { /* offline: keep what is shown */ });
      }, 300);
    }

    // -------------------------------------------------------------- scanning
    function onScan(raw) {
      var code = raw.replace(/^[ \r\n\t]+|[ \r\n\t]+$/g, "");
      if (!code) return;
      audio(); // a key press or tap: the moment a browser lets a page make sound
      if (!camera.panel.hidden) closeCamera();
      var asked = closeRepeat(); // any next scan answers or dismisses the question
      if (!patient) { scanWithoutPatient(code); return; }
      var visit = stripSymbology(code);
      if (roster[visit] && visit !== patient.visit_no) {
        // A wristband scanned while on another patient: move to that patient.
        selectPatient(visit);
        return;
      }
      if (visit === patient.visit_no) {
        showNotice(interpolate(gettext("已是当前患者 %(name)s / Already this patient"),
          { name: patient.name }, true));
        sound("ok");
        return;
      }
      if (asked && asked.code === code && asked.encounter === patient.visit_no) {
        recordUse(code); // scanned again after "add another?": she means it
        return;
      }
      var first = repeatedRead(code);
      if (first) { openRepeat(first); return; }
      recordUse(code);
    }

    function scanWithoutPatient(code) {
      var visit = stripSymbology(code).trim();
      if (!roster[visit] && looksLikeItemCode(code)) { wristbandFirst(code); return; }
      selectPatient(code);
    }

    function wristbandFirst(code) {
      // An item scanned before any wristband: it is not a visit number; nothing is recorded.
      resetResult("bs-result err");
      result.setAttribute("data-notice", "WRISTBAND_FIRST");
      result.appendChild(el("div", "headline",
        gettext("✗ 请先扫描患者腕带 / Scan the patient's wristband first")));
      result.appendChild(el("div", "sub", gettext("这是耗材条码，未记录 / An item's code: nothing recorded")));
      result.appendChild(el("div", "sub code", visible(code)));
      sound("err");
    }

    function recordUse(code) {
      var quantity = qtyInput && qtyInput.value ? parseInt(qtyInput.value, 10) : null;
      if (qtyInput) qtyInput.value = "";
      var request = {
        event_id: uuid4(),
        action: "use",
        code: code,
        department: ward,
        encounter: patient.visit_no,
        occurred_at: new Date(Date.now() + clockOffset).toISOString(),
      };
      if (quantity && quantity > 0) request.quantity = quantity;
      add({ kind: "use", code: code, request: request });
    }

    // -------------------------------------------------------------- what a code looks like
    // The server's parser (consumables/udi.py) is the judge; these only have to tell an
    // item from a wristband and a unit from a lot, offline too.
    var GS1_SYMBOLOGY = /^\](C1|d2|Q3|e0|J1|E0|E4)/;

    function gtinValid(digits) {
      var sum = 0;
      for (var i = digits.length - 2, weight = 3; i >= 0; i--, weight = 4 - weight) {
        sum += parseInt(digits.charAt(i), 10) * weight;
      }
      return (10 - (sum % 10)) % 10 === parseInt(digits.charAt(digits.length - 1), 10);
    }

    function looksLikeItemCode(raw) {
      // GS1 (symbology, GS, HRI brackets, Digital Link, "01" + GTIN), HIBC, MA, AHM, an
      // in-hospital label or a bare GTIN-13/14: none of them is a visit number's shape.
      if (GS1_SYMBOLOGY.test(raw) || raw.indexOf("\x1d") >= 0) return true;
      var text = stripSymbology(raw).trim();
      return /^[({]01[)}]/.test(text) ||
        /^https?:\/\/[^ ]*\/01\/[0-9]{14}/i.test(text) ||
        /^\*?\+[A-Z0-9$]/i.test(text) ||
        /^MA\.[0-9]/i.test(text) ||
        /^MF[0-9]{1,13}(BA|BN|SN|MD|BD|ED|PL)/.test(text) ||
        /^YN[0-9]{12}$/i.test(text) ||
        (/^01[0-9]{14}/.test(text) && gtinValid(text.slice(2, 16))) ||
        (/^[0-9]{13,14}$/.test(text) && gtinValid(text));
    }

    function carriesSerial(raw) {
      var text = stripSymbology(raw);
      return /\x1d21|[({]21[)}]/.test(text) ||
        /^01[0-9]{14}(?:1[1-7][0-9]{6})*21/.test(text) ||
        (/^MA\./i.test(text) && /\.S[^.]/i.test(text)) ||
        /^YN[0-9]{12}$/i.test(text);
    }

    function tracksUnits(entry) {
      // A unit (serial or in-hospital label) is refused a second use by the server itself.
      if (entry.body) return !!(entry.body.serial || entry.body.hospital_barcode);
      return carriesSerial(entry.code);
    }

    // -------------------------------------------------------------- "scanned twice?"
    function repeatedRead(code) {
      // The scanner fired twice: the same code again at once, for the same patient, right
      // after a read that may have charged a lot-tracked item. That read, else null.
      var last = entries[entries.length - 1];
      if (!last || last.kind !== "use" || last.answers) return null;
      if (last.code !== code || last.encounter !== patient.visit_no) return null;
      if (Date.now() - last.createdAt >= repeatMs) return null;
      if (last.state === "err" || tracksUnits(last)) return null;
      return last;
    }

    function openRepeat(first) {
      repeatAsk = { code: first.code, encounter: first.encounter, firstId: first.id };
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
        var asked = closeRepeat();
        if (asked && patient && asked.encounter === patient.visit_no) recordUse(asked.code);
        box.focus();
      });
      ask.appendChild(more);
      sound("pending");
    }

    function closeRepeat() {
      var asked = repeatAsk;
      repeatAsk = null;
      ask.hidden = true;
      ask.textContent = "";
      ask.removeAttribute("data-question");
      return asked;
    }

    function repeatAnswered(entry) {
      // The first read's answer came: refused (nothing charged) or a unit (the server
      // refuses a second use): the second read was no second item, nothing to ask.
      if (!repeatAsk || repeatAsk.firstId !== entry.id) return;
      if (entry.state === "err" || (entry.state === "ok" && tracksUnits(entry))) closeRepeat();
    }

    function add(fields) {
      var entry = Object.assign({
        id: fields.request.event_id,
        ward: ward,
        encounter: fields.request.encounter,
        patientName: patient ? patient.name : "",
        createdAt: Date.now(),
        state: "pending",
        attempts: 0,
        rev: 1,
      }, fields);
      entries.push(entry);
      save();
      lastEntryId = entry.id;
      showResult(entry);
      renderSession();
      updateQueueBar();
      if (navigator.onLine === false) sound("pending");
      pump();
      return entry;
    }

    // -------------------------------------------------------------- sending, in order
    function post(entry) {
      var controller = window.AbortController ? new AbortController() : null;
      var timer = controller ? setTimeout(function () { controller.abort(); }, SEND_TIMEOUT_MS) : null;
      return fetch(scanApi, {
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
      for (var i = 0; i < entries.length; i++) {
        // "sending" here is a scan another tab (maybe closed since) had in flight: its
        // answer is unknown, so it is sent again, in its turn, with the same event_id.
        var state = entries[i].state;
        if (state === "pending" || (state === "sending" && entries[i].id !== inFlightId)) {
          next = entries[i];
          break;
        }
      }
      updateQueueBar();
      if (!next) {
        if (hadOfflineQueue) {
          hadOfflineQueue = false;
          flashQueueBar(gettext("✓ 待发送的扫码已全部发送 / All waiting scans sent"));
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
      save();
      renderSession();
      post(next).then(function (answer) {
        sending = false;
        inFlightId = null;
        touch(next);
        settle(next, answer);
        repeatAnswered(next);
        save();
        renderSession();
        updateQueueBar();
        if (next.state === "pending") {
          scheduleRetry();
          return;
        }
        retryDelay = RETRY_MIN_MS;
        if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
        pump();
        if (!pendingEntries().length) refreshList();
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
          var original = find(entry.undoOf);
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
          showResult(entry);
          sound("pending");
        }
        return;
      }
      if (isHeld(answer)) {
        entry.state = "pending";
        held = true;
        entry.note = gettext("登录已过期：请重新登录，扫码会自动发送 / Logged out: log in again");
        hadOfflineQueue = true;
        if (entry.id === lastEntryId) showResult(entry);
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
        showResult(entry);
        sound(kind);
      }
    }

    // -------------------------------------------------------------- undo (撤销)
    function undoEntry(entry) {
      if (entry.state === "pending" && !entry.attempts) {
        // Never sent: nothing to reverse, just drop it.
        dropped[entry.id] = Date.now();
        entries = entries.filter(function (e) { return e !== entry; });
        save();
        renderSession();
        updateQueueBar();
        showNotice(gettext("已取消未发送的扫码 / Unsent scan cancelled"));
        return;
      }
      if (entry.state !== "ok" || entry.kind !== "use" || entry.undone) return;
      sendReturn({
        code: entry.code,
        quantity: entry.body ? entry.body.quantity : null,
        department: entry.request.department,
        encounter: entry.request.encounter,
        undoOf: entry.id,
        name: entry.body && entry.body.consumable ? entry.body.consumable.name : "",
      });
    }

    function undoServerRow(row) {
      var eventId = row.getAttribute("data-event-id");
      var local = find(eventId);
      var returnable = parseInt(row.getAttribute("data-returnable"), 10) || 0;
      var nameNode = row.querySelector(".bs-item-name");
      sendReturn({
        code: local && local.kind === "use" ? local.code : row.getAttribute("data-code"),
        quantity: returnable,
        department: row.getAttribute("data-department") || ward,
        undoOf: local ? local.id : null,
        useEventId: eventId,
        name: nameNode ? nameNode.textContent.trim() : "",
      });
    }

    function sendReturn(what) {
      if (!patient || !what.code) return;
      var request = {
        event_id: uuid4(),
        action: "return",
        code: what.code,
        department: what.department,
        encounter: what.encounter || patient.visit_no,
        occurred_at: new Date(Date.now() + clockOffset).toISOString(),
      };
      if (what.quantity && what.quantity > 0) request.quantity = what.quantity;
      var entry = add({
        kind: "return", code: what.code, request: request, undoOf: what.undoOf,
        useEventId: what.useEventId || what.undoOf, itemName: what.name,
      });
      return entry;
    }

    function armUndo(button, action) {
      // Two taps: a stray touch on a PDA must not return an item and refund it.
      if (button.getAttribute("data-armed")) {
        button.removeAttribute("data-armed");
        button.disabled = true;
        action();
        return;
      }
      button.setAttribute("data-armed", "1");
      button.classList.add("armed");
      var original = button.innerHTML;
      button.textContent = gettext("确认撤销？ / Confirm");
      setTimeout(function () {
        if (!button.isConnected || !button.getAttribute("data-armed")) return;
        button.removeAttribute("data-armed");
        button.classList.remove("armed");
        button.innerHTML = original;
      }, 4000);
    }

    // -------------------------------------------------------------- consent (知情同意)
    function consentForm(entry, into) {
      var template = root.querySelector("[data-consent-template]");
      if (!template) return;
      var form = template.content.firstElementChild.cloneNode(true);
      var signer = form.querySelector("[name=signed_by]");
      var message = form.querySelector("[data-consent-msg]");
      signer.value = entry.patientName || "";
      form.querySelector("[data-consent-cancel]").addEventListener("click", function () {
        form.remove();
        box.focus();
      });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = {
          encounter: entry.request.encounter,
          code: entry.code,
          signed_by: signer.value.trim(),
          relationship: form.querySelector("[name=relationship]").value,
        };
        if (!body.signed_by) { signer.focus(); return; }
        message.className = "bs-consent-msg";
        message.textContent = gettext("提交中… / Sending");
        fetch(consentApi, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRFToken": csrfToken(),
          },
          body: JSON.stringify(body),
        }).then(function (response) {
          return response.json().catch(function () { return null; }).then(function (data) {
            return { status: response.status, data: data };
          });
        }).then(function (answer) {
          if (answer.status === 200 || answer.status === 201) {
            // The held scan goes by itself and the scanner's next read lands in the scan
            // box: a button left focused here once took the next read's Enter and
            // resubmitted the previous item.
            entry.consent = answer.data;
            touch(entry);
            form.remove();
            box.focus();
            resend(entry);
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
      into.appendChild(form);
      signer.focus();
      signer.select();
    }

    // -------------------------------------------------------------- a box code (包装码)
    function packageQuestion(entry, who) {
      // PACKAGE_CODE: the scan named a box, not a unit. Nothing was recorded; the nurse
      // scans the unit (the scan box keeps focus) or says how many units she used.
      var detail = (entry.error && entry.error.detail) || {};
      result.className = "bs-result ask";
      result.setAttribute("data-question", "package");
      result.appendChild(el("div", "headline", interpolate(gettext(
        "这是包装码（每盒 %(n)s %(unit)s）：请扫描单件条码，或输入实际使用数量 / This is the box code (%(n)s per box): scan the single item, or enter how many you used"),
        { n: detail.units_per_package || "?", unit: detail.unit || "" }, true)));
      result.appendChild(el("div", "sub code", who + visible(entry.code)));
      if (entry.resolvedBy) {
        result.appendChild(el("div", "todo", gettext("已按数量登记 / Recorded by quantity")));
        return;
      }
      result.appendChild(packageForm(entry, detail.unit || ""));
    }

    function packageForm(entry, unit) {
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
        answerPackage(entry, quantity);
        box.focus();
      });
      return form;
    }

    function answerPackage(entry, quantity) {
      // A new event_id: the refused scan's id keeps its own (refused) content.
      var request = Object.assign({}, entry.request, { event_id: uuid4(), quantity: quantity });
      entry.resolvedBy = request.event_id;
      touch(entry);
      add({
        kind: "use", code: entry.code, request: request, answers: entry.id,
        patientName: entry.patientName,
      });
    }

    function resend(entry) {
      // A refusal recorded nothing: the same event_id may be sent again once fixed.
      entry.state = "pending";
      entry.error = null;
      entry.note = null;
      touch(entry);
      lastEntryId = entry.id;
      save();
      showResult(entry);
      renderSession();
      pump();
      box.focus();
    }

    // -------------------------------------------------------------- the big answer line
    function consentLine(consent) {
      return interpolate(gettext("已登记知情同意（签署人 %(name)s，%(relationship)s） / Consent recorded"),
        { name: consent.signed_by, relationship: consent.relationship }, true);
    }

    function hideResult() {
      resetResult("bs-result");
      result.hidden = true;
    }

    function resetResult(className) {
      result.hidden = false;
      result.className = className;
      result.textContent = "";
      result.removeAttribute("data-entry");
      result.removeAttribute("data-notice");
      result.removeAttribute("data-question");
    }

    function showNotice(text) {
      resetResult("bs-result info");
      result.appendChild(el("div", "headline small", text));
    }

    function itemTitle(entry) {
      var item = (entry.body && entry.body.consumable) || {};
      return item.name ? item.name + (item.spec ? " " + item.spec : "") : entry.itemName || "";
    }

    function showResult(entry) {
      resetResult("bs-result");
      result.setAttribute("data-entry", entry.id);
      var who = entry.patientName
        ? interpolate(gettext("患者 %(name)s · "), { name: entry.patientName }, true) : "";
      if (entry.state === "pending" || entry.state === "sending") {
        result.className = "bs-result pending";
        var offline = navigator.onLine === false || entry.note ||
          entry.attempts > (entry.state === "sending" ? 1 : 0);
        result.appendChild(el("div", "headline", offline
          ? (entry.kind === "return"
            ? interpolate(gettext("… 待发送 撤销 %(item)s"), { item: entry.itemName || "" }, true)
            : gettext("… 待发送"))
          : gettext("… 发送中 / Sending")));
        result.appendChild(el("div", "sub", entry.note ||
          (offline ? gettext("已保存在本机，联网后自动发送 / Kept on this device, sent when online") : "")));
        result.appendChild(el("div", "sub code", who + visible(entry.code)));
        return;
      }
      if (entry.state === "ok") {
        var body = entry.body || {};
        var charge = body.charge;
        result.className = "bs-result ok";
        var head = el("div", "headline",
          (entry.kind === "return" ? gettext("↩ 已撤销：") : "✓ ") + itemTitle(entry));
        if (charge && charge.self_pay) head.appendChild(el("span", "badge selfpay", gettext("自费")));
        result.appendChild(head);
        var facts = [];
        if (entry.kind === "return") {
          facts.push(interpolate(gettext("退回 %(qty)s"), { qty: body.quantity }, true));
          if (charge) {
            facts.push(interpolate(gettext("退费 %(amount)s"), { amount: yuan(charge.amount) }, true));
          }
        } else {
          facts.push(interpolate(gettext("数量 %(qty)s"), { qty: body.quantity }, true));
          facts.push(charge
            ? interpolate(gettext("金额 %(amount)s"), { amount: yuan(charge.amount) }, true)
            : gettext("不单独计费 / not charged by scan"));
        }
        result.appendChild(el("div", "facts", facts.join(" · ")));
        var more = [];
        if (body.lot) more.push(interpolate(gettext("批号 %(lot)s"), { lot: body.lot }, true));
        if (body.serial) more.push("SN " + body.serial);
        if (body.expiry) {
          more.push(interpolate(gettext("效期 %(expiry)s"), { expiry: body.expiry }, true));
        }
        result.appendChild(el("div", "sub", who + more.join(" · ")));
        if (entry.consent) result.appendChild(el("div", "sub", consentLine(entry.consent)));
        (body.warnings || []).forEach(function (code) {
          result.appendChild(el("div", "warning", "⚠ " + (WARNINGS[code] || code)));
        });
        if (entry.status === 200) {
          result.appendChild(el("div", "sub", gettext("此前已记录，按首次结果返回，未重复计费 / Replay: recorded once")));
        }
        return;
      }
      var error = entry.error || {};
      if (error.code === "PACKAGE_CODE") { packageQuestion(entry, who); return; }
      result.className = "bs-result err";
      result.appendChild(el("div", "headline", "✗ " + (messageOf(error) || gettext("失败"))));
      var sub = el("div", "sub");
      sub.appendChild(el("span", "code", error.code || ""));
      if (asideOf(error)) sub.appendChild(document.createTextNode(" " + asideOf(error)));
      result.appendChild(sub);
      result.appendChild(el("div", "sub code", who + visible(entry.code)));
      if (error.code === "CONSENT_REQUIRED") {
        var detail = error.detail || {};
        if (detail.restriction) {
          result.appendChild(el("div", "todo",
            interpolate(gettext("限定支付条件：%(restriction)s"), { restriction: detail.restriction }, true)));
        }
        if (entry.consent) {
          // Sent again by itself once the consent was recorded: refused all the same.
          result.appendChild(el("div", "todo", consentLine(entry.consent)));
        } else {
          result.appendChild(el("div", "todo",
            gettext("请患者或家属签署《自费知情同意书》后登记 / Have the consent form signed, then record it")));
          var record = el("button", "bs-btn", gettext("登记知情同意 / Record consent"));
          record.type = "button";
          record.setAttribute("data-consent", "");
          record.addEventListener("click", function () {
            record.remove();
            consentForm(entry, result);
          });
          result.appendChild(record);
        }
      } else if (HINTS[error.code]) {
        result.appendChild(el("div", "todo", "➜ " + HINTS[error.code]));
      }
    }

    // -------------------------------------------------------------- the list
    function serverEventIds() {
      var ids = {};
      slot.querySelectorAll("[data-server-rows] tr[data-event-id]").forEach(function (row) {
        ids[row.getAttribute("data-event-id")] = row;
      });
      return ids;
    }

    function renderSession() {
      renderRefusals();
      var body = slot.querySelector("[data-session-rows]");
      if (!body) return;
      body.textContent = "";
      if (!patient) return;
      var onServer = serverEventIds();
      var midnight = new Date();
      midnight.setHours(0, 0, 0, 0);
      var mine = entries.filter(function (e) {
        if (e.encounter !== patient.visit_no || e.ward !== ward) return false;
        if (e.state !== "ok" && e.state !== "err") return true; // waiting: always shown
        if (e.createdAt < midnight.getTime()) return false;
        if (e.state === "err") return false; // refusals have their own list
        if (e.kind === "use" && onServer[e.id]) return false;
        // Settled before the server's list was (re)loaded: that list already shows it.
        return !(serverLoadedAt > e.settledAt);
      });
      mine.slice().reverse().forEach(function (entry) { body.appendChild(sessionRow(entry)); });
      var empty = slot.querySelector("[data-server-rows] tr[data-empty]");
      if (empty) empty.hidden = mine.length > 0;
      var note = slot.querySelector("[data-local-note]");
      if (note && serverLoadedAt) {
        var waiting = mine.filter(function (e) { return e.state !== "ok" && e.state !== "err"; });
        note.hidden = !waiting.length;
        note.textContent = waiting.length
          ? gettext("灰色为本机待发送记录 / Grey rows are waiting on this device") : "";
      }
    }

    // -------------------------------------------------------------- scans not recorded
    // Refusals of the day (any patient of this ward, the latest few) apart from the uses:
    // an offline scan refused when the queue is sent is shown here, never dropped silently.
    var REFUSALS_SHOWN = 5;

    function renderRefusals() {
      var midnight = new Date();
      midnight.setHours(0, 0, 0, 0);
      var refused = entries.filter(function (e) {
        return e.state === "err" && !e.resolvedBy && e.ward === ward &&
          e.createdAt >= midnight.getTime();
      }).slice(-REFUSALS_SHOWN).reverse();
      refusalList.textContent = "";
      refused.forEach(function (entry) { refusalList.appendChild(refusalRow(entry)); });
      refusalsBox.hidden = !refused.length;
    }

    function refusalRow(entry) {
      var error = entry.error || {};
      var row = el("li", "bs-refused");
      row.setAttribute("data-refused", entry.id);
      row.setAttribute("data-code", error.code || "");
      var line = el("div", "line");
      line.appendChild(el("span", "time", hhmm(entry.createdAt)));
      if (entry.patientName) line.appendChild(el("span", "who", entry.patientName));
      line.appendChild(el("span", "reason", "✗ " + (entry.kind === "return" ? gettext("↩ 撤销 ") : "") +
        (messageOf(error) || error.code || "")));
      row.appendChild(line);
      var sub = el("div", "sub");
      sub.appendChild(el("span", "code", error.code || ""));
      sub.appendChild(el("span", "scanned", visible(entry.code)));
      row.appendChild(sub);
      return row;
    }

    function sessionRow(entry) {
      var state = entry.state;
      var row = el("tr", "local " + (state === "sending" ? "pending sending" : state) +
        (entry.undone ? " returned" : ""));
      row.setAttribute("data-entry", entry.id);
      row.setAttribute("data-state", state);
      row.appendChild(el("td", "time", hhmm(entry.createdAt)));
      var item = el("td", "item");
      var waiting = state === "pending" || state === "sending";
      var title = itemTitle(entry) || (waiting ? gettext("待发送的扫码 / Waiting scan") : visible(entry.code));
      item.appendChild(el("div", "bs-item-name",
        (entry.kind === "return" ? gettext("↩ 撤销 ") : "") + title));
      var line = el("div", "code");
      if (state === "sending") {
        line.textContent = gettext("发送中…") + " · " + visible(entry.code);
      } else if (state === "pending") {
        line.textContent = (entry.attempts ? gettext("待发送（结果未知，将重发）") : gettext("待发送")) + " · " + visible(entry.code);
      } else if (state === "err") {
        line.textContent = "✗ " + (entry.error ? messageOf(entry.error) : "");
      } else if (entry.body) {
        line.textContent = entry.body.serial ? "SN " + entry.body.serial
          : entry.body.lot ? interpolate(gettext("批号 %(lot)s"), { lot: entry.body.lot }, true) : "";
        (entry.body.warnings || []).forEach(function (code) {
          if (BADGES[code]) line.appendChild(el("span", "badge warn", BADGES[code]));
        });
      }
      item.appendChild(line);
      row.appendChild(item);
      var quantity = entry.body ? entry.body.quantity : entry.request.quantity || "";
      row.appendChild(el("td", "num qty", quantity ? (entry.kind === "return" ? "-" : "×") + quantity : ""));
      var amount = el("td", "num amount");
      var charge = entry.body && entry.body.charge;
      if (charge) {
        amount.textContent = (entry.kind === "return" ? "-" : "") + yuan(charge.amount);
        if (charge.self_pay) amount.appendChild(el("span", "badge selfpay", gettext("自费")));
      }
      row.appendChild(amount);
      var act = el("td", "act");
      if (entry.kind === "use" && state === "pending" && !entry.attempts) {
        var cancel = el("button", "bs-undo", gettext("取消 / Cancel"));
        cancel.type = "button";
        cancel.addEventListener("click", function () { undoEntry(entry); box.focus(); });
        act.appendChild(cancel);
      } else if (entry.kind === "use" && state === "ok" && !entry.undone) {
        var undo = el("button", "bs-undo", gettext("撤销 / Undo"));
        undo.type = "button";
        undo.setAttribute("data-undo", "");
        undo.addEventListener("click", function () {
          armUndo(undo, function () { undoEntry(entry); });
          box.focus();
        });
        act.appendChild(undo);
      } else if (entry.undone) {
        act.appendChild(el("span", "bs-done", gettext("已撤销")));
      }
      row.appendChild(act);
      return row;
    }

    function flashQueueBar(text) {
      // Said beside the big line, not over it: that one shows the latest scan's answer.
      queueBar.hidden = false;
      queueBar.className = "bs-queue done";
      queueBar.textContent = "";
      queueBar.appendChild(el("span", "count", text));
      setTimeout(function () {
        if (!pendingEntries().length && queueBar.classList.contains("done")) {
          queueBar.hidden = true;
        }
      }, 5000);
    }

    function updateQueueBar() {
      var waiting = waitingEntries();
      var offline = navigator.onLine === false;
      if (netBadge) {
        netBadge.hidden = !offline && !held;
        netBadge.textContent = held ? gettext("未登录 / Logged out") : gettext("离线 / Offline");
      }
      if (!waiting.length) {
        if (!queueBar.classList.contains("done")) {
          queueBar.hidden = true;
          queueBar.textContent = "";
        }
        return;
      }
      var others = waiting.filter(function (e) {
        return !patient || e.encounter !== patient.visit_no;
      }).length;
      queueBar.hidden = false;
      queueBar.textContent = "";
      queueBar.className = "bs-queue" + (held ? " held" : "");
      var text = others
        ? interpolate(gettext("… 待发送 %(n)s 条（其中其他患者 %(others)s 条） / %(n)s waiting"),
          { n: waiting.length, others: others }, true)
        : interpolate(gettext("… 待发送 %(n)s 条 / %(n)s waiting"), { n: waiting.length }, true);
      queueBar.appendChild(el("span", "count", text));
      queueBar.setAttribute("data-count", String(waiting.length));
      if (held) {
        var link = el("a", "bs-btn", gettext("重新登录 / Log in"));
        link.href = loginUrl + "?next=" + encodeURIComponent(location.pathname + location.search);
        link.target = "_blank";
        link.rel = "opener";
        queueBar.appendChild(link);
      }
      var now = el("button", "bs-btn secondary", gettext("立即发送 / Send now"));
      now.type = "button";
      now.setAttribute("data-send-now", "");
      now.addEventListener("click", function () {
        retryDelay = RETRY_MIN_MS;
        held = false;
        if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
        pump();
        box.focus();
      });
      queueBar.appendChild(now);
    }

    // -------------------------------------------------------------- camera
    var camera = {
      panel: root.querySelector("[data-camera-panel]"),
      video: root.querySelector("[data-camera-video]"),
      msg: root.querySelector("[data-camera-msg]"),
      photo: root.querySelector("[data-photo]"),
      stream: null,
      detector: null,
      timer: null,
      busy: false,
    };

    function cameraMessage(text, bad) {
      camera.msg.textContent = text;
      camera.msg.className = "bs-camera-msg" + (bad ? " err" : "");
    }

    function closeCamera() {
      if (camera.timer) clearTimeout(camera.timer);
      camera.timer = null;
      if (camera.stream) camera.stream.getTracks().forEach(function (t) { t.stop(); });
      camera.stream = null;
      camera.video.srcObject = null;
      camera.panel.hidden = true;
      box.focus();
    }

    function found(text) {
      closeCamera();
      onScan(text);
    }

    function makeDetector() {
      if (!("BarcodeDetector" in window)) return Promise.resolve(null);
      var wanted = ["data_matrix", "code_128", "qr_code", "ean_13"];
      var supported = window.BarcodeDetector.getSupportedFormats
        ? window.BarcodeDetector.getSupportedFormats() : Promise.resolve(wanted);
      return supported.then(function (formats) {
        var usable = wanted.filter(function (f) { return formats.indexOf(f) >= 0; });
        return usable.length ? new window.BarcodeDetector({ formats: usable }) : null;
      }).catch(function () { return null; });
    }

    function detectLoop() {
      if (!camera.stream || !camera.detector) return;
      camera.detector.detect(camera.video).then(function (codes) {
        if (codes && codes.length && codes[0].rawValue) { found(codes[0].rawValue); return; }
        camera.timer = setTimeout(detectLoop, 200);
      }).catch(function () { camera.timer = setTimeout(detectLoop, 400); });
    }

    function openCamera() {
      audio();
      camera.panel.hidden = false;
      cameraMessage(gettext("正在打开摄像头… / Opening the camera"));
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        // Plain-http intranet pages get no live camera: a photo from the camera app works.
        cameraMessage(gettext("此页面无法直接使用摄像头：请点“选择照片”拍照 / Use “Photo”"), true);
        return;
      }
      navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } }, audio: false,
      }).then(function (stream) {
        camera.stream = stream;
        camera.video.srcObject = stream;
        return camera.video.play().catch(function () { return null; });
      }).then(function () {
        return makeDetector();
      }).then(function (detector) {
        if (!camera.stream) return;
        camera.detector = detector;
        if (detector) {
          cameraMessage(gettext("对准条码，识别后自动提交 / Aim at the barcode"));
          detectLoop();
        } else {
          cameraMessage(gettext("对准条码后点“拍照识别” / Aim, then press Capture"));
        }
      }).catch(function () {
        cameraMessage(gettext("无法打开摄像头：请点“选择照片”拍照 / No camera: use “Photo”"), true);
      });
    }

    function decodeBlob(blob) {
      if (camera.busy) return;
      if (navigator.onLine === false) {
        cameraMessage(gettext("离线时无法识别照片，请用扫码枪 / Offline: use the scanner"), true);
        return;
      }
      camera.busy = true;
      camera.panel.hidden = false;
      cameraMessage(gettext("识别中… / Reading"));
      var form = new FormData();
      form.append("image", blob, "scan.jpg");
      fetch(decodeApi, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: form,
      }).then(function (response) {
        return response.json().catch(function () { return null; }).then(function (data) {
          return { status: response.status, data: data };
        });
      }).then(function (answer) {
        var codes = answer.data && answer.data.codes;
        if (answer.status === 200 && codes && codes.length && codes[0].text) {
          found(codes[0].text);
        } else if (answer.status === 200) {
          cameraMessage(gettext("未识别到条码：请靠近、对准、避免反光后重拍 / No barcode found"), true);
          sound("err");
        } else {
          var error = (answer.data && answer.data.error) || {};
          cameraMessage("✗ " + (messageOf(error) || gettext("识别失败 / Failed")), true);
          sound("err");
        }
      }).catch(function () {
        cameraMessage(gettext("网络不通，无法识别照片 / Offline"), true);
      }).then(function () { camera.busy = false; });
    }

    function shoot() {
      var video = camera.video;
      if (!camera.stream || !video.videoWidth) {
        camera.photo.click();
        return;
      }
      var canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) { if (blob) decodeBlob(blob); }, "image/jpeg", 0.92);
    }

    root.querySelector("[data-camera]").addEventListener("click", openCamera);
    root.querySelector("[data-camera-close]").addEventListener("click", closeCamera);
    root.querySelector("[data-camera-shoot]").addEventListener("click", shoot);
    root.querySelector("[data-camera-photo]").addEventListener("click", function () {
      camera.photo.click();
    });
    camera.photo.addEventListener("change", function () {
      var file = camera.photo.files && camera.photo.files[0];
      camera.photo.value = "";
      if (file) decodeBlob(file);
    });

    // -------------------------------------------------------------- the scanner's keys
    // A keyboard-wedge scanner types wherever focus is. Keys typed while focus is on a
    // button, a link or nothing would be lost, and the read's Enter would press that button
    // (a focused "send the scan again" once resubmitted the previous item): they go into the
    // scan box instead. Fields where the nurse types (a quantity, the consent form) keep
    // their keys, except a read spilling into a quantity field, which is moved to the box.
    var TEXT_TYPES = /^(text|search|number|tel|email|url|password)$/;
    var QTY_MAX_DIGITS = 5;

    function takesText(node) {
      if (!node || !node.tagName) return false;
      if (node.isContentEditable || node.tagName === "TEXTAREA" || node.tagName === "SELECT") {
        return true;
      }
      return node.tagName === "INPUT" && TEXT_TYPES.test(node.type);
    }

    function submitBox() {
      var code = box.value;
      box.value = "";
      onScan(code);
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

    // -------------------------------------------------------------- wiring
    document.addEventListener("keydown", guardKeys, true);
    box.addEventListener("scan", function (event) { onScan(event.detail.code); });
    submit.addEventListener("click", submitBox);
    if (qtyInput) {
      qtyInput.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === "Tab") {
          event.preventDefault();
          box.focus();
        }
      });
    }
    slot.addEventListener("click", function (event) {
      var target = event.target;
      if (target.closest("[data-change-patient]")) { clearPatient(); return; }
      var undo = target.closest("[data-server-rows] [data-undo]");
      if (undo) {
        var row = undo.closest("tr");
        armUndo(undo, function () { undoServerRow(row); });
        box.focus();
      }
    });
    window.addEventListener("online", function () {
      retryDelay = RETRY_MIN_MS;
      updateQueueBar();
      pump();
    });
    window.addEventListener("offline", updateQueueBar);
    window.addEventListener("storage", function (event) {
      // Another tab of the same nurse changed the queue.
      if (event.key !== storageKey) return;
      merge(readStored());
      renderSession();
      updateQueueBar();
      pump();
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) pump();
    });

    load();
    readPatient();
    var last = entries.length ? entries[entries.length - 1] : null;
    if (last && patient && last.encounter === patient.visit_no && last.state !== "ok") {
      lastEntryId = last.id;
      showResult(last);
    }
    updateQueueBar();
    pump();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-bedside]").forEach(setup);
  });
})();
