from . import admin_flows, admin_inbound, admin_reports, admin_sending, admin_templates  # noqa: F401
