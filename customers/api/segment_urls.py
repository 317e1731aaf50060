from django.urls import path

from customers.api import segments

urlpatterns = [
    path("", segments.segment_list, name="segment-list"),
    path("<int:segment_id>/members", segments.segment_members, name="segment-members"),
    path("<int:segment_id>/explain/<str:ident>", segments.segment_explain, name="segment-explain"),
]
