"""The HTTP API of the inventory app: scans and photo decoding (docs/contract.md)."""
