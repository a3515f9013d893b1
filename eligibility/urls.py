from django.urls import path

from eligibility import views

app_name = "eligibility"

urlpatterns = [
    path("subjects/<int:pk>/screening/", views.screening, name="screening"),
    path("subjects/<int:pk>/screening/verdict/", views.verdict, name="verdict"),
    path("subjects/<int:pk>/screening/sign/", views.sign, name="sign"),
    path("subjects/<int:pk>/screening/screen-failure/", views.screen_fail, name="screen-fail"),
    path("screening-log/", views.screening_log, name="log"),
]
