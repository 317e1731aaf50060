"""Events that arrive one per request queue one task per store and window, not one each."""

from __future__ import annotations

from customers.task_queue import Gatherer


def test_ids_gathered_within_a_window_go_out_as_one_task_per_store():
    queued = []
    gatherer = Gatherer(window=3600, enqueue=lambda func, store, ids: queued.append((func, store, ids)))
    gatherer.add("campaigns.tasks.events_recorded_task", 1, [10])
    gatherer.add("campaigns.tasks.events_recorded_task", 1, [11, 12])
    gatherer.add("campaigns.tasks.events_recorded_task", 2, [13])

    assert gatherer.flush() == 2
    assert sorted(queued) == [
        ("campaigns.tasks.events_recorded_task", 1, [10, 11, 12]),
        ("campaigns.tasks.events_recorded_task", 2, [13]),
    ]
    assert gatherer.flush() == 0
