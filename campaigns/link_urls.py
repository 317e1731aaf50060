from django.urls import path

from . import link_views

urlpatterns = [
    path("<str:code>", link_views.link_redirect, name="link_redirect"),
]
