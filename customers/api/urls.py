from django.urls import re_path

from customers.api import views

# Both with and without a trailing slash: a POST must never be redirected.
urlpatterns = [
    re_path(r"^events/?$", views.events, name="api-events"),
    re_path(r"^customers/?$", views.customers, name="api-customers"),
    re_path(r"^customers/(?P<identifier>[^/]+)/?$", views.customer_detail, name="api-customer"),
    re_path(r"^customers/(?P<identifier>[^/]+)/export/?$", views.customer_export, name="api-customer-export"),
    re_path(r"^customers/(?P<identifier>[^/]+)/erase/?$", views.customer_erase, name="api-customer-erase"),
    re_path(r"^products/?$", views.products, name="api-products"),
]
