from django.contrib import admin

from accounts.access import get_access
from accounts.models import ApiToken, Membership, Site


def data_managers_only(request) -> bool:
    """The admin is for data managers: active staff holding the data-manager membership.

    Staff status (or superuser) alone is not enough: accounts, sites and tokens are managed
    here, and clinical data is read here across every site.
    """
    user = request.user
    return user.is_active and user.is_staff and get_access(user).all_sites


admin.site.has_permission = data_managers_only


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone", "is_active"]
    search_fields = ["code", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "site", "role"]
    list_filter = ["role", "site"]
    search_fields = ["user__username", "user__last_name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "user", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # tokens are issued with `manage.py issue_api_token`
