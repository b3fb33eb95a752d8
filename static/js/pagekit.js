/* What the scan pages' scripts share (bedside/kit.js, scanpage.js): the message catalogue
 * with its fallbacks, the page language, and small DOM and request helpers.
 *
 * Usage: <script src="pagekit.js"> before the page's script, which reads window.WumaPage.
 */
(function () {
  "use strict";

  // Messages come from the catalogue at /i18n/js/ (locale/*/djangojs.po); without it the
  // Chinese (with its English) stays.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  };
  var ENGLISH = (document.documentElement.lang || "").indexOf("en") === 0;

  // The English of a bilingual text: the part after " / " that has no Chinese in it.
  function englishPart(text) {
    var parts = String(text || "").split(" / ");
    for (var i = 1; i < parts.length; i++) {
      var head = parts.slice(0, i).join(" / ");
      var tail = parts.slice(i).join(" / ");
      if (/[\u3400-\u9fff]/.test(head) && !/[\u3400-\u9fff]/.test(tail)) return tail;
    }
    return "";
  }

  function uuid4() {
    var c = window.crypto;
    // randomUUID exists only in secure contexts (https or localhost), not on a plain-http
    // intranet address: fall back to getRandomValues, then Math.random.
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    var bytes = new Uint8Array(16);
    if (c && typeof c.getRandomValues === "function") {
      c.getRandomValues(bytes);
    } else {
      for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Control characters (GS) shown as a visible mark.
  function visible(code) {
    return String(code).replace(/\x1d/g, "␝");
  }

  window.WumaPage = {
    gettext: gettext,
    interpolate: interpolate,
    english: ENGLISH,
    englishPart: englishPart,
    uuid4: uuid4,
    csrfToken: csrfToken,
    el: el,
    visible: visible,
  };
})();
