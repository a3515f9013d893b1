from django.contrib import admin

from eligibility.models import EligibilitySignature, ReferenceRange, Screening
from subjects.admin import ReadOnlyAdmin


@admin.register(ReferenceRange)
class ReferenceRangeAdmin(admin.ModelAdmin):
    """Data managers maintain each site laboratory's ranges (changes are audited)."""

    list_display = ["site", "analyte", "sex", "lln", "uln", "unit", "valid_from"]
    list_filter = ["site", "analyte"]


@admin.register(Screening)
class ScreeningAdmin(ReadOnlyAdmin):
    list_display = ["subject", "planned_c1d1", "updated_at"]


@admin.register(EligibilitySignature)
class EligibilitySignatureAdmin(ReadOnlyAdmin):
    list_display = ["subject", "printed_name", "signed_at", "voided_at"]
