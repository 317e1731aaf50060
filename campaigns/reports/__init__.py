"""The numbers: metrics, attribution of orders and opt-outs, lift, experiments and their decisions,
the report tables and charts.

May import sending, content, models and customers.
"""
