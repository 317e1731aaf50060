"""Where texts leave the app. The only module that imports `twilio`.

`console` (the development default) logs each text and keeps the last ones in memory; `twilio`
calls the Messages API through the real `twilio` library, at `TWILIO_API_BASE_URL` when set
(Twilio-compatible providers, the loopback server in tests); `SimulatedGateway` answers like a
carrier network in process, for the demo store's past. Provider errors come out as
`GatewayError`, sorted into permanent (never retried) and retryable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
import urllib3
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from customers.models import Store
from customers.senders import store_sender as sender_for

logger = logging.getLogger(__name__)

OPTED_OUT_CODES = {"21610"}
# 30006 arrives in a status callback (landline or unreachable carrier), the others on create.
UNDELIVERABLE_CODES = {"21211", "21614", "30006"}
AMBIGUOUS_CODES = {"timeout", "connection"}
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


@dataclass(frozen=True)
class Accepted:
    sid: str
    status: str


@dataclass(frozen=True)
class ProviderMessage:
    sid: str
    to: str
    body: str
    status: str
    error_code: str
    date_created: datetime | None


class GatewayError(Exception):
    """A provider refusal or a failed call; `kind` says what the outbox does about it."""

    def __init__(self, *, code: str, message: str, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status

    @property
    def kind(self) -> str:
        if self.code in OPTED_OUT_CODES:
            return "opted_out"
        if self.code in UNDELIVERABLE_CODES:
            return "undeliverable"
        if self.retryable:
            return "retryable"
        return "rejected"

    @property
    def retryable(self) -> bool:
        if self.code in AMBIGUOUS_CODES:
            return True
        return self.http_status == 429 or (self.http_status is not None and self.http_status >= 500)



class ConsoleGateway:
    name = "console"
    paced = True  # texts leave at the sender's rate (see deliver.send_rate)
    recent: deque[dict[str, str]] = deque(maxlen=1000)

    def send(self, *, to: str, body: str, store: Store) -> Accepted:
        sid = "SM" + uuid.uuid4().hex
        self.recent.append({"sid": sid, "to": to, "body": body, "from": sender_for(store) or store.slug})
        logger.info("SMS to %s from %s (%s): %s", to, store.brand_name, sid, body)
        return Accepted(sid=sid, status="sent")

    def find(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        for item in reversed(self.recent):
            if item["to"] == to and item["body"] == body:
                return ProviderMessage(item["sid"], to, body, "sent", "", None)
        return None

    def fetch(self, *, sid: str) -> ProviderMessage | None:
        return None


class KeepAliveHttpClient(HttpClient):
    """twilio's documented `http_client` hook: one kept connection, and per request only what HTTP needs.

    It sends through urllib3, as `requests` does underneath, without `requests`' per-request
    preparation (environment and `.netrc` lookups, cookie jars, hooks, redirect handling), which
    costs a busy worker about as much CPU as the call itself. The proxy variables and the CA bundle
    (`REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE`, else certifi's, as `requests` uses) are read once, here.
    Every `https://*.twilio.com` call goes to `base_url` when that is another host
    (Twilio-compatible providers, the loopback server).
    """

    def __init__(self, base_url: str = "https://api.twilio.com", *, timeout: float | None = None) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), False, timeout)
        parts = urlsplit(base_url)
        self.rewrite = parts.hostname != "api.twilio.com"
        self.scheme, self.netloc, self.prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        bundle = bundle or requests.utils.DEFAULT_CA_BUNDLE_PATH
        options = {"maxsize": 1, "retries": False, "ca_certs": bundle}
        proxies = requests.utils.get_environ_proxies(base_url)
        proxy = proxies.get(parts.scheme) or proxies.get("all")
        if proxy:
            credentials = urllib3.util.parse_url(proxy).auth
            headers = urllib3.make_headers(proxy_basic_auth=credentials) if credentials else None
            self.pool = urllib3.ProxyManager(proxy, proxy_headers=headers, **options)
        else:
            self.pool = urllib3.PoolManager(**options)

    def request(
        self,
        method: str,
        url: str,
        params: dict | None = None,
        data: dict | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        timeout = self.timeout if timeout is None else timeout
        if timeout is not None and timeout <= 0:
            raise ValueError(timeout)
        headers = {"Accept-Encoding": "gzip, deflate", **(headers or {})}
        # twilio formats ten INFO lines per request even when nobody listens: a worker sending
        # thousands of texts keeps them for when `twilio.http_client` is set to DEBUG.
        if self.logger.isEnabledFor(logging.DEBUG):
            self.log_request({"method": method.upper(), "url": url, "params": params, "headers": headers})
        body = None
        if data:
            json_body = headers.get("Content-Type") in {"application/json", "application/scim+json"}
            body = json.dumps(data) if json_body else urlencode(data, doseq=True)
        if auth:
            headers.update(urllib3.make_headers(basic_auth=":".join(auth)))
        answer = self.pool.urlopen(
            method.upper(),
            self._target(url, params),
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            redirect=allow_redirects,
        )
        charset = answer.headers.get("Content-Type", "").partition("charset=")[2] or "utf-8"
        response = Response(answer.status, answer.data.decode(charset, "replace"), answer.headers)
        if self.logger.isEnabledFor(logging.DEBUG):
            self.log_response(answer.status, response)
        return response

    def _target(self, url: str, params: dict | None) -> str:
        parts = urlsplit(url)
        if self.rewrite and parts.hostname and parts.hostname.endswith("twilio.com"):
            parts = parts._replace(scheme=self.scheme, netloc=self.netloc, path=self.prefix + parts.path)
        if params:
            query = urlencode(params, doseq=True)
            parts = parts._replace(query=f"{parts.query}&{query}" if parts.query else query)
        return urlunsplit(parts._replace(fragment=""))

    def close(self) -> None:
        self.pool.clear()


class TwilioGateway:
    name = "twilio"
    paced = True

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str = "https://api.twilio.com",
        public_base_url: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.credentials = (account_sid, auth_token)
        self.base_url, self.timeout = base_url, timeout
        self._clients = threading.local()
        self.status_callback = public_base_url.rstrip("/") + STATUS_CALLBACK_PATH if public_base_url else ""

    @property
    def client(self) -> Client:
        """This thread's client: each thread sending at once keeps a connection of its own."""
        client = getattr(self._clients, "client", None)
        if client is None:
            http_client = KeepAliveHttpClient(self.base_url, timeout=self.timeout)
            client = self._clients.client = Client(*self.credentials, http_client=http_client)
        return client

    def send(self, *, to: str, body: str, store: Store) -> Accepted:
        params: dict[str, str] = {"to": to, "body": body}
        sender = sender_for(store)
        if sender.startswith("MG"):
            params["messaging_service_sid"] = sender
        elif sender:
            params["from_"] = sender
        else:
            raise GatewayError(
                code="no_sender", message=f"store {store.slug} has no Messaging Service or number"
            )
        if self.status_callback:
            params["status_callback"] = self.status_callback
        created = self._call(lambda: self.client.messages.create(**params))
        return Accepted(sid=created.sid, status=created.status or "queued")

    def find(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        """The text to `to` with this body created since `since`, if the provider has it."""
        listed = self._call(lambda: self.client.messages.list(to=to, limit=50))
        for item in listed:
            if item.body == body and (item.date_created is None or item.date_created >= since):
                return _provider_message(item)
        return None

    def fetch(self, *, sid: str) -> ProviderMessage | None:
        try:
            return _provider_message(self._call(lambda: self.client.messages(sid).fetch()))
        except GatewayError as error:
            if error.http_status == 404:
                return None
            raise

    @staticmethod
    def _call(call):
        try:
            return call()
        except TwilioRestException as error:
            raise GatewayError(
                code=str(error.code or error.status), message=error.msg, http_status=error.status
            ) from error
        except TwilioException as error:
            status = getattr(error, "status", None)
            code = getattr(error, "code", None) or status or "provider"
            raise GatewayError(code=str(code), message=str(error), http_status=status) from error
        except urllib3.exceptions.NewConnectionError as error:
            raise GatewayError(code="connection", message=str(error)) from error
        except urllib3.exceptions.TimeoutError as error:
            raise GatewayError(code="timeout", message=str(error)) from error
        except urllib3.exceptions.HTTPError as error:
            raise GatewayError(code="connection", message=str(error)) from error


def fixed_share(*parts: object) -> float:
    """A fixed number in [0, 1) for these parts: the same text always gets the same answer."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class SimulatedGateway:
    """A provider that answers as a carrier network would, without leaving the process: it
    refuses invalid numbers on create (21211), takes the rest, and later reports each text
    delivered, or undelivered for landlines (30006) and carrier filtering (30007). Each answer
    is fixed by the number and the text, so a replay gets the same answers. The demo store's past
    is played through it; its clock is simulated, so nothing is paced in real time."""

    name = "simulated"
    paced = False

    def __init__(self, *, invalid: float = 0.004, landline: float = 0.012, filtered: float = 0.02) -> None:
        self.invalid, self.landline, self.filtered = invalid, landline, filtered
        self.taken: dict[str, ProviderMessage] = {}
        self._lock = threading.Lock()  # texts are handed over from several call threads

    def send(self, *, to: str, body: str, store: Store) -> Accepted:
        if fixed_share("invalid", to) < self.invalid:
            raise GatewayError(code="21211", message=f"The 'To' number {to} is not a valid phone number.",
                               http_status=400)  # fmt: skip
        with self._lock:
            sid = "SM" + hashlib.sha256(f"{to}|{body}|{len(self.taken)}".encode()).hexdigest()[:32]
            self.taken[sid] = ProviderMessage(sid, to, body, "sent", "", None)
        return Accepted(sid=sid, status="queued")

    def find(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        found = [m for m in self.taken.values() if m.to == to and m.body == body]
        return self.fetch(sid=found[-1].sid) if found else None

    def fetch(self, *, sid: str) -> ProviderMessage | None:
        """The carrier's last word on a text this gateway took."""
        taken = self.taken.get(sid)
        if taken is None:
            return None
        if fixed_share("landline", taken.to) < self.landline:
            status, code = "undelivered", "30006"
        elif fixed_share("filtered", taken.to, taken.body) < self.filtered:
            status, code = "undelivered", "30007"
        else:
            status, code = "delivered", ""
        return ProviderMessage(sid, taken.to, taken.body, status, code, None)


def _provider_message(item) -> ProviderMessage:
    created = item.date_created
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return ProviderMessage(
        sid=item.sid,
        to=item.to or "",
        body=item.body or "",
        status=item.status or "",
        error_code=str(item.error_code or ""),
        date_created=created,
    )


Gateway = ConsoleGateway | TwilioGateway | SimulatedGateway


# One Twilio gateway (and so one open connection) per worker thread and configuration.
_kept = threading.local()


def gateway_from_settings() -> Gateway:
    if settings.SMS_BACKEND != "twilio":
        return ConsoleGateway()
    config = (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        settings.PUBLIC_BASE_URL,
        settings.SMS_PROVIDER_TIMEOUT,
    )
    kept = getattr(_kept, "gateways", None)
    if kept is None:
        kept = _kept.gateways = {}
    if config not in kept:
        if len(kept) >= 4:  # settings changed (tests, a new key): let go of old connections
            for old in kept.values():
                old.client.http_client.close()
            kept.clear()
        kept[config] = TwilioGateway(
            account_sid=config[0],
            auth_token=config[1],
            base_url=config[2],
            public_base_url=config[3],
            timeout=config[4],
        )
    return kept[config]
