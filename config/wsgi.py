import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Everything loaded by now (Django, the apps, the URLconf) lives as long as the process. Frozen, the
# garbage collector stops rescanning it on every collection, and a higher first threshold makes
# collections rarer during a request: a 500-account portfolio's 95th percentile drops by a quarter
# (BENCHMARKS.md). Memory is unaffected: the frozen objects were never going to be freed.
gc.freeze()
gc.set_threshold(10_000, 10, 10)
