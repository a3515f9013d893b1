from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("monitoring/subjects/<int:pk>/", views.subject_page, name="subject"),
    path(
        "monitoring/subjects/<int:pk>/forms/<str:label>/<int:rid>/",
        views.record_page,
        name="record",
    ),
    path(
        "monitoring/subjects/<int:pk>/forms/<str:label>/<int:rid>/sdv/",
        views.sdv_action,
        name="sdv_action",
    ),
    path(
        "monitoring/subjects/<int:pk>/forms/<str:label>/<int:rid>/sign/",
        views.sign_record,
        name="sign_record",
    ),
    path("monitoring/subjects/<int:pk>/holds/", views.place_hold, name="hold"),
    path("monitoring/holds/", views.place_hold, name="study_hold"),
    path("monitoring/holds/<int:hold_pk>/lift/", views.lift_hold, name="lift"),
    path(
        "monitoring/subjects/<int:pk>/visits/<int:visit_pk>/sign/",
        views.sign_page,
        name="sign_visit",
    ),
    path("monitoring/subjects/<int:pk>/casebook/sign/", views.sign_page, name="sign_casebook"),
    path("monitoring/sdv/", views.worklist, name="worklist"),
    path("monitoring/sdv/dropped/", views.dropped, name="dropped"),
    path("monitoring/sdv/log/", views.sdv_log, name="sdv_log"),
    path("monitoring/matrix/", views.matrix, name="matrix"),
    path("monitoring/study/", views.study, name="study"),
    path("monitoring/sign/", views.bulk_sign, name="bulk_sign"),
]
