from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("customers.api_urls")),
    path("api/v1/segments/", include("customers.segment_urls")),
    path("l/", include("campaigns.link_urls")),
    path("webhooks/twilio/", include("campaigns.webhook_urls")),
    path("", include("campaigns.public_urls")),
]
