"""A small Twilio-speaking HTTP server on 127.0.0.1, run in a thread by the tests.

It answers the Messages API the way Twilio does (create, fetch, list), records every request,
and plays scripted answers for the next creates: success, an HTTP error with a Twilio error code
(429, 500, 21610, 21211, ...), or a slow answer that outlasts the client's timeout; or it is down
(every create answers 503) until it comes back.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from harness.loopback import LoopbackServer

MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages\.json$")
ONE_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<sid>\w+)\.json$")


@dataclass
class Answer:
    http_status: int = 201
    code: int | None = None
    message: str = ""
    delay: float = 0.0
    accept: bool = True  # a slow answer: whether the message was created before the client gave up


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    auth: tuple[str, str] | None
    headers: dict[str, str] = field(default_factory=dict)
    peer: tuple = ()  # the client's address and port: one per open connection
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic)


class TwilioServer(LoopbackServer):
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency  # seconds every create takes, as a provider across the internet does
        self.requests: list[Recorded] = []
        self.messages: dict[str, dict] = {}
        self.script: deque[Answer] = deque()
        self.down_status: int | None = None  # an outage: every create answers this until it is over
        self.lock = threading.Lock()
        self._serve(_handler(self))


    # --- scripting ---------------------------------------------------------------------------

    def answer_next(self, *answers: Answer) -> None:
        with self.lock:
            self.script.extend(answers)

    def fail_next(self, http_status: int, code: int | None = None, message: str = "") -> None:
        self.answer_next(
            Answer(http_status=http_status, code=code or http_status, message=message or "error")
        )

    def go_down(self, http_status: int = 503) -> None:
        self.down_status = http_status

    def come_back(self) -> None:
        self.down_status = None

    def slow_next(self, delay: float, accept: bool = True) -> None:
        self.answer_next(Answer(delay=delay, accept=accept))

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        with self.lock:
            self.messages[sid].update(status=status, error_code=error_code)

    def add_message(self, *, to: str, body: str, status: str = "delivered") -> dict:
        with self.lock:
            return self._store({"To": to, "Body": body}, "AC" + "0" * 32, status)

    # --- what was received -------------------------------------------------------------------

    @property
    def creates(self) -> list[dict[str, str]]:
        return [r.form for r in self.requests if r.method == "POST"]

    def sent_to(self, to: str) -> list[dict[str, str]]:
        return [form for form in self.creates if form.get("To") == to]

    # --- answering ---------------------------------------------------------------------------

    def _next_answer(self) -> Answer:
        with self.lock:
            return self.script.popleft() if self.script else Answer()

    def _store(self, form: dict[str, str], account: str, status: str = "queued") -> dict:
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC), usegmt=True)
        resource = {
            "sid": sid,
            "account_sid": account,
            "to": form.get("To"),
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body", ""),
            "status": status,
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            "subresource_uris": {},
        }
        self.messages[sid] = resource
        return resource

    def _create(self, form: dict[str, str], account: str) -> tuple[int, dict | None]:
        if self.latency:
            time.sleep(self.latency)
        if self.down_status:
            return self.down_status, {
                "code": 20500,
                "message": "Service unavailable",
                "status": self.down_status,
            }
        answer = self._next_answer()
        if answer.delay:
            with self.lock:
                resource = self._store(form, account) if answer.accept else None
            time.sleep(answer.delay)
            return 201, resource
        if answer.http_status >= 300:
            return answer.http_status, {
                "code": answer.code,
                "message": answer.message,
                "more_info": f"https://www.twilio.com/docs/errors/{answer.code}",
                "status": answer.http_status,
            }
        if not form.get("To"):
            return 400, {"code": 21604, "message": "A 'To' phone number is required.", "status": 400}
        with self.lock:
            return 201, self._store(form, account)

    def _list(self, query: dict[str, str], path: str) -> dict:
        with self.lock:
            found = [m for m in self.messages.values() if not query.get("To") or m["to"] == query["To"]]
        found.reverse()
        return {
            "messages": found[: int(query.get("PageSize", 50))],
            "end": len(found) - 1,
            "first_page_uri": path,
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": int(query.get("PageSize", 50)),
            "start": 0,
            "uri": path,
        }


def _handler(server: TwilioServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Twilio's API speaks
        disable_nagle_algorithm = True  # headers and body leave in two writes: do not wait on ACKs

        def log_message(self, format: str, *args) -> None:
            pass

        def _record(self) -> Recorded:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            recorded = Recorded(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                form=dict(parse_qsl(raw)),
                auth=_basic_auth(self.headers.get("Authorization", "")),
                headers=dict(self.headers),
                peer=tuple(self.client_address),
            )
            with server.lock:
                server.requests.append(recorded)
            return recorded

        def _reply(self, status: int, payload: dict | None) -> None:
            body = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout); Twilio would have carried on too

        def do_POST(self) -> None:
            recorded = self._record()
            match = MESSAGES.match(recorded.path)
            if not match:
                return self._reply(404, {"code": 20404, "message": "Not found", "status": 404})
            if recorded.auth is None or recorded.auth[0] != match["account"]:
                return self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
            self._reply(*server._create(recorded.form, match["account"]))

        def do_GET(self) -> None:
            recorded = self._record()
            if match := MESSAGES.match(recorded.path):
                return self._reply(200, server._list(recorded.query, recorded.path))
            if match := ONE_MESSAGE.match(recorded.path):
                with server.lock:
                    found = server.messages.get(match["sid"])
                if found:
                    return self._reply(200, found)
            self._reply(
                404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
            )

    return Handler


def _basic_auth(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password
