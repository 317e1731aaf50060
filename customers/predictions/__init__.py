"""Predictions learned from each store's own events: chance of an order in the next 30 days, next
order date, churn risk and band, 12-month value; each judged on later data against the rule it
replaces, and used only where it beats it. Imports the models only.
"""
