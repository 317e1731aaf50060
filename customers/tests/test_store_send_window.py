from __future__ import annotations

from datetime import time

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("customers", "0003_consent_refused_signup")]
AFTER = [("customers", "0004_store_send_window")]


@pytest.mark.django_db(transaction=True)
def test_the_rename_keeps_each_stores_sending_window():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    Store = executor.loader.project_state(BEFORE).apps.get_model("customers", "Store")
    Store.objects.create(
        slug="late", brand_name="Late", site_url="https://late.example.com",
        quiet_hours_start=time(10), quiet_hours_end=time(18),
    )  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    Store = executor.loader.project_state(AFTER).apps.get_model("customers", "Store")

    store = Store.objects.get(slug="late")
    assert (store.send_window_start, store.send_window_end) == (time(10), time(18))
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
