from . import admin_sending, admin_templates  # noqa: F401
