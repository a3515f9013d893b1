from django.urls import path

from logs import views

app_name = "logs"

urlpatterns = [
    path("subjects/<int:pk>/con-meds/", views.con_meds, name="con_meds"),
    path("subjects/<int:pk>/con-meds/new/", views.con_med_new, name="con_med_new"),
    path("subjects/<int:pk>/con-meds/names/", views.con_med_names, name="con_med_names"),
    path("subjects/<int:pk>/con-meds/<int:item_pk>/", views.con_med, name="con_med"),
    path("subjects/<int:pk>/medical-history/", views.history, name="history"),
    path("subjects/<int:pk>/medical-history/new/", views.history_new, name="history_new"),
    path(
        "subjects/<int:pk>/medical-history/baseline-match/",
        views.baseline_match,
        name="baseline_match",
    ),
    path(
        "subjects/<int:pk>/medical-history/<int:item_pk>/", views.history_item, name="history_item"
    ),
    path("subjects/<int:pk>/deviations/", views.deviations, name="deviations"),
    path("subjects/<int:pk>/deviations/new/", views.deviation_new, name="deviation_new"),
    path("subjects/<int:pk>/deviations/<int:item_pk>/", views.deviation, name="deviation"),
    path(
        "subjects/<int:pk>/deviations/<int:item_pk>/decide/",
        views.deviation_decide,
        name="deviation_decide",
    ),
]
