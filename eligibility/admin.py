from django.contrib import admin

from alter_s006.admin import ReadOnlyAdmin
from eligibility.models import EligibilitySignature, ReferenceRange, Screening


@admin.register(ReferenceRange)
class ReferenceRangeAdmin(ReadOnlyAdmin):
    """Read-only: data managers maintain ranges on the reference-range pages (reason, version)."""

    list_display = ["site", "analyte", "sex", "lln", "uln", "unit", "valid_from", "valid_to"]
    list_filter = ["site", "analyte"]


@admin.register(Screening)
class ScreeningAdmin(ReadOnlyAdmin):
    list_display = ["subject", "planned_c1d1", "updated_at"]


@admin.register(EligibilitySignature)
class EligibilitySignatureAdmin(ReadOnlyAdmin):
    list_display = ["subject", "printed_name", "signed_at", "voided_at"]
