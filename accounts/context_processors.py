from accounts.access import Action, get_access, visible_sites
from accounts.models import Role


def access(request):
    """Role-aware navigation and the site switcher (display only; views check access)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    acc = get_access(user)
    roles = {Role(r).label for r in acc.roles.values()}
    if acc.all_sites:
        roles = {Role.DATA_MANAGER.label}
    return {
        "edc_access": acc,
        "can_enter_data": acc.can(Action.ENTER_DATA),
        "can_manage": acc.can(Action.MANAGE),
        "can_view_ranges": acc.can(Action.VIEW_RANGES),
        "can_sign": acc.can(Action.SIGN),
        "can_sdv": acc.can(Action.SDV),
        "can_lock_study": acc.all_sites,
        "nav_sites": visible_sites(user),
        "nav_site_id": request.session.get("edc_site"),
        "nav_role": ", ".join(sorted(str(r) for r in roles)) or "—",
    }
