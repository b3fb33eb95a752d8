"""The discharge gate's hook (出院预审核): which of an encounter's findings are unresolved.

``services.encounters.gated_findings`` asks here, for the HIS discharge (409 OPEN_FINDINGS)
and for the ward's audit page alike. The follow-up of findings (confirmation, dismissal with
a reason, appeal) decides what is resolved: until it exists every finding stands, so this
returns them all. The follow-up replaces the body, not the signature: a list of
``billing.rules.Finding`` in, the ones still open out, in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import rules


def unresolved_findings(findings: Iterable[rules.Finding]) -> list[rules.Finding]:
    """The findings among ``findings`` the follow-up has not resolved (all, for now)."""
    return list(findings)
