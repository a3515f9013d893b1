from django.urls import path

from safety import views

app_name = "safety"

urlpatterns = [
    path("safety/terms/", views.term_search, name="term_search"),
    path("safety/terms/<int:term_pk>/", views.term_grades, name="term_grades"),
    path("safety/sae/", views.sae_list, name="sae_list"),
    path("safety/sae/<int:report_pk>/draft/", views.sae_draft, name="sae_draft"),
    path("safety/sae/<int:report_pk>/submit/", views.sae_submit, name="sae_submit"),
    path("subjects/<int:pk>/adverse-events/", views.ae_list, name="ae_list"),
    path("subjects/<int:pk>/adverse-events/new/", views.ae_new, name="ae_new"),
    path("subjects/<int:pk>/adverse-events/<int:ae_pk>/", views.ae_detail, name="ae"),
    path(
        "subjects/<int:pk>/adverse-events/<int:ae_pk>/causality/",
        views.ae_causality,
        name="causality",
    ),
    path(
        "subjects/<int:pk>/adverse-events/<int:ae_pk>/follow-up/",
        views.sae_follow_up,
        name="follow_up",
    ),
    path("subjects/<int:pk>/adverse-events/<int:ae_pk>/sae.pdf", views.sae_pdf, name="sae_pdf"),
    path("subjects/<int:pk>/labs/", views.labs, name="labs"),
    path("subjects/<int:pk>/labs/<int:panel_pk>/correct/", views.lab_correct, name="lab_correct"),
]
