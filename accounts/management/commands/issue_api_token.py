from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken
from audit.events import record_event


class Command(BaseCommand):
    help = "Issue a personal API token for USERNAME and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No active user named {username!r}.") from exc
        token, key = ApiToken.issue(user)
        record_event(
            action="WORKFLOW",
            user=user,
            table="accounts_apitoken",
            record_pk=token.pk,
            detail={"event": "api token issued", "prefix": token.prefix},
            context="cli",
        )
        self.stdout.write(key)
