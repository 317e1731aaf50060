from . import admin_inbound  # noqa: F401
