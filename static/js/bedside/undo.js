/* Undo (撤销): a recorded use is reversed by a `return` scan of the same code (its own
 * event_id), from this device's row or from a server row; an unsent scan is just dropped.
 * Two taps: a stray touch on a PDA must not return an item and refund it.
 */
import { gettext, uuid4 } from "./kit.js";

export function createUndo(page) {
  function entry(scan) {
    if (scan.state === "pending" && !scan.attempts) {
      // Never sent: nothing to reverse, just drop it.
      page.queue.drop(scan);
      page.queue.save();
      page.list.render();
      page.queueBar.update();
      page.result.notice(gettext("已取消未发送的扫码 / Unsent scan cancelled"));
      return;
    }
    if (scan.state !== "ok" || scan.kind !== "use" || scan.undone) return;
    sendReturn({
      code: scan.code,
      quantity: scan.body ? scan.body.quantity : null,
      department: scan.request.department,
      encounter: scan.request.encounter,
      undoOf: scan.id,
      name: scan.body && scan.body.consumable ? scan.body.consumable.name : "",
    });
  }

  // A row of the server's list (tr[data-event-id]): what it returns is on the row.
  function serverRow(row) {
    var eventId = row.getAttribute("data-event-id");
    var local = page.queue.find(eventId);
    var returnable = parseInt(row.getAttribute("data-returnable"), 10) || 0;
    var nameNode = row.querySelector(".bs-item-name");
    sendReturn({
      code: local && local.kind === "use" ? local.code : row.getAttribute("data-code"),
      quantity: returnable,
      department: row.getAttribute("data-department") || page.ward,
      undoOf: local ? local.id : null,
      useEventId: eventId,
      name: nameNode ? nameNode.textContent.trim() : "",
    });
  }

  function sendReturn(what) {
    var patient = page.patient.current();
    if (!patient || !what.code) return;
    var request = {
      event_id: uuid4(),
      action: "return",
      code: what.code,
      department: what.department,
      encounter: what.encounter || patient.visit_no,
      occurred_at: page.now(),
    };
    if (what.quantity && what.quantity > 0) request.quantity = what.quantity;
    return page.sender.send({
      kind: "return", code: what.code, request: request, undoOf: what.undoOf,
      useEventId: what.useEventId || what.undoOf, itemName: what.name,
    });
  }

  function arm(button, action) {
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

  return { entry: entry, serverRow: serverRow, arm: arm };
}
