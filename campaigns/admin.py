from . import admin_sending  # noqa: F401
