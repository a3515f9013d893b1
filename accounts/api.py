from axes.handlers.proxy import AxesProxyHandler
from django.utils import timezone
from ninja import Router, Schema
from ninja.security import HttpBearer

from accounts.access import visible_sites
from accounts.models import ApiToken
from audit.context import actor_settings


class AccountLocked(Exception):
    """The token's user is locked out (django-axes): answered 429 like a locked sign-in."""


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <token>``: a personal token from ``issue_api_token``.

    A token is refused while its user's account is locked by failed sign-in (or signing)
    attempts: the lockout stops the person, whichever way they come in.
    """

    def authenticate(self, request, token):
        if not token or len(token) > 200:
            return None
        # one round trip: the token, its user, and the user named to the audit triggers
        # (set_actor's settings, evaluated on the row found: none when no token matches)
        found = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash(token), revoked_at__isnull=True, user__is_active=True)
            .annotate(**actor_settings("user", "api"))
            .first()
        )
        if found is None:
            return None
        if AxesProxyHandler.is_locked(request, {"username": found.user.get_username()}):
            raise AccountLocked(found.user.get_username())
        found.touch(timezone.now())
        request.user = found.user
        return found.user


router = Router(tags=["sites"])


class SiteOut(Schema):
    id: int
    code: str
    name: str
    time_zone: str


@router.get("/sites", response=list[SiteOut], summary="Sites you may see")
def list_sites(request):
    return list(visible_sites(request.auth))
