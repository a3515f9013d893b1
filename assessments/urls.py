from django.urls import path

from assessments import views

app_name = "assessments"

urlpatterns = [
    path("subjects/<int:pk>/tumour/", views.overview, name="overview"),
    path("subjects/<int:pk>/tumour/baseline/", views.baseline, name="baseline"),
    path("subjects/<int:pk>/tumour/new/", views.new_timepoint, name="new"),
    path("subjects/<int:pk>/tumour/preview/", views.preview, name="preview"),
    path("subjects/<int:pk>/tumour/<int:tp_pk>/", views.edit_timepoint, name="edit"),
    path("subjects/<int:pk>/tumour/lesions/<int:lesion_pk>/", views.edit_lesion, name="lesion"),
]
