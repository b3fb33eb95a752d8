"""Planning of a row's prices: platform/VBP prices and the hospital's price version.

- ``platform_price`` / ``vbp_price`` become ``ExternalPrice`` rows effective from
  ``price_effective_from`` (default: today), Asia/Shanghai midnight. A row already at that
  instant is corrected if its price differs; a price already in force (at that instant, or now
  for a past date) is not recorded again, so re-importing a file, even on a later day, adds
  nothing. A present but empty ``vbp_price`` ends a VBP programme in force (a VBP row with no
  price), as docs/contract.md says an empty VBP price means "not in a programme".
- ``purchase_price`` / ``charge_price``: both or neither for a chargeable item; a purchase
  price alone for one that is not separately chargeable (``chargeable=0``, its cost included
  in a procedure fee), whose versions have no charge price and are checked against the
  platform and VBP prices only. A consumable with no approved version gets an approved
  ``initial_load`` version, refused (the whole row) if it breaks the four-price rule against
  the platform/VBP prices in force at that date (invariant 6); otherwise prices that differ
  from the approved version in force become a ``proposed`` version for two-person review,
  unless the same change already awaits review.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from config.business_day import day_start
from consumables.models import ExternalPrice, PriceVersion
from consumables.prices import FourPrices, four_price_violations

from .report import RowError, row_error
from .rows import ParsedRow, hospital_price_errors

# Plain strings: enum member look-ups cost a descriptor call each, in a loop of 30,000 rows.
APPROVED, PROPOSED = str(PriceVersion.Status.APPROVED), str(PriceVersion.Status.PROPOSED)
REJECTED = str(PriceVersion.Status.REJECTED)
INITIAL_LOAD, PROPOSAL = str(PriceVersion.Origin.INITIAL_LOAD), str(PriceVersion.Origin.PROPOSAL)


midnight = day_start  # a price date takes effect at the start of its business day
_midnight = functools.lru_cache(maxsize=512)(midnight)


def in_force(rows: list[tuple[float, Decimal | None]], at: float):
    """The price of the latest row effective at timestamp ``at`` (rows sorted), else None."""
    found = None
    for effective_from, price in rows:
        if effective_from > at:
            break
        found = price
    return found


class PricePlanning:
    """Mixed into the importer, whose ``load_state`` fills ``external``, ``external_rows``
    (instants as POSIX timestamps), ``approved`` and ``pending``."""

    def _plan_prices(self, row: ParsedRow, plan) -> list[RowError]:
        cid = plan.consumable.pk
        eff = _midnight(plan.effective_date)
        eff_ts, now_ts = eff.timestamp(), self.now_ts
        targets = {}
        for kind, column in (("platform", "platform_price"), ("vbp", "vbp_price")):
            if column in row.prices:
                targets[kind] = row.prices[column]
            elif kind == "vbp" and row.vbp_present_empty:
                targets[kind] = None
        for kind, target in targets.items():
            history = self.external.get((cid, kind), []) if cid else []
            exact = self.external_rows.get((cid, kind, eff_ts)) if cid else None
            if exact is not None:
                if exact["price"] != target:
                    instance = ExternalPrice.from_db("default", list(exact), list(exact.values()))
                    instance.price = target
                    plan.external_updates.append(instance)
                continue
            # Already the fact (at that date, or now for a past date): nothing to record.
            if target == in_force(history, eff_ts) or (
                eff_ts <= now_ts and target == in_force(history, now_ts)
            ):
                continue
            plan.external_new.append(
                ExternalPrice(
                    consumable_id=plan.consumable.pk,
                    kind=kind,
                    price=target,
                    effective_from=eff,
                    source=self.source,
                )
            )
        chargeable = plan.final["chargeable"]
        approved = self.approved.get(cid, []) if cid else []
        if "purchase_price" not in row.prices and "charge_price" not in row.prices:
            if chargeable and not plan.is_new and approved and self._current(approved, eff)[
                "charge_price"
            ] is None:
                return [
                    row_error(
                        row.line,
                        "VALIDATION_ERROR",
                        "改为可收费须同时填写采购价和收费价（现行价格没有收费价）",
                        "a chargeable item needs a charge price: give purchase_price and "
                        "charge_price (the approved price in force has none)",
                    )
                ]
            return []
        errors = hospital_price_errors(
            row.line,
            chargeable=chargeable,
            purchase="purchase_price" in row.prices,
            charge="charge_price" in row.prices,
        )
        if errors:
            return errors
        purchase, charge = row.prices["purchase_price"], row.prices.get("charge_price")
        if not approved:
            external_at = {
                kind: targets[kind]
                if kind in targets
                else in_force(self.external.get((cid, kind), []), eff_ts)
                for kind in ("platform", "vbp")
            }
            violations = four_price_violations(
                FourPrices(
                    platform=external_at["platform"],
                    vbp=external_at["vbp"],
                    purchase=purchase,
                    charge=charge,
                    chargeable=chargeable,
                )
            )
            if violations:
                return [
                    row_error(
                        row.line,
                        "FOUR_PRICE_VIOLATION",
                        "初始价格不符合四价统一规则："
                        + "；".join(v.message for v in violations)
                        + "（可先不填采购价/收费价导入，再走调价审核）",
                        "the initial prices break the four-price rule: "
                        + "; ".join(v.message_en for v in violations)
                        + " (import without purchase/charge prices and propose them for review)",
                    )
                ]
            plan.price_version = PriceVersion(
                consumable_id=plan.consumable.pk,
                purchase_price=purchase,
                charge_price=charge,
                effective_from=eff,
                status=APPROVED,
                origin=INITIAL_LOAD,
                proposed_by=self.user,
                decided_at=self.now,
                reason=f"初始导入 / initial load ({self.source})",
            )
            return []
        current = self._current(approved, eff)
        if (current["purchase_price"], current["charge_price"]) == (purchase, charge):
            return []
        if (purchase, charge) in self.pending.get(cid, set()):
            return []  # the same change already awaits review
        plan.price_version = PriceVersion(
            consumable_id=plan.consumable.pk,
            purchase_price=purchase,
            charge_price=charge,
            effective_from=eff,
            requested_effective_from=eff,
            status=PROPOSED,
            origin=PROPOSAL,
            proposed_by=self.user,
            reason=f"批量导入调价（第 {row.line} 行）/ price change from {self.source} "
            f"(line {row.line})",
        )
        return []

    def _current(self, approved: list[dict], eff: dt.datetime) -> dict:
        """The approved version in force at ``eff`` (or now, if later); else the first."""
        at = max(eff, self.now)
        effective = [v for v in approved if v["effective_from"] <= at] or approved
        return max(
            effective,
            key=lambda v: (v["effective_from"], v["decided_at"] or self.now, v["id"]),
        )
