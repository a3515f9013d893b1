from django.contrib import admin

from accounts.models import ApiToken, Membership, Site


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
