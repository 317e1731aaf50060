from django.urls import path

from customers.segments import views

urlpatterns = [
    path("", views.segment_list, name="segment-list"),
    path("<int:segment_id>/members", views.segment_members, name="segment-members"),
    path("<int:segment_id>/explain/<str:ident>", views.segment_explain, name="segment-explain"),
]
