from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "customers.connections"
    label = "connections"
    verbose_name = "Shop connections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from customers.connections.embeds import cors_allow_embed

        check_request_enabled.connect(cors_allow_embed, dispatch_uid="connections.embed_cors")
