"""The project's WSGI application for gunicorn, plus one view: the floor a single event's POST is
measured against. It takes the same JSON body and stores the same row in one statement (the customer
found by a subquery, no validation, no key check, no transaction of its own), under the same server,
middleware and settings as the real API.

    gunicorn --pythonpath bench floor_app:application   (BENCH_FLOOR_STORE=<store id>)
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import common

common.django_setup()

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

INSERT = """
INSERT INTO customers_event (store_id, customer_id, type, occurred_at, received_at, properties,
    product_id, idempotency_key)
SELECT %s, c.id, %s, %s, %s, %s, NULL, %s FROM customers_customer c
WHERE c.store_id = %s AND c.external_id = %s
ON CONFLICT (store_id, idempotency_key) DO NOTHING
"""


@csrf_exempt
def floor(request):
    event = json.loads(request.body)
    store = int(os.environ["BENCH_FLOOR_STORE"])
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [
            store, event["type"], event.get("occurred_at") or now, now, json.dumps(event["properties"]),
            event["id"], store, event["customer"]["external_id"],
        ])  # fmt: skip
    return JsonResponse({"accepted": 1, "duplicates": 0}, status=202)


urlpatterns = [path("bench/floor", floor), path("", include("smsmarketing.urls"))]
settings.ROOT_URLCONF = __name__
application = get_wsgi_application()
