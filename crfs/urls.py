from django.urls import path

from crfs import views

app_name = "crfs"
urlpatterns = [
    path("subjects/<int:pk>/visits/<int:visit_pk>/crfs/", views.visit_page, name="visit"),
    path(
        "subjects/<int:pk>/visits/<int:visit_pk>/crfs/<slug:form_key>/",
        views.form_page,
        name="form",
    ),
    path(
        "subjects/<int:pk>/visits/<int:visit_pk>/crfs/<slug:form_key>/preview/",
        views.preview,
        name="preview",
    ),
]
