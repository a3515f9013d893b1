from django.urls import path

from dosing import views

app_name = "dosing"

urlpatterns = [
    path("subjects/<int:pk>/dosing/", views.dosing, name="calendar"),
    path("subjects/<int:pk>/dosing/diary.pdf", views.diary, name="diary"),
    path("subjects/<int:pk>/dosing/accountability/", views.accountability, name="accountability"),
    path(
        "subjects/<int:pk>/dosing/accountability/<int:dispensing_pk>/return/",
        views.dispensing_return,
        name="return",
    ),
]
