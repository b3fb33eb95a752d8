"""The platform's message envelope (通用报文), as both the sender and the double read it.

A request carries one transaction code (``infno``), a message id, our institution code, the
time, the operator, and ``input.data``: the batch's records, each with our record id
(``fixmedins_record_id``, what makes a resend idempotent at the platform) and the
transaction's fields by their specification codes. The platform answers ``infcode`` 0 for
the envelope and, per record, ``infcode`` 0 (accepted) or an error code and ``err_msg``.

The body is signed with HMAC-SHA256 over the raw bytes when a secret is configured
(``x-tif-signature``, hex), with ``x-tif-timestamp`` beside it.
"""

from __future__ import annotations

import hashlib
import hmac

RECORD_ID = "fixmedins_record_id"
SIGNATURE = "x-tif-signature"
TIMESTAMP = "x-tif-timestamp"
PATH = "/fsi/api/rsfComIfsService/callService"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), given or "")
