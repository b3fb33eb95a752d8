"""The HTTP API of the billing app: the HIS feed, the audit, consent and reconciliation
endpoints (docs/contract.md)."""
