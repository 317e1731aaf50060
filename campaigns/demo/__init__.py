"""The demo store's past, made by the engine: its weeks played forward at simulated times.

`history` drives the clock (ingestion at each event's time, the tick, the reports stage);
`recipients` is how the demo's people answer the texts they get (taps through the short-link
redirect, orders through ingestion, STOPs through the inbound path). It sits above the tick and
may use every part of campaigns; nothing imports it but the receivers.
"""
