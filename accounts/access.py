"""Who may see and do what: the ONE place access is decided.

Every view and API endpoint fetches records through ``scope()`` /
``get_scoped_or_404()`` and checks actions with ``require()``. Rules (PROTOCOL.md "Roles"):
coordinators and investigators see their own sites; monitors their assigned sites,
read-only on clinical data; data managers everything. A record of a site the user
cannot see is a 404, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Membership, Role, Site


class Action(StrEnum):
    VIEW = "view"  # read clinical data
    ENTER_DATA = "enter_data"  # register subjects, enter and correct CRFs
    SIGN = "sign"  # e-sign eligibility, causality, casebooks
    QUERY = "query"  # raise and close data queries, mark SDV
    LOCK = "lock"  # lock data, export
    MANAGE = "manage"  # users, sites, reference ranges
    VIEW_RANGES = "view_ranges"  # read the laboratory reference ranges and their audit trail
    SDV = "sdv"  # mark source-data verification (issue 14)
    FREEZE = "freeze"  # freeze data: no change, queries and SDV go on
    UNFREEZE = "unfreeze"
    UNLOCK = "unlock"  # (LOCK: lock data; the four are separate permissions)
    EXPORT = "export"  # export CSV / ODM / casebooks of the sites (the whole study: DM only)


PERMISSIONS: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset(Role.values),
    Action.ENTER_DATA: frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
    Action.SIGN: frozenset({Role.INVESTIGATOR}),
    Action.QUERY: frozenset({Role.MONITOR, Role.DATA_MANAGER}),
    Action.LOCK: frozenset({Role.DATA_MANAGER}),
    Action.MANAGE: frozenset({Role.DATA_MANAGER}),
    Action.VIEW_RANGES: frozenset({Role.MONITOR, Role.DATA_MANAGER}),
    Action.SDV: frozenset({Role.MONITOR, Role.DATA_MANAGER}),
    Action.FREEZE: frozenset({Role.MONITOR, Role.DATA_MANAGER}),
    Action.UNFREEZE: frozenset({Role.MONITOR, Role.DATA_MANAGER}),
    Action.UNLOCK: frozenset({Role.DATA_MANAGER}),
    Action.EXPORT: frozenset(Role.values),
}


@dataclass(frozen=True)
class Access:
    all_sites: bool = False
    roles: dict[int, str] = field(default_factory=dict)  # site id -> role

    def role_at(self, site_id: int | None) -> str | None:
        if self.all_sites:
            return Role.DATA_MANAGER
        return self.roles.get(site_id)

    def can(self, action: Action, site_id: int | None = None) -> bool:
        """May the user do ``action`` at ``site_id`` (or at any site, if None)?"""
        if site_id is None:
            roles = {Role.DATA_MANAGER} if self.all_sites else set(self.roles.values())
            return bool(roles & PERMISSIONS[action])
        return self.role_at(site_id) in PERMISSIONS[action]

    def sites_where(self, action: Action) -> list[int] | None:
        """Site ids where ``action`` is allowed; None means every site."""
        if self.all_sites and Role.DATA_MANAGER in PERMISSIONS[action]:
            return None
        return [s for s, r in self.roles.items() if r in PERMISSIONS[action]]


NO_ACCESS = Access()


def get_access(user) -> Access:
    """Return the user's access, computed once per user object (one query)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_ACCESS
    cached = getattr(user, "_edc_access", None)
    if cached is not None:
        return cached
    rows = Membership.objects.filter(
        Q(site__is_active=True) | Q(site__isnull=True, role=Role.DATA_MANAGER), user=user
    ).values_list("site_id", "role")
    access = Access(
        all_sites=any(site is None for site, _ in rows),
        roles={site: role for site, role in rows if site is not None},
    )
    user._edc_access = access
    return access


def sites_for(user, action: Action = Action.VIEW):
    """The active sites where the user may do ``action``, as a queryset."""
    ids = get_access(user).sites_where(action)
    sites = Site.objects.filter(is_active=True)
    return sites if ids is None else sites.filter(pk__in=ids)


def visible_sites(user):
    """The sites the user may see."""
    return sites_for(user, Action.VIEW)


def scope(queryset, user, site_path: str = "site"):
    """Filter ``queryset`` to rows of sites the user may see (``site_path`` leads to a Site)."""
    ids = get_access(user).sites_where(Action.VIEW)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{site_path}__in": ids})


def get_scoped_or_404(queryset, user, site_path: str = "site", **lookup):
    """Fetch one row the user may see; anything else is 404."""
    try:
        return scope(queryset, user, site_path).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404(_("No such record.")) from exc


def require(user, action: Action, site_id: int | None = None) -> None:
    """Raise PermissionDenied unless the user may do ``action`` at the site."""
    if not get_access(user).can(action, site_id):
        raise PermissionDenied(_("Your role does not allow this."))
