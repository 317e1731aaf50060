"""Staff's view of customers' data: stores, customers, consent, catalogue, events, API keys, the
segment builder, privacy requests (export, erasure and their log), and the store-owner wall every
admin of the app stands behind.

May import everything in customers.
"""

from customers.admin import catalog, connections, customers, privacy, segments, stores  # noqa: F401  (registers them)
