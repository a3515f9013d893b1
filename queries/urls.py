from django.urls import path

from queries import views

app_name = "queries"

urlpatterns = [
    path("queries/", views.query_list, name="list"),
    path("queries/export.csv", views.query_csv, name="csv"),
    path("queries/metrics/", views.query_metrics, name="metrics"),
    path("queries/<int:pk>/", views.query_detail, name="detail"),
    path("queries/<int:pk>/<slug:action>/", views.query_act, name="act"),
    path("queries/raise/<str:record_type>/<int:record_id>/", views.raise_query, name="raise"),
    path(
        "queries/thread/<str:record_type>/<int:record_id>/<str:field>/",
        views.field_thread,
        name="thread",
    ),
]
