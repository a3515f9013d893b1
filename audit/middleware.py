from audit.context import clear_actor, set_actor


class AuditUserMiddleware:
    """Name the logged-in user to the audit triggers for the length of the request.

    API requests authenticate later (bearer token) and name their user there; either
    way the actor is cleared when the response leaves, so a pooled connection never
    carries one user's name into another's request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            set_actor(user, context="web")
        try:
            return self.get_response(request)
        finally:
            clear_actor()
