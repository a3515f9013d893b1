from django.urls import path

from outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("subjects/<int:pk>/end-of-treatment/", views.end_of_treatment, name="end_of_treatment"),
    path("subjects/<int:pk>/death/", views.death, name="death"),
    path(
        "subjects/<int:pk>/visits/<int:visit_pk>/survival-follow-up/",
        views.survival_follow_up,
        name="survival_follow_up",
    ),
    path("subjects/<int:pk>/withdrawals/", views.withdrawals, name="withdrawals"),
    path(
        "subjects/<int:pk>/withdrawals/<int:withdrawal_pk>/",
        views.withdrawal,
        name="withdrawal",
    ),
]
