"""The platform double: a real HTTP server standing in for the provincial platform.

Started by the tests (``tests/insurance_platform/conftest.py``) and by ``make run`` when no
``INSURANCE_PLATFORM_URL`` is set (``manage.py platform_double``). It checks what the real
platform checks first: the envelope (transaction code, message id, institution code, the
signature when a secret is set) and each record's fields, types and lengths by the
specification's table (``spec.field_errors``). It answers per record: accepted, or a coded
error. A record id already accepted is answered as accepted again and not counted twice.

Tests inject failures: ``fail_next(n, status)`` answers the next n requests with an HTTP
error (the platform down), ``reject(predicate, code, message)`` refuses the records the
predicate picks (a business error).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import envelope
from .spec import TRANSACTIONS, field_errors

# The platform's own codes for what it refuses (the double's; the real platform's messages
# are stored as it sends them).
ENVELOPE_INVALID = -1
FIELD_INVALID = 2001
MAX_BATCH = 1000


@dataclass
class Rejection:
    predicate: Callable[[str, dict], bool]
    code: int
    message: str
    times: int | None  # None: for ever


class PlatformDouble:
    def __init__(self, *, fixmedins_code: str, secret: str = "", host="127.0.0.1", port=0):
        self.fixmedins_code = fixmedins_code
        self.secret = secret
        self._lock = threading.Lock()
        self.accepted: dict[str, tuple[str, dict]] = {}  # record id -> (txn, record)
        self.deliveries: Counter[str] = Counter()  # record id -> times it was accepted anew
        self.requests = 0
        self._failures: list[int] = []
        self._rejections: list[Rejection] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (the standard library's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = double.answer(self.path, self.headers, body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- life -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PlatformDouble:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what tests inject ------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * n)

    def reject(self, predicate, code: int, message: str, times: int | None = None) -> None:
        """Refuse the records ``predicate(txn, record)`` picks with ``code`` and ``message``
        (``times``: only that many times, then accept them)."""
        with self._lock:
            self._rejections.append(Rejection(predicate, code, message, times))

    # -- the platform -----------------------------------------------------------------------

    def answer(self, path: str, headers, body: bytes) -> tuple[int, dict]:
        with self._lock:
            self.requests += 1
            if self._failures:
                return self._failures.pop(0), {"infcode": ENVELOPE_INVALID, "err_msg": "服务不可用"}
        if path != envelope.PATH:
            return 404, {"infcode": ENVELOPE_INVALID, "err_msg": f"unknown service {path}"}
        if self.secret and not envelope.signature_ok(
            self.secret,
            headers.get(envelope.TIMESTAMP, ""),
            body,
            headers.get(envelope.SIGNATURE, ""),
        ):
            return 200, {"infcode": ENVELOPE_INVALID, "err_msg": "签名校验失败 / bad signature"}
        try:
            message = json.loads(body)
        except ValueError:
            return 200, {"infcode": ENVELOPE_INVALID, "err_msg": "报文不是 JSON / not JSON"}
        problem = self._envelope_problem(message)
        if problem:
            return 200, {"infcode": ENVELOPE_INVALID, "err_msg": problem}
        txn = message["infno"]
        results = [self._record(txn, record) for record in message["input"]["data"]]
        return 200, {
            "infcode": 0,
            "err_msg": "",
            "inf_refmsgid": message["msgid"],
            "output": {"results": results},
        }

    def _envelope_problem(self, message) -> str:
        if not isinstance(message, dict):
            return "报文格式错误 / not an object"
        if message.get("infno") not in TRANSACTIONS:
            return f"交易编号无效 / unknown infno {message.get('infno')!r}"
        if not message.get("msgid") or len(str(message["msgid"])) > 30:
            return "报文ID无效 / bad msgid"
        if message.get("fixmedins_code") != self.fixmedins_code:
            return "定点医药机构编号不符 / unknown fixmedins_code"
        data = (message.get("input") or {}).get("data")
        if not isinstance(data, list) or not data or len(data) > MAX_BATCH:
            return f"input.data 须为 1..{MAX_BATCH} 条 / input.data must hold 1..{MAX_BATCH}"
        return ""

    def _record(self, txn: str, record) -> dict:
        record_id = str(record.get(envelope.RECORD_ID, "")) if isinstance(record, dict) else ""
        if not record_id:
            return {"infcode": FIELD_INVALID, "err_msg": f"{envelope.RECORD_ID}: required"}
        errors = field_errors(txn, record)
        if errors:
            return {
                envelope.RECORD_ID: record_id,
                "infcode": FIELD_INVALID,
                "err_msg": "字段校验失败 / invalid fields: " + "; ".join(errors),
            }
        with self._lock:
            for rejection in self._rejections:
                if rejection.times != 0 and rejection.predicate(txn, record):
                    if rejection.times is not None:
                        rejection.times -= 1
                    return {
                        envelope.RECORD_ID: record_id,
                        "infcode": rejection.code,
                        "err_msg": rejection.message,
                    }
            if record_id not in self.accepted:
                self.accepted[record_id] = (txn, record)
                self.deliveries[record_id] += 1
        return {envelope.RECORD_ID: record_id, "infcode": 0, "err_msg": ""}
