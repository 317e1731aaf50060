"""The JSON API for a store's own systems, and its keys.

May import ingest, segments, models.
"""
