from django.urls import path

from exports import pdf_views

app_name = "exports_pdf"

urlpatterns = [
    path("crf/<str:dataset>/<int:pk>.pdf", pdf_views.crf_pdf, name="crf"),
    path("casebook/<int:pk>.pdf", pdf_views.casebook, name="casebook"),
    path("blank-crf.pdf", pdf_views.blank_crf, name="blank_crf"),
    path("annotated-crf.pdf", pdf_views.annotated_crf, name="annotated_crf"),
]
