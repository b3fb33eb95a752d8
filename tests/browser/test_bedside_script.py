"""The bedside page through a scripted shift: 200 wedge reads, then the server is asked.

Issue 12's acceptance test. A seeded random script drives the nurse page the way a ward
shift does, with a keyboard-wedge scanner (key by key, a few ms apart, then Enter): unit scans
of lot-tracked items, scanner double-fires (confirmed by a third read or by "再加一件", or
let go), box codes (answered with a quantity, or left for the next item), serial-tracked
units (first use, and a used unit scanned again), unknown codes, a self-pay item that first
needs the consent recorded, undo of the latest row, a change of patient, and network drops
of 5-15 reads. The script keeps its own account of what the nurse meant to charge, per item
and patient, and of the reads the server must refuse; at the end the database must hold
exactly that account: every intended use charged once, nothing else charged, nothing lost.

After each read the script waits for what the page shows for that read (the result line,
the question, the queue), never a fixed sleep, except the 0.2 s between a double-fire's two
reads. The seed is printed with the failing step; ``BEDSIDE_SCRIPT_SEED=n`` replays another
script.
"""

import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from rest_framework.settings import api_settings

from billing.models import ChargeLine, ChargeRefund, Use
from consumables.models import Consumable
from consumables.udi import gtin_check_digit
from tests.billing.conftest import expiry_text, gtin, post_scan, stocked_item
from tests.factories import DeviceIdentifierFactory

from .bedside_world import PATIENTS, bedside_ward
from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

SEED = int(os.environ.get("BEDSIDE_SCRIPT_SEED", "20240612"))
# Milliseconds between keys: a wedge scanner types a read in a few tens of milliseconds
# (1-10 ms a key); 2 ms keeps 200 reads of 30-40 characters inside the time budget.
KEY_DELAY_MS = 2
READS = 200
BOX_OF = 50
SERIALS = [f"SN{n:04d}" for n in range(1, 16)]
STORAGE_KEY = "bedside:v1:nurse01"  # the page's queue, per user

SYRINGE, DRESSING, CANNULA = "一次性注射器", "透明敷贴", "静脉留置针"
STENT, LENS = "药物洗脱冠脉支架", "人工晶体"
UNKNOWN = {"UNKNOWN_CODE", "UNREADABLE_CODE"}

# The page's own state, read in one go after each step: the result line, the question,
# the refusals list, the queue and where the focus is.
SNAPSHOT = """() => {
  const r = document.querySelector('[data-result]');
  const ask = document.querySelector('[data-ask]');
  const queue = document.querySelector('[data-queue]');
  const name = document.querySelector('.bs-name');
  return {
    entry: r.getAttribute('data-entry'),
    cls: r.className,
    question: r.getAttribute('data-question'),
    text: r.hidden ? '' : r.innerText,
    ask: !ask.hidden,
    refused: Object.fromEntries([...document.querySelectorAll('[data-refusals] [data-refused]')]
      .map((n) => [n.getAttribute('data-refused'), n.getAttribute('data-code')])),
    queue: queue.hidden ? '' : queue.innerText,
    name: name ? name.textContent : null,
    focus: document.activeElement ? document.activeElement.id : null,
  };
}"""

# The result line shows a new entry (not ``prev``); online, its answer has come.
SETTLED = """([prev, online]) => {
  const r = document.querySelector('[data-result]');
  const id = r.getAttribute('data-entry');
  if (!id || id === prev) return false;
  return online ? !r.classList.contains('pending') : r.classList.contains('pending');
}"""

# Nothing waits in the page's queue (what the queue bar counts) and the bar says so.
QUEUE_EMPTY = """(key) => {
  const data = JSON.parse(localStorage.getItem(key) || '{"entries": []}');
  if (data.entries.some((e) => e.state === 'pending' || e.state === 'sending')) return false;
  const bar = document.querySelector('[data-queue]');
  return bar.hidden || bar.classList.contains('done');
}"""

ENTRY_STATES = """(key) => Object.fromEntries(
  JSON.parse(localStorage.getItem(key) || '{"entries": []}').entries
    .map((e) => [e.id, e.state === 'err' ? 'err:' + e.error.code : e.state]))"""


@pytest.fixture
def shift():
    """A ward with lot-tracked syringes, dressings and cannulas (also in boxes of 50),
    serial-tracked stents and a self-pay lens, all issued to it; two patients on the ward,
    one elsewhere."""
    hospital = bedside_ward(theatre=False)
    codes = {}
    _, _, (codes[SYRINGE],) = stocked_item(
        hospital, "690999000001", name=SYRINGE, spec="5ml", price="0.8", quantity=120
    )
    _, _, (codes[DRESSING],) = stocked_item(
        hospital, "690999000005", name=DRESSING, spec="6×7cm", price="3.2", quantity=120
    )
    cannula, _, (codes[CANNULA],) = stocked_item(
        hospital, "690999000002", name=CANNULA, spec="22G", price="17.27", quantity=120
    )
    box = _boxes_issued_to_the_ward(hospital, cannula, "690999000002", boxes=3)
    _, _, stents = stocked_item(
        hospital,
        "690999000003",
        name=STENT,
        spec="3.0×18mm",
        price="5800",
        tracking=Consumable.Tracking.UNIT,
        value_class=Consumable.ValueClass.HIGH,
        serials=SERIALS,
    )
    _, _, (codes[LENS],) = stocked_item(
        hospital,
        "690999000004",
        name=LENS,
        spec="+21.0D",
        price="3600",
        quantity=60,
        insurance_class=Consumable.InsuranceClass.SELF_PAY,
    )
    unknown_di = gtin("690999000099")  # a well-formed UDI of nothing in the master
    return {
        "lots": codes,
        "box": box,
        "stents": dict(zip(SERIALS, stents, strict=True)),
        "unknown": [f"01{unknown_di}17{expiry_text()}10LX{n}" for n in range(3)]
        + [f"NOSUCH{n:03d}" for n in range(40)],
        "unknown_di": unknown_di,
    }


def _boxes_issued_to_the_ward(hospital, consumable, body12: str, *, boxes: int) -> str:
    """The box DI (50 per box) of ``consumable``, ``boxes`` boxes received and issued to the
    ward (lot NEW001); returns the box's code."""
    body = "1" + body12
    box_di = body + gtin_check_digit(body)
    DeviceIdentifierFactory(
        consumable=consumable, udi_di=box_di, units_per_package=BOX_OF, package_level="箱（50支）"
    )
    code = f"01{box_di}17{expiry_text()}10NEW001"
    keeper, units = hospital["keeper"], BOX_OF * boxes
    receive = post_scan(
        keeper, "receive", code, "CK01", supplier="GYS01", unit_cost="17.27", quantity=units
    )
    assert receive.status_code == 201, receive.json()
    issue = post_scan(keeper, "issue", code, "XNK", from_department="CK01", quantity=units)
    assert issue.status_code == 201, issue.json()
    return code


@dataclass
class Intended:
    """A use the nurse meant: one event on the server, ``quantity`` of ``item``."""

    item: str
    visit: str
    quantity: int
    serial: str | None = None
    returned: int = 0
    step: int = 0  # the script's step that made it


@dataclass
class Shift:
    """The script and its own account of what should have happened."""

    page: object
    codes: dict
    rng: random.Random
    reads: int = 0
    step: int = 0
    online: bool = True
    patient: str = "ZY001"
    last_code: str | None = None  # the code of the latest read that made an entry
    uses: dict = field(default_factory=dict)  # event_id -> Intended
    order: list = field(default_factory=list)  # event_ids of uses, in scan order
    refused: dict = field(default_factory=dict)  # event_id -> the refusal codes expected
    offline_entries: list = field(default_factory=list)  # event_ids scanned offline
    used_serials: set = field(default_factory=set)
    consented: set = field(default_factory=set)
    unknown_left: list = field(default_factory=list)
    log: list = field(default_factory=list)
    undos: int = 0
    drops: list = field(default_factory=list)  # [(first read, reads)]

    # ------------------------------------------------------------------ the page
    def read(self, code: str):
        """One read of the wedge scanner: the code typed key by key, then Enter, wherever
        the focus is."""
        self.page.keyboard.type(code, delay=KEY_DELAY_MS)
        self.page.keyboard.press("Enter")
        self.reads += 1

    def snapshot(self) -> dict:
        return self.page.evaluate(SNAPSHOT)

    def settle(self, prev: str | None) -> dict:
        """Wait for the result line of the entry that the last read made: its answer when
        online, its place in the queue when offline."""
        self.page.wait_for_function(SETTLED, arg=[prev, self.online], polling=20)
        return self.snapshot()

    def page_state(self) -> dict:
        """What the page shows and holds, for a failure's message."""
        try:
            state = self.snapshot()
            state["scanbox"] = self.page.locator("#scanbox").input_value()
            entries = self.page.evaluate(ENTRY_STATES, STORAGE_KEY)
            state["last entries"] = list(entries.items())[-6:]
            return state
        except Exception as error:  # noqa: BLE001 - the page itself may be gone
            return {"unavailable": str(error)}

    def entry(self) -> str | None:
        return self.page.locator("[data-result]").get_attribute("data-entry")

    # ------------------------------------------------------------------ the account
    def intend(self, event_id: str, item: str, quantity: int = 1, serial: str | None = None):
        assert event_id not in self.uses, f"entry {event_id} counted twice"
        self.uses[event_id] = Intended(item, self.patient, quantity, serial, step=self.step)
        self.order.append(event_id)

    def expect_refused(self, event_id: str, *codes: str):
        self.refused[event_id] = set(codes)

    def scanned(self, event_id: str, code: str):
        self.last_code = code
        if not self.online:
            self.offline_entries.append(event_id)

    def expect_answer(self, snap: dict, event_id: str, *, ok: bool, codes=(), text=None):
        """Online: the result line shows this entry's answer, as the script expects it."""
        assert snap["entry"] == event_id, snap
        if ok:
            assert "ok" in snap["cls"].split(), f"expected charged, the page says: {snap['text']}"
            if text:
                assert text in snap["text"], snap["text"]
        else:
            assert {"err", "ask"} & set(snap["cls"].split()), snap
            # Not lost: listed among the scans not recorded, with its reason.
            listed = snap["refused"].get(event_id)
            assert listed in codes, f"expected one of {codes} listed, got {snap['refused']}"
            if listed != "PACKAGE_CODE":  # the box question says it in words
                assert listed in snap["text"], snap["text"]

    def lot_codes(self, *, avoid_last=True) -> list[str]:
        names = [SYRINGE, DRESSING, CANNULA] + ([LENS] if self.patient in self.consented else [])
        codes = [self.codes["lots"][n] for n in names]
        # The same lot code again at once would be a double read the page asks about: the
        # script asks for that on purpose only (step ``double``).
        return [c for c in codes if not (avoid_last and c == self.last_code)]

    def item_of(self, code: str) -> str:
        return next(n for n, c in self.codes["lots"].items() if c == code)

    # ------------------------------------------------------------------ steps
    def unit(self):
        code = self.rng.choice(self.lot_codes())
        item = self.item_of(code)
        prev = self.entry()
        self.read(code)
        snap = self.settle(prev)
        self.scanned(snap["entry"], code)
        self.intend(snap["entry"], item)
        if self.online:
            self.expect_answer(snap, snap["entry"], ok=True, text="数量 1")
        return f"unit {item}"

    def double(self, then: str):
        """The scanner fires twice; ``then``: "read" (a deliberate third read), "button"
        (再加一件) or "move" (the nurse goes on: the next read dismisses the question)."""
        code = self.rng.choice(self.lot_codes())
        item = self.item_of(code)
        prev = self.entry()
        self.read(code)
        time.sleep(0.2)
        self.read(code)
        snap = self.settle(prev)
        first = snap["entry"]
        self.scanned(first, code)
        self.intend(first, item)
        if self.online:
            self.expect_answer(snap, first, ok=True)
        assert snap["ask"], f"a double read was not asked about: {snap}"
        question = self.page.locator("[data-ask]")
        assert "重复扫码：再加一件？" in question.inner_text()
        if then == "move":
            return f"double {item}, let go"
        if then == "read":
            self.read(code)
        else:
            self.page.click("[data-add-another]")
        snap = self.settle(first)
        assert not snap["ask"], snap
        self.scanned(snap["entry"], code)
        self.intend(snap["entry"], item)
        if self.online:
            self.expect_answer(snap, snap["entry"], ok=True)
        return f"double {item}, then {then} (+1)"

    def box(self, answer: int | None):
        code = self.codes["box"]
        prev = self.entry()
        self.read(code)
        snap = self.settle(prev)
        box_entry = snap["entry"]
        self.scanned(box_entry, code)
        if not self.online:
            self.expect_refused(box_entry, "PACKAGE_CODE")
            return "box (offline: refused when sent)"
        self.expect_answer(snap, box_entry, ok=False, codes=("PACKAGE_CODE",))
        assert snap["question"] == "package", snap
        assert "每盒 50" in snap["text"], snap["text"]
        if answer is None:
            self.expect_refused(box_entry, "PACKAGE_CODE")
            return "box, not answered"
        self.page.locator("[data-package-form] [data-qty-field]").click()
        self.page.keyboard.type(str(answer), delay=5)
        self.page.keyboard.press("Enter")
        snap = self.settle(box_entry)
        self.intend(snap["entry"], CANNULA, answer)
        self.expect_answer(snap, snap["entry"], ok=True, text=f"数量 {answer}")
        assert box_entry not in snap["refused"], "an answered box question is still listed"
        return f"box, {answer} used"

    def serial(self, fresh: bool):
        stents = self.codes["stents"]
        pool = [s for s in stents if (s in self.used_serials) != fresh]
        serial = self.rng.choice(pool)
        prev = self.entry()
        self.read(stents[serial])
        snap = self.settle(prev)
        self.scanned(snap["entry"], stents[serial])
        if fresh:
            self.used_serials.add(serial)
            self.intend(snap["entry"], STENT, serial=serial)
            if self.online:
                self.expect_answer(snap, snap["entry"], ok=True, text=serial)
            return f"stent {serial}"
        self.expect_refused(snap["entry"], "ALREADY_USED")
        if self.online:
            self.expect_answer(snap, snap["entry"], ok=False, codes=("ALREADY_USED",))
        return f"stent {serial} again"

    def unknown(self):
        code = self.unknown_left.pop(0)
        prev = self.entry()
        self.read(code)
        snap = self.settle(prev)
        self.scanned(snap["entry"], code)
        self.expect_refused(snap["entry"], *UNKNOWN)
        if self.online:
            self.expect_answer(snap, snap["entry"], ok=False, codes=tuple(UNKNOWN))
        return f"unknown {code}"

    def consent(self):
        code = self.codes["lots"][LENS]
        prev = self.entry()
        self.read(code)
        snap = self.settle(prev)
        held = snap["entry"]
        self.scanned(held, code)
        self.expect_answer(snap, held, ok=False, codes=("CONSENT_REQUIRED",))
        self.page.click("[data-consent]")
        form = self.page.locator("[data-consent-form]")
        signer = form.locator("[name=signed_by]")
        assert signer.input_value() == PATIENTS[self.patient]
        form.locator("[name=relationship]").select_option(index=0)
        form.locator("button[type=submit]").click()
        # The held scan goes by itself, under its own event id.
        self.page.wait_for_function(
            """(id) => {
              const r = document.querySelector('[data-result]');
              return r.getAttribute('data-entry') === id && r.classList.contains('ok');
            }""",
            arg=held,
            polling=20,
        )
        snap = self.snapshot()
        assert "已登记知情同意" in snap["text"] and held not in snap["refused"], snap
        self.consented.add(self.patient)
        self.intend(held, LENS)
        return f"lens with consent ({self.patient})"

    def undoable(self) -> str | None:
        mine = [e for e in self.order if self.uses[e].visit == self.patient]
        for event_id in reversed(mine):
            if self.uses[event_id].returned < self.uses[event_id].quantity:
                return event_id
        return None

    def undo(self):
        """撤销 on the latest row of this patient still standing: two taps."""
        event_id = self.undoable()
        use = self.uses[event_id]
        button = (
            f"[data-server-rows] tr[data-event-id='{event_id}'] [data-undo], "
            f"[data-session-rows] tr[data-entry='{event_id}'] [data-undo]"
        )
        prev = self.entry()
        for _attempt in range(5):
            # The list is re-read from the server after scans settle: a row replaced between
            # the two taps is tapped again from the start (the first tap only arms it).
            handle = self.page.wait_for_selector(button, state="visible")
            try:
                handle.click(timeout=2000)
                if handle.get_attribute("data-armed") != "1":
                    continue
                handle.click(timeout=2000)
            except Exception:  # noqa: BLE001 - detached by a re-render: tap the new row
                continue
            break
        else:
            raise AssertionError(f"the undo of {event_id} could not be tapped twice")
        snap = self.settle(prev)
        assert "ok" in snap["cls"].split() and "已撤销" in snap["text"], snap
        use.returned = use.quantity
        if use.serial:
            self.used_serials.discard(use.serial)
        self.undos += 1
        self.last_code = None
        return f"undo {use.item} ×{use.quantity}"

    def switch(self):
        visit = next(v for v in PATIENTS if v != self.patient)
        self.read(visit)
        self.page.wait_for_function(
            "(name) => (document.querySelector('.bs-name') || {}).textContent === name",
            arg=PATIENTS[visit],
            polling=20,
        )
        self.patient = visit
        return f"wristband {visit}"

    # ------------------------------------------------------------------ the network
    def drop(self):
        self.page.context.set_offline(True)
        self.online = False
        self.offline_entries = []
        return "network down"

    def back_online(self):
        self.page.context.set_offline(False)
        self.online = True
        self.wait_queue_empty()
        states = self.page.evaluate(ENTRY_STATES, STORAGE_KEY)
        snap = self.snapshot()
        for event_id in self.offline_entries:
            if event_id in self.uses:
                assert states.get(event_id) == "ok", (
                    f"queued use {event_id}: {states.get(event_id)}"
                )
            else:
                codes = self.refused[event_id]
                assert states.get(event_id, "")[4:] in codes, (event_id, states.get(event_id))
                # A queued scan refused when sent is shown, not dropped.
                assert snap["refused"].get(event_id) in codes, (event_id, snap["refused"])
        return f"network back: {len(self.offline_entries)} queued scans sent"

    def wait_queue_empty(self):
        self.page.wait_for_function(QUEUE_EMPTY, arg=STORAGE_KEY, polling=50)

    # ------------------------------------------------------------------ the script
    def next_step(self):
        left = READS - self.reads
        offline_refusals = sum(1 for e in self.offline_entries if e in self.refused)
        choices = [("unit", 30)]
        if left >= 2:
            choices += [("double", 14)]
        # Offline a box read waits unrefused in the queue, so the same box again at once is
        # a double read to the page ("再加一件？"), as for any code it cannot yet judge.
        if self.online or self.last_code != self.codes["box"]:
            choices.append(("box", 10))
        choices += [("serial", 12), ("switch", 5)]
        if self.unknown_left:
            choices.append(("unknown", 7))
        if self.online:
            if self.patient not in self.consented:
                choices.append(("consent", 4))
            if self.undoable():
                choices.append(("undo", 7))
        elif offline_refusals >= 4:
            # The refusals list shows the latest five: a drop's refusals must all fit in it
            # to be seen there when the queue is sent.
            choices = [c for c in choices if c[0] in ("unit", "double", "switch")]
        kind = self.rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
        if kind == "double":
            modes = ["move", "button"] + (["read"] if left >= 3 else [])
            return self.double(self.rng.choice(modes))
        if kind == "box":
            answer = self.rng.choice([None, None, 1, 2, 3, 5]) if self.online else None
            return self.box(answer)
        if kind == "serial":
            fresh = len(self.used_serials) < len(SERIALS) and (
                not self.used_serials or self.rng.random() < 0.75
            )
            return self.serial(fresh)
        return getattr(self, kind)()

    def run(self):
        self.drops = [
            (self.rng.randint(25, 80), self.rng.randint(5, 15)),
            (self.rng.randint(110, 170), self.rng.randint(5, 15)),
        ]
        step = self.step = 0
        while self.reads < READS:
            step = self.step = step + 1
            before = self.reads
            try:
                if self.online and any(start <= self.reads < start + n for start, n in self.drops):
                    self.log.append((step, before, self.drop()))
                elif not self.online and not any(
                    start <= self.reads < start + n for start, n in self.drops
                ):
                    self.log.append((step, before, self.back_online()))
                else:
                    self.log.append((step, before, self.next_step()))
                snap = self.snapshot()
                assert snap["focus"] == "scanbox", f"focus left the scan box: {snap['focus']}"
                unexpected = set(snap["refused"]) - set(self.refused)
                assert not unexpected, f"refused, not meant to be: {snap['refused']}"
            except Exception as error:
                recent = "\n".join(f"  step {s} (read {r}): {what}" for s, r, what in self.log[-8:])
                raise AssertionError(
                    f"seed {SEED}, step {step} (after read {before}, patient {self.patient}, "
                    f"{'online' if self.online else 'offline'}) failed: {error}\n"
                    f"last steps:\n{recent}\nthe page: {self.page_state()}"
                ) from error
        if not self.online:
            self.log.append((step + 1, self.reads, self.back_online()))
        self.wait_queue_empty()

    def net_intended(self) -> Counter:
        net = Counter()
        for use in self.uses.values():
            net[(use.item, use.visit)] += use.quantity - use.returned
        return +net


def test_a_scripted_shift_of_200_reads_charges_every_intended_use_once_and_nothing_else(
    shift, new_page, settings, monkeypatch
):
    from playwright.sync_api import expect

    # A whole shift pressed into two minutes is about two scans a second, above the per-user
    # guard against runaway scripts (120/min). Its 429 holds a scan back (the page keeps it
    # and sends it again later), which would only make this script wait.
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "scans", "100000/min")
    # The script reads the same lot code twice in a row only on purpose (a double-fire), so
    # a wider window changes no other step; it keeps a loaded machine's "at once" at once.
    settings.BEDSIDE_REPEAT_SCAN_SECONDS = 5

    print(f"bedside script seed {SEED} (BEDSIDE_SCRIPT_SEED={SEED} replays it)")
    page = new_page(1280, 900)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    expect(page.locator("#scanbox")).to_be_focused()
    script = Shift(page=page, codes=shift, rng=random.Random(SEED))
    script.unknown_left = list(shift["unknown"])
    random.Random(SEED).shuffle(script.unknown_left)
    script.read("ZY001")
    expect(page.locator(".bs-name")).to_have_text("张三")
    started = time.monotonic()
    script.run()
    kinds = Counter(what.split()[0].rstrip(",") for _, _, what in script.log)
    print(f"{script.reads} reads in {time.monotonic() - started:.1f}s: {dict(kinds)}")

    # Every intended use is one event on the server, of what the nurse meant.
    uses = {str(u.event_id): u for u in Use.objects.select_related("consumable", "encounter")}
    missing = [
        (m.step, m.item, m.visit, m.quantity) for e, m in script.uses.items() if e not in uses
    ]
    assert not missing, (
        f"seed {SEED}: intended (step, item, patient, qty) not on the server: {missing}"
    )
    extra = [
        (u.consumable.name, u.encounter.visit_no, u.quantity)
        for e, u in uses.items()
        if e not in script.uses
    ]
    assert not extra, f"seed {SEED}: uses on the server nobody meant: {extra}"
    for event_id, meant in script.uses.items():
        use = uses[event_id]
        got = (use.consumable.name, use.encounter.visit_no, use.quantity, use.returned_quantity)
        assert got == (meant.item, meant.visit, meant.quantity, meant.returned), (SEED, meant)
        if meant.serial:
            assert use.tracked_unit.serial == meant.serial

    # Net used and net charged per item and patient: what the script meant, no more.
    used, charged = Counter(), Counter()
    for use in uses.values():
        used[(use.consumable.name, use.encounter.visit_no)] += use.quantity - use.returned_quantity
    charges = ChargeLine.objects.select_related("consumable", "encounter", "use")
    for charge in charges:
        key = (charge.consumable.name, charge.encounter.visit_no)
        charged[key] += charge.quantity - charge.refunded_quantity
    assert +used == script.net_intended(), SEED
    assert +charged == script.net_intended(), SEED

    # Each charge line is the charge of one intended use, at its quantity; nothing else.
    assert all(c.use for c in charges), "a charge line with no use"
    assert sorted(str(c.use.event_id) for c in charges if c.use) == sorted(script.uses)
    for charge in charges:
        meant = script.uses[str(charge.use.event_id)]
        assert (charge.quantity, charge.refunded_quantity) == (meant.quantity, meant.returned)
    assert ChargeRefund.objects.count() == script.undos
    assert not ChargeLine.objects.filter(encounter__visit_no="ZY009").exists()
    assert not ChargeLine.objects.filter(udi_di=shift["unknown_di"]).exists()
    assert set(Use.objects.values_list("consumable__name", flat=True)) <= {
        SYRINGE,
        DRESSING,
        CANNULA,
        STENT,
        LENS,
    }
    # The script did what it says it does.
    assert script.reads == READS
    assert {"unit", "double", "box", "stent", "unknown", "lens", "undo", "network"} <= set(kinds)
