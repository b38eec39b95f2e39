"""Settings from the environment: strict readers, production refuses weak secrets, check --deploy is clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "-a-real-random-secret-key-for-this-test-only-0123456789",
    "ALLOWED_HOSTS": "pulse.example.com",
    "SITE_URL": "https://pulse.example.com",
    "EMAIL_HOST": "smtp.example.com",
}


def run_manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_env_bool_is_strict(monkeypatch):
    monkeypatch.setenv("X", "yes please")
    with pytest.raises(ImproperlyConfigured, match="not a boolean"):
        env_bool("X", False)
    monkeypatch.setenv("X", "Off")
    assert env_bool("X", True) is False


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("N", "12x")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("N", 1)
    monkeypatch.setenv("L", " a.example, b.example ,")
    assert env_list("L", []) == ["a.example", "b.example"]


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_malformed_debug_stops_the_process():
    result = run_manage("check", env={"DEBUG": "yes please"})
    assert result.returncode != 0 and "DEBUG='yes please' is not a boolean" in result.stderr


def test_check_deploy_is_clean_in_production_mode():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_email_would_go_to_the_outbox():
    env = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_HOST"}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0 and "pulse.W001" in result.stderr


def test_redis_url_switches_broker_and_cache_and_leaves_the_embedded_worker_out():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER, s.EMBEDDED_WORKER, s.CACHES['default']['BACKEND'])"
    )
    clean = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"DJANGO_SETTINGS_MODULE": "config.settings"}

    def read(env):
        return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True).stdout

    with_redis = read({**clean, "REDIS_URL": "redis://127.0.0.1:6379/3"}).split()
    assert with_redis == ["redis://127.0.0.1:6379/3", "False", "False", "config.redis_cache.RedisCache"]
    embedded = ["memory://localhost/", "True", "True", "django.core.cache.backends.locmem.LocMemCache"]
    assert read(clean).split() == embedded


def test_collectstatic_succeeds_in_production_mode(tmp_path):
    """The manifest storage rewrites every reference a static file makes (Chart.js names its source map):
    a missing target fails collectstatic, and without collected files every production page is a 500."""
    import json

    result = run_manage("collectstatic", "--noinput", env=PRODUCTION | {"STATIC_ROOT": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    chart = paths["vendor/chartjs/chart.umd.min.js"]
    source_map = paths["vendor/chartjs/chart.umd.min.js.map"]
    assert (tmp_path / chart).read_text().rstrip().endswith(f"sourceMappingURL={source_map.rsplit('/', 1)[1]}")
    assert (tmp_path / paths["vendor/htmx/htmx.min.js"]).exists()


@pytest.mark.django_db
def test_healthz_is_not_redirected_to_https_for_load_balancers(client, settings):
    """Load balancers check over plain http, without X-Forwarded-Proto; every other page goes to https."""
    settings.SECURE_SSL_REDIRECT = True  # as with DEBUG=false; the exemption is the configured one
    assert client.get("/healthz").status_code == 200
    login = client.get("/login/")
    assert login.status_code == 301 and login["Location"] == "https://testserver/login/"
