from django.urls import path

from customers.connections import views

app_name = "connections"
urlpatterns = [
    path("shopify/", views.shopify_webhook, name="shopify"),
    path("woocommerce/<slug:slug>/", views.woocommerce_webhook, name="woocommerce"),
]
