"""News from customers to whoever listens (campaigns); customers never imports campaigns.

Both are sent after the transaction that stored the rows has committed.
"""

from django.dispatch import Signal

# kwargs: store (Store), event_ids (list[int]) — newly stored events, duplicates excluded. On the
# single-event path (`event_ingest_one`) the store is an instance holding its id alone.
events_recorded = Signal()

# kwargs: store (Store), product_changes (list[int]) — ProductChange ids just recorded.
products_changed = Signal()

# kwargs: store (Store), record_ids (list[int]) — "requested" ConsentRecords from the API or an
# import, whose customers are to be asked to confirm (double opt-in).
consent_requested = Signal()

# kwargs: customer (Customer), source (str)
customer_opted_out = Signal()

# kwargs: store (Store) — a store just created in the admin, to be given its starter content.
store_created = Signal()

# kwargs: store (Store), now (datetime) — the demo store was just built; listeners may add to it
# (campaigns writes its past texts) and return lines for the summary.
demo_loaded = Signal()
