/* Scan pages (入库 receiving, 出库 issuing): every scan from the scan box (scanbox.js) is
 * POSTed to /api/v1/scans as JSON with a fresh event_id, one at a time in scan order.
 *
 * Markup: <div data-scanpage data-action="receive|issue" data-api="/api/v1/scans"
 *   data-labels-url="/inventory/labels/"> with a settings form [data-scan-settings] whose
 *   fields carry data-field="<API field>" ([data-per-scan] ones are cleared after each
 *   recorded scan), the scan box [data-scanbox], [data-scan-result] and [data-scan-log].
 *
 * A scan whose answer never arrived (network down, server error) can be sent again with
 * the same event_id (the "重试 / Retry" button): the API records it at most once.
 * The log of this session's scans is kept in sessionStorage, so a reload does not lose it.
 *
 * Also: inputs with [data-submit-on-tab] submit their form on Tab (scanners ending in Tab).
 */
(function () {
  "use strict";

  var kit = window.WumaPage;
  var gettext = kit.gettext, interpolate = kit.interpolate, ENGLISH = kit.english;
  var englishPart = kit.englishPart, uuid4 = kit.uuid4, csrfToken = kit.csrfToken;
  var el = kit.el, visible = kit.visible;

  // The English of a refusal: message_en, or the part of the message after " / ".
  function messageOf(entry) {
    if (!ENGLISH) return entry.message || "";
    return entry.messageEn || englishPart(entry.message) || entry.message || "";
  }

  var WARNINGS = {
    PURCHASE_PRICE_MISMATCH:
      gettext("入库单价与已批准采购价不一致：已入库，对账时将列为异常 / Unit cost differs from the approved purchase price"),
    NO_ORDER: gettext("未找到对应医嘱 / No matching doctor order"),
  };
  var ACTION_DONE = {
    receive: gettext("已入库 / Received"),
    issue: gettext("已出库 / Issued"),
    use: gettext("已使用 / Used"),
    "return": gettext("已退回 / Returned"),
    scrap: gettext("已报损 / Scrapped"),
  };
  var LOG_LIMIT = 200;

  function timeNow() {
    var d = new Date();
    return [d.getHours(), d.getMinutes(), d.getSeconds()]
      .map(function (n) { return (n < 10 ? "0" : "") + n; })
      .join(":");
  }

  function warningText(code) {
    return WARNINGS[code] || code;
  }

  function setupScanPage(page) {
    var action = page.getAttribute("data-action");
    var api = page.getAttribute("data-api") || "/api/v1/scans";
    var labelsUrl = page.getAttribute("data-labels-url") || "/inventory/labels/";
    var form = page.querySelector("[data-scan-settings]");
    var box = page.querySelector("[data-scanbox]");
    var result = page.querySelector("[data-scan-result]");
    var log = page.querySelector("[data-scan-log]");
    var counter = page.querySelector("[data-scan-count]");
    var submit = page.querySelector("[data-scan-submit]");
    var storageKey = "scanlog:" + action + ":" + location.pathname;
    var queue = Promise.resolve();
    var entries = [];

    function fields() {
      return Array.prototype.slice.call(form ? form.querySelectorAll("[data-field]") : []);
    }

    function settings() {
      var body = {};
      fields().forEach(function (field) {
        var value = (field.value || "").trim();
        if (!value) return;
        var name = field.getAttribute("data-field");
        body[name] = name === "quantity" ? parseInt(value, 10) : value;
      });
      return body;
    }

    function missing() {
      return fields().filter(function (field) {
        return field.required && !(field.value || "").trim();
      });
    }

    function fieldLabel(field) {
      var text = field.closest("label") && field.closest("label").querySelector(".lbl");
      return text && text.firstChild ? text.firstChild.textContent.trim() : field.name;
    }

    // ---------------------------------------------------------------- the big answer line
    function showResult(entry) {
      result.hidden = false;
      result.className = "scan-result " + (entry.ok ? "ok" : entry.pending ? "pending" : "err");
      result.textContent = "";
      if (entry.pending) {
        result.appendChild(el("div", "headline",
          interpolate(gettext("… 提交中 / Sending %(code)s"), { code: visible(entry.code) }, true)));
        return;
      }
      if (entry.ok) {
        var body = entry.body;
        var item = body.consumable || {};
        result.appendChild(
          el("div", "headline", "✓ " + (ACTION_DONE[action] || "OK") + gettext("：") +
            (item.name || "") + (item.spec ? " " + item.spec : ""))
        );
        var facts = [];
        if (body.lot) facts.push(interpolate(gettext("批号 / lot %(lot)s"), { lot: body.lot }, true));
        if (body.expiry) {
          facts.push(interpolate(gettext("效期 / expiry %(expiry)s"), { expiry: body.expiry }, true));
        }
        facts.push(interpolate(gettext("数量 / qty %(qty)s"), { qty: body.quantity }, true));
        if (body.serial) {
          facts.push(interpolate(gettext("序列号 / serial %(serial)s"), { serial: body.serial }, true));
        }
        if (body.hospital_barcode) {
          facts.push(interpolate(gettext("院内码 / label %(label)s"),
            { label: body.hospital_barcode }, true));
        }
        if (entry.to) facts.push("→ " + entry.to);
        result.appendChild(el("div", "facts", facts.join(" · ")));
        if (body.moves && body.moves.length > 1) {
          result.appendChild(el("div", "sub", gettext("按效期分批出库 / FEFO lots:") + " " + body.moves
            .map(function (m) { return (m.lot || "—") + " ×" + m.quantity; }).join(gettext("，"))));
        }
        (body.warnings || []).forEach(function (code) {
          result.appendChild(el("div", "warning", "⚠ " + warningText(code)));
        });
        if (body.labels && body.labels.length) {
          var link = el("a", "labels-link",
            interpolate(gettext("打印院内码（%(n)s 张） / Print %(n)s labels"),
              { n: body.labels.length }, true));
          link.href = labelsUrl + "?labels=" + encodeURIComponent(body.labels.join(","));
          link.target = "_blank";
          link.rel = "noopener";
          var line = el("div", "labels");
          line.appendChild(link);
          result.appendChild(line);
        }
        if (entry.status === 200) {
          result.appendChild(el("div", "sub", gettext("重复提交，已按首次结果返回 / Replay of a recorded scan")));
        }
      } else {
        result.appendChild(el("div", "headline", "✗ " + messageOf(entry)));
        var sub = el("div", "sub");
        if (entry.errorCode) sub.appendChild(el("span", "code", entry.errorCode));
        if (entry.messageEn && !ENGLISH) {
          sub.appendChild(document.createTextNode(" " + entry.messageEn));
        }
        sub.appendChild(document.createTextNode(
          " · " + interpolate(gettext("条码 / code: %(code)s"), { code: visible(entry.code) }, true)));
        result.appendChild(sub);
        if (entry.retry) result.appendChild(retryButton(entry));
      }
    }

    function retryButton(entry) {
      var button = el("button", "retry", gettext("重试（同一事件号） / Retry"));
      button.type = "button";
      button.addEventListener("click", function () {
        enqueue(entry);
        box.focus();
      });
      return button;
    }

    // ---------------------------------------------------------------- the session log
    function renderLog() {
      log.textContent = "";
      if (!entries.length) {
        var empty = el("tr", "empty");
        empty.appendChild(el("td", null, gettext("尚未扫码 / No scans yet"))).colSpan = 7;
        log.appendChild(empty);
      }
      entries.forEach(function (entry) {
        var row = el("tr", entry.ok ? "ok" : entry.pending ? "pending" : "err");
        var item = (entry.body && entry.body.consumable) || {};
        row.appendChild(el("td", "time", entry.time));
        row.appendChild(el("td", "result",
          entry.ok ? gettext("✓ 成功") : entry.pending ? gettext("… 提交中") : "✗ " + (entry.errorCode || gettext("失败"))));
        var what = el("td", "item");
        if (item.name) what.appendChild(el("div", null, item.name + " " + (item.spec || "")));
        what.appendChild(el("div", "code", visible(entry.code)));
        row.appendChild(what);
        // data-label: the column name, shown on a PDA where the table becomes cards.
        var lot = el("td", "lot", entry.body ? entry.body.lot || "—" : "");
        lot.setAttribute("data-label", gettext("批号"));
        row.appendChild(lot);
        var expiry = el("td", "expiry", entry.body ? entry.body.expiry || "—" : "");
        expiry.setAttribute("data-label", gettext("效期"));
        row.appendChild(expiry);
        var qty = el("td", "num qty", entry.body ? entry.body.quantity : "");
        qty.setAttribute("data-label", gettext("数量"));
        row.appendChild(qty);
        var detail = el("td", "detail");
        if (entry.ok) {
          detail.textContent = (entry.body.warnings || []).map(warningText).join(gettext("；"));
          if (entry.to) detail.textContent = "→ " + entry.to + " " + detail.textContent;
          if (entry.body.labels && entry.body.labels.length) {
            var link = el("a", null, gettext("打印院内码 / labels"));
            link.href = labelsUrl + "?labels=" + encodeURIComponent(entry.body.labels.join(","));
            link.target = "_blank";
            link.rel = "noopener";
            detail.appendChild(link);
          }
        } else if (!entry.pending) {
          detail.textContent = messageOf(entry);
          if (entry.retry) detail.appendChild(retryButton(entry));
        }
        row.appendChild(detail);
        log.appendChild(row);
      });
      if (counter) {
        var ok = entries.filter(function (e) { return e.ok; }).length;
        counter.textContent = entries.length
          ? interpolate(gettext("成功 %(ok)s / 共 %(total)s（ok / total）"),
            { ok: ok, total: entries.length }, true)
          : "";
      }
    }

    function save() {
      try {
        sessionStorage.setItem(storageKey, JSON.stringify(entries.slice(0, LOG_LIMIT)));
      } catch (e) { /* storage full or disabled: the log lives on the page only */ }
    }

    function restore() {
      try {
        var saved = JSON.parse(sessionStorage.getItem(storageKey) || "[]");
        if (Array.isArray(saved)) {
          entries = saved.map(function (entry) {
            // A scan still pending when the page was left: its outcome is unknown.
            if (entry.pending) {
              entry.pending = false;
              entry.retry = true;
              entry.message = gettext("页面刷新前未收到结果，请重试 / No answer before reload: retry");
            }
            return entry;
          });
        }
      } catch (e) { entries = []; }
    }

    // ---------------------------------------------------------------- sending
    function send(entry) {
      entry.pending = true;
      entry.retry = false;
      renderLog();
      showResult(entry);
      return fetch(api, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify(entry.request),
      })
        .then(function (response) {
          return response.text().then(function (text) {
            var data = null;
            try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
            return { status: response.status, data: data };
          });
        })
        .then(function (answer) {
          entry.pending = false;
          entry.status = answer.status;
          if ((answer.status === 200 || answer.status === 201) && answer.data) {
            entry.ok = true;
            entry.body = answer.data;
          } else if (answer.data && answer.data.error) {
            entry.ok = false;
            entry.errorCode = answer.data.error.code;
            entry.message = answer.data.error.message || answer.data.error.code;
            entry.messageEn = answer.data.error.message_en || "";
            var detail = answer.data.error.detail;
            if (entry.errorCode === "VALIDATION_ERROR" && detail && !detail.field) {
              // Serializer errors: name the fields that were refused.
              entry.message += gettext("：") + Object.keys(detail).join(gettext("、"));
            }
            entry.retry = answer.status >= 500;
          } else {
            entry.ok = false;
            entry.errorCode = "HTTP_" + answer.status;
            entry.message = answer.status === 403
              ? gettext("无权执行此操作或登录已过期，请重新登录 / Not allowed or logged out")
              : gettext("服务器错误，结果未知，请重试 / Server error: retry");
            entry.retry = answer.status >= 500 || answer.status === 0;
          }
        })
        .catch(function () {
          entry.pending = false;
          entry.ok = false;
          entry.errorCode = "NETWORK";
          entry.message = gettext("网络中断，结果未知，请重试 / Network error: retry");
          entry.retry = true;
        })
        .then(function () {
          renderLog();
          save();
          if (entries[0] === entry || !entries.some(function (e) { return e.pending; })) {
            showResult(entry);
          }
        });
    }

    function enqueue(entry) {
      queue = queue.then(function () { return send(entry); });
      return queue;
    }

    function targetName() {
      var field = form && form.querySelector("[data-field=department]");
      if (action !== "issue" || !field || field.selectedIndex < 0) return null;
      return field.options[field.selectedIndex].text;
    }

    function onScan(code) {
      var entry = { code: code, time: timeNow(), pending: true, ok: false };
      var lacking = missing();
      if (lacking.length) {
        entry.pending = false;
        entry.errorCode = "NOT_SENT";
        entry.message = interpolate(
          gettext("请先填写：%(fields)s（本次扫码未提交） / Fill these in first: %(fields)s"),
          { fields: lacking.map(fieldLabel).join(gettext("、")) }, true);
        entries.unshift(entry);
        renderLog();
        save();
        showResult(entry);
        lacking[0].focus();
        return;
      }
      entry.request = Object.assign({ event_id: uuid4(), action: action, code: code }, settings());
      entry.to = targetName();
      entries.unshift(entry);
      if (entries.length > LOG_LIMIT) entries.length = LOG_LIMIT;
      fields().forEach(function (field) {
        if (field.hasAttribute("data-per-scan")) field.value = "";
      });
      enqueue(entry);
    }

    box.addEventListener("scan", function (event) { onScan(event.detail.code); });
    if (submit) {
      submit.addEventListener("click", function () {
        var code = box.value.replace(/[\r\n\t]+$/, "");
        box.value = "";
        if (code.trim()) onScan(code);
        box.focus();
      });
    }
    if (form) {
      form.addEventListener("submit", function (event) {
        if (!form.hasAttribute("data-allow-submit")) {
          event.preventDefault();
          box.focus();
        }
      });
      // Keep the chosen store, supplier... in the address: a reload keeps them.
      form.addEventListener("change", function (event) {
        var params = new URLSearchParams();
        Array.prototype.forEach.call(form.elements, function (field) {
          if (field.name && field.value && !field.hasAttribute("data-per-scan")) {
            params.set(field.name, field.value);
          }
        });
        history.replaceState(null, "", location.pathname + "?" + params.toString());
        if (event.target.tagName === "SELECT") box.focus();
      });
    }
    restore();
    renderLog();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-scanpage]").forEach(setupScanPage);
    document.querySelectorAll("input[data-submit-on-tab]").forEach(function (input) {
      input.addEventListener("keydown", function (event) {
        if (event.key === "Tab" && input.value.trim() && input.form) {
          event.preventDefault();
          input.form.submit();
        }
      });
    });
  });
})();
