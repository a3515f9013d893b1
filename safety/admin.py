from django.contrib import admin

from alter_s006.admin import ReadOnlyAdmin
from safety.models import AdverseEvent, CtcaeTerm, GradeChange, LabPanel, LabResult, SaeReport


@admin.register(CtcaeTerm)
class CtcaeTermAdmin(ReadOnlyAdmin):
    """Reference data: loaded from ``safety/data`` by a migration or ``load_ctcae``."""

    list_display = ["term", "soc", "meddra_code", "other_specify"]
    list_filter = ["soc", "other_specify"]
    search_fields = ["term", "soc", "=meddra_code"]


@admin.register(AdverseEvent)
class AdverseEventAdmin(ReadOnlyAdmin):
    list_display = ["subject", "term", "grade", "onset_date", "end_date", "serious", "outcome"]
    list_filter = ["serious", "grade", "outcome", "out_of_window"]


@admin.register(GradeChange)
class GradeChangeAdmin(ReadOnlyAdmin):
    list_display = ["ae", "grade", "from_date"]


@admin.register(SaeReport)
class SaeReportAdmin(ReadOnlyAdmin):
    list_display = ["ae", "kind", "sequence", "due_at", "submitted_at"]
    list_filter = ["kind"]


@admin.register(LabPanel)
class LabPanelAdmin(ReadOnlyAdmin):
    list_display = ["subject", "sample_date", "visit"]


@admin.register(LabResult)
class LabResultAdmin(ReadOnlyAdmin):
    list_display = ["panel", "analyte", "value", "unit", "grade", "term"]
    list_filter = ["analyte", "grade"]
