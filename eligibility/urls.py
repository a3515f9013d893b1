from django.urls import path

from eligibility import range_views, views

app_name = "eligibility"

urlpatterns = [
    path("subjects/<int:pk>/screening/", views.screening, name="screening"),
    path("subjects/<int:pk>/screening/verdict/", views.verdict, name="verdict"),
    path("subjects/<int:pk>/screening/sign/", views.sign, name="sign"),
    path("subjects/<int:pk>/screening/screen-failure/", views.screen_fail, name="screen-fail"),
    path("screening-log/", views.screening_log, name="log"),
    path("reference-ranges/", range_views.range_list, name="ranges"),
    path("reference-ranges/new/", range_views.range_new, name="range-new"),
    path("reference-ranges/<int:pk>/", range_views.range_detail, name="range"),
    path("reference-ranges/<int:pk>/correct/", range_views.range_correct, name="range-correct"),
    path(
        "reference-ranges/<int:pk>/supersede/",
        range_views.range_supersede,
        name="range-supersede",
    ),
]
