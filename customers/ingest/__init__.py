"""The one way data comes in: the API, the CSV import, shop connections and the demo all call these
services (customers, events, metrics, products, consent).

May import models, phones, signals and the other top-level facts of customers; never admin or api.
"""
