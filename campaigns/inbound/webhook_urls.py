from django.urls import path

from campaigns.inbound import webhooks

app_name = "twilio_webhooks"
urlpatterns = [
    path("status", webhooks.status_callback, name="status"),
    path("inbound", webhooks.inbound, name="inbound"),
]
