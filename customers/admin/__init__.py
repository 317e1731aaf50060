"""Staff's view of customers' data: stores, customers, consent, catalogue, events, API keys, the
segment builder, the predictions' model page, privacy requests (export, erasure and their log), and
the store-owner wall every admin of the app stands behind.

May import everything in customers.
"""

from customers.admin import (  # noqa: F401  (registers them)
    catalog,
    connections,
    customers,
    predictions,
    privacy,
    segments,
    stores,
)
