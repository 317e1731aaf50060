"""Small Shopify- and WooCommerce-speaking HTTP servers on 127.0.0.1, run in a thread by the tests.

They answer the parts of the shops' APIs the app calls, in the shapes the shops document:
Shopify's REST Admin API 2024-10 (`/admin/api/2024-10/shop.json`, `webhooks.json`, paged
`customers.json` / `products.json` / `orders.json` with `Link: <…page_info=…>; rel="next"`,
`price_rules.json` and its discount code creation jobs under `batch/`), and WooCommerce's REST API
wc/v3 (`system_status`, `webhooks`, paged lists with `X-WP-TotalPages`, `coupons/batch`). Every
request is recorded; codes named in `refuse` are refused the way each shop refuses a code.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from harness.loopback import LoopbackServer

SHOPIFY_TOKEN = "shpat_" + "0" * 32
WOO_KEY, WOO_SECRET = "ck_" + "1" * 40, "cs_" + "2" * 40
SHOPIFY_PREFIX = "/admin/api/2024-10/"
WOO_PREFIX = "/wp-json/wc/v3/"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: object
    headers: dict[str, str] = field(default_factory=dict)


class ShopServer(LoopbackServer):
    page_size_param = "limit"

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.lists: dict[str, list[dict]] = {"customers": [], "products": [], "orders": []}
        self.webhooks: list[dict] = []
        self.codes: dict[str, dict] = {}  # code → what the shop holds for it
        self.refuse: set[str] = set()
        self.refuse_all = False
        self.down = False
        self.ids = itertools.count(1001)
        self.lock = threading.Lock()
        self._serve(_handler(self))


    def made(self, method: str, path_part: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def answer(self, request: Recorded) -> tuple[int, object, dict[str, str]]:
        raise NotImplementedError


class ShopifyServer(ShopServer):
    def __init__(self) -> None:
        super().__init__()
        self.price_rules: dict[int, dict] = {}
        self.jobs: dict[int, dict] = {}

    def answer(self, request: Recorded) -> tuple[int, object, dict[str, str]]:
        if self.down:
            return 503, {"errors": "Service Unavailable"}, {}
        if request.headers.get("X-Shopify-Access-Token") != SHOPIFY_TOKEN:
            return (
                401,
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
                {},
            )
        path, method = request.path.removeprefix(SHOPIFY_PREFIX), request.method
        if path == "shop.json":
            shop = {
                "id": 548380009,
                "name": "Juniper Market",
                "myshopify_domain": "juniper.myshopify.com",
                "domain": "shop.juniper.example",
                "currency": "USD",
                "iana_timezone": "America/New_York",
            }
            return 200, {"shop": shop}, {}
        if path == "webhooks.json":
            if method == "GET":
                return 200, {"webhooks": self.webhooks}, {}
            webhook = {
                **request.body["webhook"],
                "id": next(self.ids),
                "api_version": "2024-10",
                "created_at": "2024-10-01T12:00:00-04:00",
                "fields": [],
                "metafield_namespaces": [],
            }
            self.webhooks.append(webhook)
            return 201, {"webhook": webhook}, {}
        if match := re.fullmatch(r"(customers|products|orders)\.json", path):
            return self._page(match[1], request)
        if path == "price_rules.json" and method == "POST":
            rule = {**request.body["price_rule"], "id": next(self.ids)}
            self.price_rules[rule["id"]] = rule
            return 201, {"price_rule": rule}, {}
        if match := re.fullmatch(r"price_rules/(\d+)/batch\.json", path):
            return self._batch(int(match[1]), request.body["discount_codes"])
        if match := re.fullmatch(r"price_rules/(\d+)/batch/(\d+)\.json", path):
            return 200, {"discount_code_creation": self.jobs[int(match[2])]["job"]}, {}
        if match := re.fullmatch(r"price_rules/(\d+)/batch/(\d+)/discount_codes\.json", path):
            return 200, {"discount_codes": self.jobs[int(match[2])]["codes"]}, {}
        return 404, {"errors": "Not Found"}, {}

    def _page(self, kind: str, request: Recorded) -> tuple[int, object, dict[str, str]]:
        rows = self.lists[kind]
        if kind == "orders" and request.query.get("created_at_min"):
            rows = [r for r in rows if r["created_at"] >= request.query["created_at_min"][:19]]
        size = int(request.query.get("limit", 50))
        start = int(request.query.get("page_info") or 0)
        headers = {}
        if start + size < len(rows):
            # Shopify's cursor is opaque; here it is the next row's index.
            link = f"{self.url}{SHOPIFY_PREFIX}{kind}.json?limit={size}&page_info={start + size}"
            headers["Link"] = f'<{link}>; rel="next"'
        return 200, {kind: rows[start : start + size]}, headers

    def _batch(self, rule_id: int, codes: list[dict]) -> tuple[int, object, dict[str, str]]:
        job_id = next(self.ids)
        results = []
        for item in codes:
            code = item["code"]
            if self.refuse_all or code in self.refuse or code in self.codes:
                results.append(
                    {
                        "id": None,
                        "code": code,
                        "errors": {"code": ["must be unique. Please try a different code."]},
                    }
                )
                continue
            self.codes[code] = {"price_rule": self.price_rules[rule_id], "used": 0}
            results.append({"id": next(self.ids), "code": code, "errors": {}})
        failed = sum(1 for r in results if r["errors"])
        job = {
            "id": job_id,
            "price_rule_id": rule_id,
            "started_at": None,
            "completed_at": None,
            "created_at": "2024-10-01T12:00:00-04:00",
            "updated_at": "2024-10-01T12:00:00-04:00",
            "status": "queued",
            "codes_count": len(codes),
            "imported_count": 0,
            "failed_count": 0,
            "logs": [],
        }
        # The job runs at once here: the first look at it finds it completed.
        self.jobs[job_id] = {
            "job": {
                **job,
                "status": "completed",
                "imported_count": len(codes) - failed,
                "failed_count": failed,
            },
            "codes": results,
        }
        return 201, {"discount_code_creation": job}, {}


class WooServer(ShopServer):
    def answer(self, request: Recorded) -> tuple[int, object, dict[str, str]]:
        if self.down:
            return 503, {"code": "unavailable", "message": "Service Unavailable"}, {}
        if not _woo_authorized(request):
            return (
                401,
                {
                    "code": "woocommerce_rest_authentication_error",
                    "message": "Invalid signature",
                    "data": {"status": 401},
                },
                {},
            )
        path, method = request.path.removeprefix(WOO_PREFIX), request.method
        if path == "system_status":
            return 200, {"environment": {}, "settings": {"currency": "USD"}}, {}
        if path == "webhooks":
            if method == "GET":
                return 200, self.webhooks, {}
            webhook = {**request.body, "id": next(self.ids)}
            self.webhooks.append(webhook)
            return 201, webhook, {}
        if path in self.lists:
            page, size = int(request.query.get("page", 1)), int(request.query.get("per_page", 10))
            rows = self.lists[path]
            if path == "orders" and request.query.get("after"):
                rows = [r for r in rows if r["date_created_gmt"] > request.query["after"]]
            pages = max(1, -(-len(rows) // size))
            return (
                200,
                rows[(page - 1) * size : page * size],
                {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)},
            )
        if path == "coupons/batch":
            return 200, {"create": [self._coupon(c) for c in request.body.get("create", [])]}, {}
        return 404, {"code": "rest_no_route", "message": "No route was found", "data": {"status": 404}}, {}

    def _coupon(self, coupon: dict) -> dict:
        code = coupon["code"]
        if self.refuse_all or code in self.refuse or code in self.codes:
            return {
                "id": 0,
                "error": {
                    "code": "woocommerce_rest_coupon_code_already_exists",
                    "message": f"The coupon code {code} already exists",
                    "data": {"status": 400},
                },
            }
        created = {**coupon, "id": next(self.ids), "usage_count": 0}
        self.codes[code] = created
        return created


def _woo_authorized(request: Recorded) -> bool:
    """Over http the package signs with OAuth 1.0a in the query; over https, HTTP basic auth."""
    if request.query.get("oauth_consumer_key") == WOO_KEY and request.query.get("oauth_signature"):
        return True
    auth = request.headers.get("Authorization", "")
    return auth.startswith("Basic ") and base64.b64decode(auth[6:]).decode() == f"{WOO_KEY}:{WOO_SECRET}"


def _handler(server: ShopServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            recorded = Recorded(
                self.command,
                parts.path,
                dict(parse_qsl(parts.query)),
                json.loads(raw) if raw else None,
                dict(self.headers),
            )
            with server.lock:
                server.requests.append(recorded)
                status, payload, headers = server.answer(recorded)
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler
