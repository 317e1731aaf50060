"""One-off campaigns to a segment: materialized in batches, their states, the Cold preference ask.

May import reports, sending, content, models and customers.
"""
