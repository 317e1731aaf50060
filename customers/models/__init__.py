"""The tables of customers: stores and their catalogue, customers and their consent ledger, events,
segments, API keys, the privacy log and import jobs, and what the store's history predicts.

Models hold data and the rules about one row; they import no service.
"""

from customers.models.access import ApiKey, ImportJob, PrivacyLogEntry
from customers.models.catalog import Category, Product, ProductChange
from customers.models.events import Event, EventItem, EventLast
from customers.models.people import AppendOnlyError, ConsentRecord, ConsentRecordQuerySet, Customer
from customers.models.predictions import CustomerPrediction, PredictionRun
from customers.models.segments import ListHealth, Segment, SegmentMember, SegmentTouch
from customers.models.stores import Store, new_token

__all__ = [
    "ApiKey",
    "AppendOnlyError",
    "Category",
    "ConsentRecord",
    "ConsentRecordQuerySet",
    "Customer",
    "CustomerPrediction",
    "Event",
    "EventItem",
    "EventLast",
    "ImportJob",
    "ListHealth",
    "PredictionRun",
    "PrivacyLogEntry",
    "Product",
    "ProductChange",
    "Segment",
    "SegmentMember",
    "SegmentTouch",
    "Store",
    "new_token",
]
