"""Where campaigns listens to customers: customers never imports campaigns."""

from __future__ import annotations

from django.db.models.signals import post_migrate
from django.dispatch import receiver

from campaigns.demo.history import demo_history_play
from campaigns.flows.starters import starter_templates_install
from campaigns.privacy import customer_texts_export, customers_texts_erase
from campaigns.schedules import schedules_install
from campaigns.sending.guardrails import quiet_hours_rules_seed
from customers.signals import (
    consent_requested,
    customer_data_exporting,
    customer_opted_out,
    customers_erasing,
    demo_loaded,
    events_recorded,
    products_changed,
    store_created,
)
from customers.task_queue import task_enqueue_on_commit


@receiver(events_recorded, dispatch_uid="campaigns.flows.events_recorded")
def queue_event_work(sender, *, store, event_ids, **kwargs) -> None:
    """One task per store for the batches stored within a short window, however many things they
    feed (flow triggers, order credit): a webhook bringing one event is not one task."""
    task_enqueue_on_commit("campaigns.tasks.events_recorded_task", store.id, list(event_ids), gathered=True)


@receiver(customer_opted_out, dispatch_uid="campaigns.reports.opted_out")
def queue_opt_out_attribution(sender, *, customer, **kwargs) -> None:
    task_enqueue_on_commit("campaigns.tasks.opt_outs_attribute_task", customer.store_id)


@receiver(demo_loaded, dispatch_uid="campaigns.reports.demo_loaded")
def play_demo_history(sender, *, store, now, timeline, **kwargs) -> list[str]:
    return demo_history_play(store=store, now=now, timeline=timeline).lines()


@receiver(products_changed, dispatch_uid="campaigns.flows.products_changed")
def queue_product_triggers(sender, *, store, product_changes, **kwargs) -> None:
    task_enqueue_on_commit("campaigns.tasks.product_changes_check_task", store.id, list(product_changes))


@receiver(consent_requested, dispatch_uid="campaigns.signup.consent_requested")
def queue_confirmation_texts(sender, *, store, record_ids, **kwargs) -> None:
    task_enqueue_on_commit("campaigns.tasks.confirmations_send_task", list(record_ids))


@receiver(customer_data_exporting, dispatch_uid="campaigns.privacy.export")
def export_texts(sender, *, customer, **kwargs) -> dict:
    return customer_texts_export(customer=customer)


@receiver(customers_erasing, dispatch_uid="campaigns.privacy.erase")
def erase_texts(sender, *, store, customers, **kwargs) -> dict:
    return customers_texts_erase(store=store, customers=customers)


@receiver(store_created, dispatch_uid="campaigns.starters.store_created")
def add_starter_templates(sender, *, store, **kwargs) -> None:
    starter_templates_install(store=store)


@receiver(post_migrate, dispatch_uid="campaigns.flows.schedules")
def install_schedules(sender, app_config=None, **kwargs) -> None:
    if app_config is not None and app_config.label == "campaigns":
        schedules_install(using=kwargs.get("using", "default"))


# The default state rules exist in every database, also right after a test flush.
@receiver(post_migrate, dispatch_uid="campaigns.seed_state_rules")
def seed_state_rules(sender, app_config=None, using: str = "default", **kwargs) -> None:
    if app_config is not None and app_config.label == "campaigns":
        quiet_hours_rules_seed(using=using)
