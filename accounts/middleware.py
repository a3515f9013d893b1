import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.shortcuts import redirect, resolve_url
from django.utils.translation import gettext as _

SESSION_KEY = "edc_last_activity"
# The last activity is written to the session (one UPDATE of its row, and the renewed cookie)
# at most this often: a page view within it writes nothing. The idle timeout is then counted
# from a time at most this much earlier than the last request (issue 12: every page view
# wrote its session row).
ACTIVITY_RESOLUTION_SECONDS = 30


def record_activity_at_login(sender, request, user, **kwargs):
    """Signing in is activity: the session starts with its last-activity time, so the first
    page after it writes nothing more (``user_logged_in`` receiver)."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = time.time()


class IdleTimeoutMiddleware:
    """Log the user out after SESSION_IDLE_MINUTES without a request, and say so.

    A session goes idle in one of two ways: this middleware finds the last request too
    long ago, or the session itself has expired (SESSION_COOKIE_AGE is the same limit,
    so that is what usually happens first) while the browser still sends its cookie.
    Either way the next page is the login page with a message. The middleware runs
    before MessageMiddleware, so it stores that message itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(SESSION_KEY)
            if last is None or now - last <= settings.SESSION_IDLE_MINUTES * 60:
                if last is None or now - last >= ACTIVITY_RESOLUTION_SECONDS:
                    request.session[SESSION_KEY] = now  # modified: saved, cookie renewed
                return self.get_response(request)
            logout(request)
        elif not _session_lapsed(request) or _is_login_page(request):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return self.get_response(request)
        return _signed_out_response(request)


def _session_lapsed(request) -> bool:
    """Did the browser send the cookie of a session that no longer exists (expired)?"""
    return bool(request.COOKIES.get(settings.SESSION_COOKIE_NAME)) and request.session.is_empty()


def _is_login_page(request) -> bool:
    return request.path == resolve_url(settings.LOGIN_URL)


def _signed_out_response(request):
    """Redirect to the login page, carrying the idle-timeout message."""
    if _is_login_page(request):
        response = redirect(settings.LOGIN_URL)
    else:
        response = redirect_to_login(request.get_full_path())
    storage = default_storage(request)
    storage.add(
        messages.INFO,
        _("You were signed out after %(m)d minutes without activity.")
        % {"m": settings.SESSION_IDLE_MINUTES},
    )
    storage.update(response)
    return response
