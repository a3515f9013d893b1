from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from alter_s006.api import api
from subjects import views as subject_views

admin.site.site_header = "ALTER-S006 EDC administration"
admin.site.site_title = "ALTER-S006 EDC"
# a query parameter a page cannot use is a 400 saying which and why (alter_s006.query_params)
handler400 = "alter_s006.query_params.bad_request"
# error pages in the site's layout, JSON under /api/ (405: alter_s006.errors middleware)
handler403 = "alter_s006.errors.permission_denied"
handler404 = "alter_s006.errors.page_not_found"
handler500 = "alter_s006.errors.server_error"

urlpatterns = [
    path("", subject_views.home, name="home"),
    path("site/", subject_views.switch_site, name="switch-site"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True,
            extra_context={
                "idle": settings.SESSION_IDLE_MINUTES,
                "attempts": settings.AXES_FAILURE_LIMIT,
            },
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("subjects/", include("subjects.urls")),
    path("", include("eligibility.urls")),
    path("", include("dosing.urls")),
    path("", include("assessments.urls")),
    path("", include("safety.urls")),
    path("", include("queries.urls")),
    path("", include("monitoring.urls")),
    path("", include("crfs.urls")),
    path("", include("logs.urls")),
    path("", include("outcomes.urls")),
    path("", include("exports.urls")),
    path("exports/pdf/", include("exports.pdf_urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
