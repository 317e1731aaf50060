from django.urls import path

from campaigns.public import embed, views

app_name = "public"
urlpatterns = [
    path("join/<slug:slug>", views.signup, name="signup"),
    path("join/<slug:slug>/sent", views.signup_sent, name="signup_sent"),
    path("prefs/<str:token>", views.preferences, name="preferences"),
    path("embed/<slug:slug>/settings", embed.embed_settings, name="embed_settings"),
    path("embed/<slug:slug>/signup", embed.embed_signup, name="embed_signup"),
]
