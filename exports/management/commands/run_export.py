"""Run one export now, as a named user, through the same service as the page and the API
(the job, its file, its SHA-256 and its audit events are the same): for the data manager's
terminal, cron, and the benchmarks.

    python manage.py run_export --user dm --kind csv [--site GZ01]
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Site
from exports import services
from exports.models import ExportJob


class Command(BaseCommand):
    help = "Run an export (CSV zip, ODM, casebooks, site archive) now and print its file."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="who asks (their access applies)")
        parser.add_argument("--kind", required=True, choices=ExportJob.Kind.values)
        parser.add_argument("--site", help="site code; omitted: the whole study (DM only)")

    def handle(self, *args, user, kind, site, **options):
        who = get_user_model().objects.filter(username=user, is_active=True).first()
        if who is None:
            raise CommandError(f"No active user {user!r}.")
        site_id = None
        if site:
            site_id = Site.objects.filter(code=site).values_list("pk", flat=True).first()
            if site_id is None:
                raise CommandError(f"No site {site!r}.")
        try:
            job, _created = services.start_export(user=who, kind=kind, site_id=site_id, queue=False)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
        done = services.run_job(job.pk)
        if done is None:
            raise CommandError(f"Export #{job.pk} is already being run by a worker.")
        self.stdout.write(f"{services.path_of(done)}\t{done.size}\t{done.sha256}")
