"""The Django admin's base for clinical models: look, never touch."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Clinical data is entered and corrected in the EDC pages (reason, version, audit)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
