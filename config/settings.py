"""Pulse settings: one module, every switch an environment variable (see .env.example).

With nothing set, Pulse runs as a zero-setup demo: SQLite file, an in-process
Celery broker that `manage.py serve` works off with a worker and beat of its own
(config/embedded.py; other commands run tasks eagerly), local-memory cache, email
written to a local outbox you can open in the app. Production sets DEBUG=false,
SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, EMAIL_HOST and SITE_URL.
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from config.env import env_bool, env_int, env_list, env_str
from config.queues import queues_for

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

PRODUCT_NAME = env_str("PRODUCT_NAME", "Pulse")
# The company whose customers the surveys ask ("How likely are you to recommend {company}"); admins can
# change it in the app (Setup → Company), which takes precedence over this default.
COMPANY_NAME = env_str("COMPANY_NAME", "our company")

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is false "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "core",
    "accounts",
    "webhooks",
    "surveys",
    "scoring",
    "playbooks",
    "renewals",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.security.PrivateResponsesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.product",
                "accounts.context_processors.notifications",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# Database: a SQLite file by default; PostgreSQL (psycopg 3) in production.
# Health-checked persistent connections: a connection the server dropped is
# replaced on the next request instead of failing it. PostgreSQL goes through
# config.postgresql, which waits out a restart (see its docstring): a connection
# attempt is retried for DB_CONNECT_RETRY_SECONDS (a web request) or
# DB_WORKER_CONNECT_RETRY_SECONDS (a Celery worker) before it fails.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL is None:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default needs its folder on a fresh clone
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{VAR_DIR / 'pulse.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compiling costs tens of milliseconds per query and only pays off on long analytical queries;
    # every query here is short (a page or a recompute step), so it is off for our connections.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["default"]["ENGINE"] = "config.postgresql"
DB_CONNECT_RETRY_SECONDS = env_int("DB_CONNECT_RETRY_SECONDS", 5)
# A Celery worker has nobody waiting on it, so it waits out a longer restart (config.celery sets it).
DB_WORKER_CONNECT_RETRY_SECONDS = env_int("DB_WORKER_CONNECT_RETRY_SECONDS", 60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Covering indexes (Index.include) serve PostgreSQL; on the embedded demo database they are
    # plain indexes, which is all a demo needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
    # The embedded worker writes from its threads while requests do: a writer takes the lock when its
    # transaction begins (IMMEDIATE) and the others wait up to 20 s for it instead of failing "database is
    # locked"; with WAL, readers never wait for a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=20,
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# An account's page is the dashboards app's (check-in prep): wired here, above the apps, so accounts
# (below dashboards) never names a dashboards URL, yet redirect(account) and get_absolute_url work everywhere.
ABSOLUTE_URL_OVERRIDES = {"accounts.account": lambda account: reverse("dashboards:account", args=[account.pk])}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))  # where collectstatic writes
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Redis: when REDIS_URL is set it is the Celery broker and the Django cache;
# unset, the broker is in-process (memory://) and the cache is local memory.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.RedisCache",  # Django's, with one client per pool (see there)
            "LOCATION": REDIS_URL,
            # A hung or stopped Redis costs one request a quarter of a second at most, then every request of
            # that process skips it for a few seconds (config/circuit_breaker.py); callers treat the cache
            # as optional.
            "OPTIONS": {
                "socket_connect_timeout": 0.25,
                "socket_timeout": 0.25,
                "pool_class": "config.circuit_breaker.BreakerConnectionPool",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
# One queue name per installation, so two installations (or test runs) can share a Redis.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "pulse")
# Sending (campaign fan-out and batches) has its own queue, "<CELERY_QUEUE>.send"; all else, the beat jobs
# among it, is on the default queue (config/queues.py). A worker started without -Q consumes both.
CELERY_TASK_QUEUES = queues_for(CELERY_TASK_DEFAULT_QUEUE)
CELERY_TASK_ROUTES = ["config.queues.route_task"]
# Without Redis, `manage.py serve` runs a Celery worker and beat in its own process on the in-process broker
# (config/embedded.py) and turns eager mode off there; every other process (a command, a shell, the tests)
# has no worker, so it runs its tasks eagerly, in the caller.
EMBEDDED_WORKER = not REDIS_URL
CELERY_TASK_ALWAYS_EAGER = EMBEDDED_WORKER
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 660)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands a task whose worker died before acknowledging it to another worker after this many
# seconds. It should exceed CELERY_TASK_TIME_LIMIT and the longest retry delay: a task still running
# (or waiting for its retry time) would be handed out a second time. Sends are fenced, so that costs
# work, never a second email; a dead worker's claims are taken back sooner, by the one-minute sweep.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 900),
    # A web request queueing a task waits at most this long for a broker that refuses, or accepts and never
    # answers, then moves on: what it queued is recorded in the database and swept up later. Workers and beat
    # wait longer (config/celery.py).
    "socket_connect_timeout": 0.1,
    "socket_timeout": 0.1,
    # Connecting is tried once: the publish retry policy below is the only retry.
    "max_retries": 0,
}
if EMBEDDED_WORKER:
    # The in-process broker is polled: an idle worker looks for a new task ten times a second.
    CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] = 0.1
# Where the embedded beat records when each job last ran, so a restart neither repeats nor forgets one.
EMBEDDED_BEAT_SCHEDULE_FILE = VAR_DIR / "celerybeat-schedule"
# Publishing from a request: one retry after 50 ms, so about 0.35 s at most with the timeouts above.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.05, "interval_step": 0, "interval_max": 0.05}
CELERY_TIMEZONE = TIME_ZONE
# Every periodic job, in one place. Each entry says when it runs and why.
CELERY_BEAT_SCHEDULE = {
    # 03:30 every night: uploaded import files are kept a week for support, then dropped.
    "import-jobs-prune": {
        "task": "accounts.tasks.import_jobs_prune_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # Every minute: start campaigns whose scheduled time has come.
    "campaigns-start-due": {
        "task": "surveys.tasks.campaigns_start_due_task",
        "schedule": 60.0,
    },
    # 02:00 every night: today's health snapshot for every account, and alerts on drops.
    "health-recompute-all": {
        "task": "scoring.tasks.health_recompute_all_task",
        "schedule": crontab(hour=2, minute=0),
    },
    # Every minute: claims of senders that died or stalled past their lease (sent again, or marked
    # delivery uncertain), and sending campaigns whose task was lost (broker down): queued again.
    "sends-recover": {
        "task": "surveys.tasks.sends_recover_task",
        "schedule": 60.0,
    },
    # Every 15 minutes: remind contacts who have not answered once a campaign's reminder delay has passed.
    "campaign-reminders": {
        "task": "surveys.tasks.campaign_reminders_task",
        "schedule": 15 * 60.0,
    },
    # Every 5 minutes: start imports uploaded while the broker was down (their task was never queued).
    "import-jobs-resume": {
        "task": "accounts.tasks.import_jobs_resume_task",
        "schedule": 5 * 60.0,
    },
    # Every 5 minutes: follow up answers recorded while the broker was down (their queued task never ran).
    "responses-follow-up-sweep": {
        "task": "surveys.tasks.responses_follow_up_sweep_task",
        "schedule": 5 * 60.0,
    },
    # Every 10 minutes: recompute accounts still marked dirty, in case the debounced run was never queued
    # (the broker was down when their inputs changed). Costs one query when nothing is marked.
    "health-recompute-dirty": {
        "task": "scoring.tasks.health_recompute_dirty_task",
        "schedule": 10 * 60.0,
    },
    # Every 10 minutes: alert emails (health drops, low scores) the mail server did not take, tried
    # again up to 5 times in all; the in-app notification exists already, so without this they are lost.
    "notification-emails-retry": {
        "task": "accounts.tasks.notification_emails_retry_task",
        "schedule": 10 * 60.0,
    },
    # 02:45 every night, after the recompute: the stored back-test of each model's current version (a few
    # seconds each), so the model page and the rollup show whether the score predicts churn.
    "backtests-nightly": {
        "task": "scoring.tasks.backtests_nightly_task",
        "schedule": crontab(hour=2, minute=45),
    },
    # 02:30 every night, after the recompute: snoozed tasks whose date has come are open again, and
    # every rule is evaluated on every account (what the recompute and the answer path do not notice).
    "rules-sweep": {
        "task": "playbooks.tasks.rules_sweep_task",
        "schedule": crontab(hour=2, minute=30),
    },
    # Every 10 minutes: replies to survey comments the mail server did not take (or whose task was lost
    # with the broker), tried again up to 5 times in all; the error stays on the reply in the inbox.
    "feedback-replies-retry": {
        "task": "surveys.tasks.feedback_replies_retry_task",
        "schedule": 10 * 60.0,
    },
    # 03:00 every night: expired sessions are deleted (the database keeps every login's row until then).
    "sessions-clear": {
        "task": "accounts.tasks.sessions_clear_task",
        "schedule": crontab(hour=3, minute=0),
    },
    # 03:15 every night: demo outbox messages older than OUTBOX_KEEP_DAYS are deleted (nothing else in it).
    "outbox-prune": {
        "task": "accounts.tasks.outbox_prune_task",
        "schedule": crontab(hour=3, minute=15),
    },
    # Every minute: webhook deliveries due (retries after their backoff, and events recorded while the
    # broker was down), each queued as its own task.
    "webhook-deliveries-sweep": {
        "task": "webhooks.tasks.deliveries_sweep_task",
        "schedule": 60.0,
    },
    # 07:00 every day: each opted-in user's check-ins for today, with what changed since the last one.
    "morning-emails": {
        "task": "dashboards.tasks.morning_emails_task",
        "schedule": crontab(hour=7, minute=0),
    },
}

# Email: SMTP when EMAIL_HOST is set, otherwise a local outbox (var/outbox)
# that admins can open and click through at /outbox/.
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
else:
    EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
OUTBOX_DIR = Path(env_str("OUTBOX_DIR", str(VAR_DIR / "outbox")))
OUTBOX_KEEP_DAYS = env_int("OUTBOX_KEEP_DAYS", 14)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{PRODUCT_NAME} <pulse@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Surveys: a contact is asked at most once per SURVEY_QUIET_DAYS, whatever the campaign;
# SURVEY_ACCOUNT_QUIET_DAYS (0 = off) also keeps a second campaign away from every contact
# of an account asked within that many days. Sending retries temporary SMTP failures.
SURVEY_QUIET_DAYS = env_int("SURVEY_QUIET_DAYS", 90)
SURVEY_ACCOUNT_QUIET_DAYS = env_int("SURVEY_ACCOUNT_QUIET_DAYS", 0)
SURVEY_SEND_BATCH_SIZE = env_int("SURVEY_SEND_BATCH_SIZE", 100)
SURVEY_SEND_MAX_RETRIES = env_int("SURVEY_SEND_MAX_RETRIES", 3)
SURVEY_SEND_RETRY_SECONDS = env_int("SURVEY_SEND_RETRY_SECONDS", 30)
# A batch's claim on its invitations lasts this long without a sign of life from its sender (it is
# renewed as the batch sends). Past it, the sweep takes it back: longer than one SMTP exchange may
# take (EMAIL_TIMEOUT per step), short enough that a dead worker's batch resumes within minutes.
SURVEY_SEND_LEASE_SECONDS = env_int("SURVEY_SEND_LEASE_SECONDS", 60)
SURVEY_RATE_LIMIT_PER_MINUTE = env_int("SURVEY_RATE_LIMIT_PER_MINUTE", 60)
FEEDBACK_SLA_DAYS = env_int("FEEDBACK_SLA_DAYS", 3)
# Praise waits longer for its thank-you; 0: praise is never overdue.
FEEDBACK_PRAISE_SLA_DAYS = env_int("FEEDBACK_PRAISE_SLA_DAYS", 14)
# Hours a low score may wait for its first email reply within the SLA (the rollup's reply times).
FEEDBACK_REPLY_SLA_HOURS = env_int("FEEDBACK_REPLY_SLA_HOURS", 48)

# Login: attempts (posts) per minute per client address, and the lockout of an email after
# LOGIN_MAX_FAILURES failures within LOGIN_LOCKOUT_MINUTES, for LOGIN_LOCKOUT_MINUTES.
LOGIN_RATE_LIMIT_PER_MINUTE = env_int("LOGIN_RATE_LIMIT_PER_MINUTE", 20)
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)

# Health: an owner is alerted when an account drops this many points within 7 days (or turns
# red); an account is recomputed this many seconds after its inputs change, once per burst.
HEALTH_ALERT_DROP_POINTS = env_int("HEALTH_ALERT_DROP_POINTS", 10)
HEALTH_RECOMPUTE_DELAY_SECONDS = env_int("HEALTH_RECOMPUTE_DELAY_SECONDS", 60)
# The nightly recompute runs as tasks of this many accounts each: more workers finish it sooner.
HEALTH_RECOMPUTE_CHUNK_ACCOUNTS = env_int("HEALTH_RECOMPUTE_CHUNK_ACCOUNTS", 2000)
if HEALTH_RECOMPUTE_CHUNK_ACCOUNTS < 1:
    raise ImproperlyConfigured("HEALTH_RECOMPUTE_CHUNK_ACCOUNTS must be at least 1.")

# Webhooks: each request waits this long for the receiver; an endpoint is disabled after this many failed
# attempts in a row. URLs resolving to loopback, private or link-local addresses are refused unless
# WEBHOOK_ALLOW_PRIVATE (tests, receivers on the premises' own network).
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_DISABLE_AFTER = env_int("WEBHOOK_DISABLE_AFTER", 8)
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)

# Uploads: CSV imports and the metrics API accept up to 10,000 items a request.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
# A bigger file is refused before any row is checked: validation holds the file and its keys in memory.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 100_000)
METRICS_API_MAX_ITEMS = 10_000

# Security: secure by default when DEBUG is false (manage.py check --deploy is clean).
# Behind a TLS-terminating proxy, trust the X-Forwarded-Proto it sets, and take the client's
# address (for rate limits) from the last X-Forwarded-For entry, which it appends.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers check over plain http on the internal network, without X-Forwarded-Proto.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
