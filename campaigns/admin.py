from . import admin_flows  # noqa: F401
