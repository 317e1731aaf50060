from django.urls import re_path

from . import api

# Both with and without a trailing slash: a POST must never be redirected.
urlpatterns = [
    re_path(r"^events/?$", api.events, name="api-events"),
    re_path(r"^customers/?$", api.customers, name="api-customers"),
    re_path(r"^customers/(?P<identifier>[^/]+)/?$", api.customer_detail, name="api-customer"),
    re_path(r"^products/?$", api.products, name="api-products"),
]
