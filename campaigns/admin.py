from . import admin_templates  # noqa: F401
