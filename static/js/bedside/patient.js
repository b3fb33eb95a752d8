/* The patient panel: whose wristband was scanned. The panel is the server's HTML
 * (GET billing-bedside-patient, with today's uses); offline, the ward's roster rendered
 * with the page still tells who is on the ward. Also the scan box's mode (wristband first,
 * then items), the address bar (?ward=&visit=) and the reload of today's list.
 */
import { el, gettext, interpolate } from "./kit.js";
import { stripSymbology } from "./codes.js";
import { sound } from "./sound.js";

export function createPatient(page) {
  var slot = page.slot;
  var box = page.box;
  var qtyInput = page.qtyInput;
  var label = page.root.querySelector("[data-scan-label]");
  var rosterNode = document.getElementById("bedside-roster");
  var roster = {};
  try {
    (JSON.parse(rosterNode ? rosterNode.textContent : "[]") || []).forEach(function (p) {
      roster[p.visit_no] = p;
    });
  } catch (e) { roster = {}; }
  var patient = null; // {visit_no, name, insurance}
  var serverLoadedAt = 0;
  var refreshTimer = null;

  function read() {
    var node = slot.querySelector("[data-encounter]");
    patient = node ? {
      visit_no: node.getAttribute("data-encounter"),
      name: node.getAttribute("data-patient-name"),
      insurance: node.getAttribute("data-insurance"),
    } : null;
    serverLoadedAt = Date.now();
    var params = new URLSearchParams();
    params.set("ward", page.ward);
    if (patient) params.set("visit", patient.visit_no);
    history.replaceState(null, "", location.pathname + "?" + params.toString());
    mode();
    page.list.render();
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
    return page.urls.patient + "?ward=" + encodeURIComponent(page.ward) +
      "&visit=" + encodeURIComponent(visit);
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

  function select(raw) {
    var visit = stripSymbology(raw).trim();
    page.result.hide();
    fetchPatient(visit).then(function (answer) {
      slot.innerHTML = answer.html;
      read();
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
    link.href = page.loginHref();
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
    facts.appendChild(el("span", "badge " + (known.insured === false ? "selfpay" : "ins"),
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
    page.list.render();
    sound("ok");
  }

  function clear() {
    patient = null;
    page.repeat.close();
    slot.textContent = "";
    var prompt = el("div", "bs-prompt");
    prompt.appendChild(el("div", "big", gettext("① 请扫描患者腕带")));
    prompt.appendChild(el("div", "en", "Scan the patient's wristband, then the items used."));
    slot.appendChild(prompt);
    page.result.hide();
    read();
    box.focus();
  }

  function refresh() {
    // The server's list of today's uses after scans settled (merged with the local ones).
    if (!patient || refreshTimer) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      if (!patient || page.queue.pending().length) return;
      var visit = patient.visit_no;
      fetchPatient(visit).then(function (answer) {
        if (!patient || patient.visit_no !== visit || answer.status !== 200) return;
        slot.innerHTML = answer.html;
        read();
      }).catch(function () { /* offline: keep what is shown */ });
    }, 300);
  }

  return {
    // The patient scanned, or null: {visit_no, name, insurance}.
    current: function () { return patient; },
    // When the server's list was last put in the panel (0: offline, none).
    loadedAt: function () { return serverLoadedAt; },
    // The ward's roster entry of a visit number, or undefined.
    onWard: function (visit) { return roster[visit]; },
    read: read,
    select: select,
    clear: clear,
    refresh: refresh,
  };
}
