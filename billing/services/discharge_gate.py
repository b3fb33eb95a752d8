"""The discharge gate's hook (出院预审核): which of an encounter's findings are unresolved.

``services.encounters.gated_findings`` asks here, for the HIS discharge (409 OPEN_FINDINGS)
and for the ward's audit page alike. The follow-up of findings decides what is resolved: a
finding the insurance office dismissed (不予认定) or whose department's appeal it upheld
(申诉通过) no longer holds the discharge; an open, confirmed, appealed (not yet decided) or
rejected-appeal finding still does, until the ward fixes it (a refund, a charge, an order).
The same two statuses are the ones rankings leave out (``selectors.followup.NOT_COUNTED``).
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import rules
from ..models import FindingFollowUp
from ..selectors.followup import NOT_COUNTED, finding_key


def _key(finding: rules.Finding) -> str:
    return finding_key(
        kind=finding.kind,
        encounter=finding.encounter,
        department=finding.department,
        material_code=finding.material_code,
        ref=finding.ref,
    )


def unresolved_findings(findings: Iterable[rules.Finding]) -> list[rules.Finding]:
    """The findings among ``findings`` the follow-up has not resolved, in their order (one
    query)."""
    findings = list(findings)
    if not findings:
        return []
    resolved = set(
        FindingFollowUp.objects.filter(
            key__in={_key(f) for f in findings}, status__in=NOT_COUNTED
        ).values_list("key", flat=True)
    )
    return [f for f in findings if _key(f) not in resolved]
