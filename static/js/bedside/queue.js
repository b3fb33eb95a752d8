/* The scans kept on this device: every scan is an entry (its event_id is its id), kept in
 * localStorage per user BEFORE it is sent, so the queue survives a reload and a shared PDA
 * never sends one nurse's scans under another's login. Tabs of the same nurse share it
 * (merged: the union, the newer revision of each entry, nothing cancelled comes back).
 * No sending and no drawing here: sender.js sends, the list modules draw.
 */
import { gettext } from "./kit.js";

var KEEP_MS = 24 * 3600 * 1000; // settled entries are kept a day (for undo), pending ones always
var KEEP_SETTLED = 300;

// An entry changed here: its newer revision wins when the tabs' copies are merged.
export function touch(entry) {
  entry.rev = (entry.rev || 0) + 1;
}

export function createQueue(page) {
  var storageKey = "bedside:v1:" + page.user;
  var entries = [];
  var dropped = {}; // id -> time: unsent scans cancelled here, never to come back from storage

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
      page.result.notice(gettext("本机存储不可用：离线扫码在刷新页面后会丢失 / Local storage unavailable"));
    }
  }

  return {
    storageKey: storageKey,
    // Every entry, oldest first (a new array after a merge or a drop: ask again each time).
    all: function () { return entries; },
    last: function () { return entries.length ? entries[entries.length - 1] : null; },
    find: function (id) {
      for (var i = 0; i < entries.length; i++) if (entries[i].id === id) return entries[i];
      return null;
    },
    pending: function () {
      return entries.filter(function (e) { return e.state === "pending" || e.state === "sending"; });
    },
    waiting: function () {
      // What the nurse is told is waiting: not a first attempt that is merely in flight
      // (that would flash the bar on every scan).
      return entries.filter(function (e) {
        return e.state === "pending" || (e.state === "sending" && e.attempts > 1);
      });
    },
    push: function (entry) { entries.push(entry); },
    // An unsent scan cancelled: gone here and, through `dropped`, in every tab.
    drop: function (entry) {
      dropped[entry.id] = Date.now();
      entries = entries.filter(function (e) { return e !== entry; });
    },
    load: function () {
      entries = [];
      merge(readStored());
    },
    // Another tab wrote: take in what it wrote.
    reload: function () { merge(readStored()); },
    save: save,
  };
}
