from django.contrib import admin

from alter_s006.admin import ReadOnlyAdmin
from assessments.models import Lesion, LesionMeasurement, Timepoint


@admin.register(Lesion)
class LesionAdmin(ReadOnlyAdmin):
    list_display = ["subject", "lesion_id", "role", "organ", "method", "baseline_diameter_mm"]
    list_filter = ["role", "method"]


@admin.register(Timepoint)
class TimepointAdmin(ReadOnlyAdmin):
    list_display = ["subject", "scan_date", "sum_mm", "overall_response", "investigator_response"]
    list_filter = ["overall_response"]


@admin.register(LesionMeasurement)
class LesionMeasurementAdmin(ReadOnlyAdmin):
    list_display = ["timepoint", "lesion", "kind", "diameter_mm"]
