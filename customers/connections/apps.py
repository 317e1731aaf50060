from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "customers.connections"
    label = "connections"
    verbose_name = "Shop connections"
    default_auto_field = "django.db.models.BigAutoField"
