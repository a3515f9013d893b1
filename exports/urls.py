from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("exports/", views.job_list, name="list"),
    path("exports/<int:pk>/", views.job_page, name="job"),
    path("exports/<int:pk>/progress/", views.job_progress, name="progress"),
    path("exports/<int:pk>/download/", views.download, name="download"),
]
