"""News from customers to whoever listens (campaigns); customers never imports campaigns.

Sent after the transaction that stored the rows has committed, unless said otherwise.
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

# kwargs: store (Store), now (datetime), timeline (customers.demo.Timeline) — the demo store was
# just built up to `timeline.start`; a listener may play the weeks after it forward (campaigns runs
# its engine between the timeline's events) and returns lines for the summary.
demo_loaded = Signal()

# kwargs: customer (Customer) — its data is being exported (customers.privacy); each listener
# returns a dict of its own parts (campaigns: the texts sent and received, the links), merged in.
# Sent inside the export, not after a commit.
customer_data_exporting = Signal()

# kwargs: store (Store), customers (dict[int, str]: id → phone) — these customers are being erased,
# inside the erasure's transaction; each listener deletes what it holds on them (by id or by number)
# and returns its counts, e.g. {"texts": 3}.
customers_erasing = Signal()
