"""`manage.py serve [addrport]`: runserver, plus, without Redis, the embedded Celery worker and beat
(config/embedded.py), so every task and every scheduled job runs as it does in production.

With the autoreloader, runserver's first process only watches files and restarts a child that serves
(RUN_MAIN set): the worker starts in that child, once per restart, and stops with it.
"""

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.commands.runserver import Command as RunserverCommand
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from config.embedded import embedded_celery


class Command(RunserverCommand):
    help = "Serve the app; without Redis, with a Celery worker and beat in the same process."

    def handle(self, *args, **options):
        watcher_only = options["use_reloader"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        runserver_options = {key: options[key] for key in ("addrport", "use_ipv6", "use_threading", "use_reloader")}
        if not settings.EMBEDDED_WORKER or watcher_only:
            call_command("runserver", **runserver_options)
            return
        with embedded_celery():
            self.stdout.write("Celery worker and beat running in this process (embedded mode).")
            call_command("runserver", **runserver_options)
