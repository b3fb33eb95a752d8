/* What every bedside module shares: pagekit.js's helpers (window.WumaPage, a classic script
 * loaded before the modules, with the catalogue's gettext/interpolate from /i18n/js/) as
 * imports, and how a refusal, a time, an amount, an item and an answer are read or written.
 */
const kit = window.WumaPage;

export const gettext = kit.gettext;
export const interpolate = kit.interpolate;
export const ENGLISH = kit.english;
export const uuid4 = kit.uuid4;
export const csrfToken = kit.csrfToken;
export const el = kit.el;
export const visible = kit.visible;

// A refusal in the page's language: its English (message_en, or the part after " / ") on
// an English page, else the Chinese; the English aside goes under a Chinese headline only.
export function messageOf(error) {
  if (!ENGLISH) return error.message || "";
  return error.message_en || kit.englishPart(error.message) || error.message || "";
}

export function asideOf(error) {
  return ENGLISH ? "" : error.message_en || "";
}

export function hhmm(ms) {
  var d = new Date(ms);
  return [d.getHours(), d.getMinutes()]
    .map(function (n) { return (n < 10 ? "0" : "") + n; }).join(":");
}

export function yuan(amount) {
  // As the server's money filter writes it: 1234.50 on a Chinese page, 1,234.50 in English.
  var n = Number(amount);
  if (isNaN(n)) return "¥" + amount;
  var text = Math.abs(n).toFixed(2);
  if (ENGLISH) text = text.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return "¥" + text;
}

// The time the day began on this device: today's lists leave older scans out.
export function startOfToday() {
  var midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  return midnight.getTime();
}

// The item a scan named: the server's answer, else the name the page knew when it was made.
export function itemTitle(entry) {
  var item = (entry.body && entry.body.consumable) || {};
  return item.name ? item.name + (item.spec ? " " + item.spec : "") : entry.itemName || "";
}

// A JSON API's answer as {status, data}; data null when the body is not JSON.
export function readAnswer(response) {
  return response.json().catch(function () { return null; }).then(function (data) {
    return { status: response.status, data: data };
  });
}
