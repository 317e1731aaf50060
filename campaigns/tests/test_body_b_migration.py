from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("campaigns", "0007_experiments_and_attribution"), ("customers", "0006_store_attribution_windows")]
AFTER = [("campaigns", "0008_body_b_becomes_copy_experiment")]


@pytest.mark.django_db(transaction=True)
def test_a_steps_variant_b_becomes_a_running_copy_experiment(frozen_now):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    store = old.get_model("customers", "Store").objects.create(
        slug="shop", brand_name="Shop", site_url="https://shop.example.com"
    )
    flow = old.get_model("campaigns", "Flow").objects.create(store=store, name="Welcome", slug="welcome")
    old.get_model("campaigns", "FlowStep").objects.create(
        flow=flow, position=1, body="Hi {{ first_name }}", body_b="Hey {{ first_name }}!"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from campaigns.models import Experiment

    experiment = Experiment.objects.get()
    assert (experiment.lever, experiment.status, experiment.flow_step.position) == ("copy", "running", 1)
    assert experiment.started_at <= frozen_now
    variants = list(experiment.variants.values_list("key", "is_control", "body", "share"))
    assert variants == [("A", True, "", 50), ("B", False, "Hey {{ first_name }}!", 50)]
