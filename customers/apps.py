from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CustomersConfig(AppConfig):
    name = "customers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from customers.admin.roles import roles_after_migrate

        post_migrate.connect(roles_after_migrate, sender=self, dispatch_uid="customers_roles")
