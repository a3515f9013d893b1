from django.urls import path

from subjects import views

app_name = "subjects"

urlpatterns = [
    path("", views.subject_list, name="list"),
    path("register/", views.subject_register, name="register"),
    path("visits/<slug:which>/", views.visit_list, name="visits"),
    path("<int:pk>/", views.subject_detail, name="detail"),
    path("<int:pk>/edit/", views.subject_edit, name="edit"),
    path("<int:pk>/status/", views.subject_transition, name="transition"),
    path("<int:pk>/history/", views.subject_history, name="history"),
    path("<int:pk>/visits/<int:visit_pk>/", views.visit_edit, name="visit"),
    path("<int:pk>/visits/unscheduled/", views.unscheduled_visit, name="unscheduled"),
]
