from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("customers.api.urls")),
    path("api/v1/segments/", include("customers.api.segment_urls")),
    path("l/", include("campaigns.public.link_urls")),
    path("webhooks/twilio/", include("campaigns.inbound.webhook_urls")),
    path("webhooks/", include("customers.connections.urls")),
    path("", include("campaigns.public.urls")),
]
