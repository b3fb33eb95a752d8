"""The national insurance platform (国家医保平台): the outbox of 进销存 and traceability-code
uploads derived from the ledger, the sender, the platform double, and denials (拒付).

The top domain floor: it reads inventory and billing, and nothing below imports it.
"""
