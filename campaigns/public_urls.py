from django.urls import path

from . import public_views

app_name = "public"
urlpatterns = [
    path("join/<slug:slug>", public_views.signup, name="signup"),
    path("join/<slug:slug>/sent", public_views.signup_sent, name="signup_sent"),
    path("prefs/<str:token>", public_views.preferences, name="preferences"),
]
