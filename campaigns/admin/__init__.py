"""The staff's screens for campaigns: flows, templates, inbox, broadcasts, reports, sending rules.

Importing this package registers them (Django's admin autodiscovery imports it). May import every
other package of campaigns, and customers' admin helpers.
"""

from campaigns.admin import flows, inbound, offers, reports, sending, templates  # noqa: F401
