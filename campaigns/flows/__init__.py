"""When a text goes out: triggers and enrolment, advancing runs, recipes, the diagram, the backtest,
and a flow as a document.

May import reports (experiments), sending, content, models and customers.
"""
