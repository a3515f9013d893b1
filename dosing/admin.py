from django.contrib import admin

from alter_s006.admin import ReadOnlyAdmin
from dosing.models import Dispensing, DoseEvent


@admin.register(DoseEvent)
class DoseEventAdmin(ReadOnlyAdmin):
    list_display = ["subject", "kind", "start", "end", "dose_mg", "reason"]
    list_filter = ["kind", "reason"]


@admin.register(Dispensing)
class DispensingAdmin(ReadOnlyAdmin):
    list_display = ["subject", "dispensed_on", "strength_mg", "lot_number", "capsules", "returned"]
