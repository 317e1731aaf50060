from django.urls import path

from campaigns.public import redirect

urlpatterns = [
    path("<str:code>", redirect.link_redirect, name="link_redirect"),
]
