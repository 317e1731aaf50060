from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # The app has no public home: its front door is the admin (its login for a visitor).
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("customers.api.urls")),
    path("api/v1/segments/", include("customers.api.segment_urls")),
    path("l/", include("campaigns.public.link_urls")),
    path("webhooks/twilio/", include("campaigns.inbound.webhook_urls")),
    path("webhooks/", include("customers.connections.urls")),
    path("", include("campaigns.public.urls")),
]
