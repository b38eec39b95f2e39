"""Real services for tests/integration: PostgreSQL, Redis and a Celery worker process.

Each fixture skips with a reason when its service is absent, so the suite runs
anywhere; CI sets DATABASE_URL and REDIS_URL (and CI=true turns any skip into a failure).
"""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from config.queues import send_queue_name
from tests.brokers import drop_connection_pools

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT = 30


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets fixtures see at teardown whether the test failed (to dump the worker's log).
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request) -> bool:
    return any(
        getattr(request.node, f"rep_{when}", None) and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )


def wait_until(condition, *, timeout: float = 60, what: str = "the condition") -> None:
    """Poll `condition` until it holds; fail saying `what` did not happen within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout}s")


@pytest.fixture
def postgres():
    """The default database is PostgreSQL, or the test is skipped."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.skip(f"DATABASE_URL does not point at PostgreSQL (engine is {engine})")


@pytest.fixture
def redis_url() -> str:
    """REDIS_URL, when it is set and a Redis server answers PING there; otherwise the test is skipped."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("REDIS_URL is not set")
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis answers PING at REDIS_URL ({exc})")
    finally:
        client.close()
    return url


@pytest.fixture
def broker_url(redis_url) -> str:
    """The Redis the test's workers use as broker and cache; a module may point it at its own server."""
    return redis_url


class RedisServer:
    """A redis-server process of the test's own, on a free port, that the test can take down and bring back."""

    def __init__(self, executable: str, log_path: Path):
        self.executable = executable
        self.log_path = log_path
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [self.executable, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        with self.log_path.open("a") as log_file:
            self.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """Down at once, as a crash would take it (it keeps nothing on disk, so it comes back empty)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)  # a frozen server dies on SIGKILL too; this keeps wait() short
        self.process.kill()
        self.process.wait()

    def freeze(self) -> None:
        """Hung, as a VM pause or a stuck server would leave it: connections are accepted, nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def redis_server(redis_url, tmp_path):
    """A Redis of the test's own (needs redis-server, like the shared one at REDIS_URL)."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(executable, tmp_path / "redis-server.log")
    server.start()
    yield server
    if server.process.poll() is None:
        server.kill()


def _database_url(db: dict) -> str:
    """The postgres:// URL of the database Django is using now (the test database, during tests)."""
    credentials = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{'@' if credentials else ''}{host}{port}/{quote(db['NAME'], safe='')}"


class PostgresProxy:
    """A TCP proxy to the test database's server, for the app's processes, that can imitate a restart.

    The app's processes (gunicorn, Celery workers) reach PostgreSQL through `url`; the test process keeps
    its direct connection, and the shared server is never touched. `restart(down_for)` does what a
    restarting server does to its clients: it ends their sessions (pg_terminate_backend, so they read
    PostgreSQL's own "terminating connection due to administrator command") and refuses connections
    for `down_for` seconds.
    """

    def __init__(self, db: dict):
        self.upstream = (db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))
        self._lock = threading.Lock()
        self._upstream_ports: set[int] = set()
        self._listener = self._listen(0)
        self.port = self._listener.getsockname()[1]
        self.url = _database_url({**db, "HOST": "127.0.0.1", "PORT": self.port})
        self.restarts = 0
        self.down = threading.Event()  # set while the imitated server is down
        self._accepting = threading.Thread(target=self._accept, args=(self._listener,), daemon=True)
        self._accepting.start()

    def restart(self, down_for: float = 0.5) -> int:
        """End every session that came through the proxy and refuse new ones for `down_for` seconds.
        Returns how many sessions were ended."""
        self._stop_listening()  # connection refused, as while the server is down
        with self._lock:
            ports = sorted(self._upstream_ports)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE client_port = ANY(%s) AND client_addr IN ('127.0.0.1', '::1') AND pid <> pg_backend_pid()",
                [ports],
            )
            ended = cursor.fetchone()[0]
        self.down.set()
        time.sleep(down_for)
        self._listener = self._listen(self.port)
        self.down.clear()
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        self.restarts += 1
        return ended

    def close(self) -> None:
        if self._listener is not None:
            self._stop_listening()

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept(); close() alone would not
        listener.close()

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        return listener

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: a restart, or the end of the test
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            port = server.getsockname()[1]
            with self._lock:
                self._upstream_ports.add(port)
            threading.Thread(target=self._pipe, args=(client, server, port), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, port), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, port: int) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._upstream_ports.discard(port)
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()


@pytest.fixture
def postgres_proxy(postgres, transactional_db):
    """A PostgresProxy to the test database; point the app's processes at its `url`."""
    proxy = PostgresProxy(settings.DATABASES["default"])
    yield proxy
    proxy.close()


class Worker:
    """A `celery worker` subprocess consuming the test's queues, in a process group of its own (to kill it whole)."""

    def __init__(self, queue: str, log_path: Path):
        self.queue = queue
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_task(self, task_id: str, timeout: float = 30) -> None:
        """Block until the worker logs that this task finished (it logs every task it runs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if f"[{task_id}] succeeded" in log:
                return
            if f"[{task_id}] raised" in log:
                raise AssertionError(f"task {task_id} raised in the worker:\n{log}")
            self._check_alive()
            time.sleep(0.2)
        raise AssertionError(f"task {task_id} did not finish within {timeout}s")

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would: no warm shutdown, nothing acknowledged."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def _check_alive(self) -> None:
        if self.exited():
            raise AssertionError(f"the celery worker exited with {self.process.returncode}:\n{self.log()}")


@pytest.fixture
def worker_env() -> dict[str, str]:
    """Extra environment for the worker process; override it in a test module (e.g. SMTP settings)."""
    return {}


@pytest.fixture
def start_worker(_tasks_in_process, transactional_db, postgres, broker_url, worker_env, tmp_path, request):
    """start_worker(**env) -> a new real Celery worker (solo pool) on this test's own queues (the default one and
    its send queue), reading the test database. It is started without -Q, as production's plain worker is.

    Requested after `_tasks_in_process` so its settings win over the in-process (eager) mode
    for the test. The test process publishes to the workers' queue through Redis. Tests need
    `transactional_db` (requested here too) so the workers see committed rows. Every worker
    started is stopped at teardown, and its log printed if the test failed.
    """
    queue = f"pulse-test-{uuid.uuid4().hex[:12]}"
    workers: list[Worker] = []
    saved = {name: celery_app.conf[name] for name in ("task_always_eager", "broker_url", "task_default_queue")}
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = broker_url
    celery_app.conf.task_default_queue = queue
    drop_connection_pools()

    def start(**extra_env: str) -> Worker:
        number = len(workers) + 1
        worker = Worker(queue, tmp_path / f"celery-worker-{number}.log")
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(settings.DATABASES["default"]),
            "REDIS_URL": broker_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
            "CELERY_QUEUE": queue,  # tasks the worker queues itself stay on its own queue
            **worker_env,
            **extra_env,
        }
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--pool=solo", "--concurrency=1", "--hostname", f"{queue}-{number}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
        ]  # fmt: skip
        with worker.log_path.open("w") as log_file:
            worker.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        workers.append(worker)
        _wait_until_ready(worker, f"{queue}-{number}@{socket.gethostname()}")
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
        if _failed(request):
            for worker in workers:
                print(f"\n----- celery worker log ({worker.log_path.name}) -----\n{worker.log()}----- end -----")
        for name, value in saved.items():
            celery_app.conf[name] = value
        drop_connection_pools()
        for name in (queue, send_queue_name(queue)):
            _delete_queue(broker_url, name)


@pytest.fixture
def celery_worker(start_worker):
    """One real Celery worker for the test (see `start_worker`)."""
    return start_worker()


def _wait_until_ready(worker: Worker, hostname: str) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        worker._check_alive()
        if "ready." in worker.log() and _ping(hostname):
            return
        time.sleep(0.2)
    worker.process.kill()
    pytest.fail(f"the celery worker was not ready within {WORKER_START_TIMEOUT}s:\n{worker.log()}")


def _ping(hostname: str) -> bool:
    try:
        return bool(celery_app.control.ping(destination=[hostname], timeout=1))
    except redis.ConnectionError:  # a connection from before a Redis restart: the next ping opens a new one
        return False


def _delete_queue(url: str, queue: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        # The queue's list and the bindings kombu keeps for it (key names vary by kombu version).
        keys = [queue, *client.scan_iter(match=f"_kombu.*{queue}*")]
        client.delete(*keys)
    finally:
        client.close()


def http_request(port: int, method: str, path: str, body: str = "", timeout: float = 10) -> tuple[int, str]:
    """One request to the server on `port`: (status, body), or (0, "") if it did not answer within `timeout`."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        client.request(method, path, body=body or None, headers=headers)
        response = client.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError:
        return 0, ""


@pytest.fixture
def start_gunicorn(transactional_db, postgres, tmp_path, settings):
    """start_gunicorn(workers=1, **env) -> the port of the app served by gunicorn, as in production, on the
    test database; without REDIS_URL in `env` it has no Redis (tasks in-process). Stopped at teardown."""
    processes: list[subprocess.Popen] = []

    def start(*, workers: int = 1, **extra_env: str) -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": _database_url(settings.DATABASES["default"]),
            "DB_CONN_MAX_AGE": "600",  # the same connection serves every request, until it is dropped
        }
        env.pop("REDIS_URL", None)
        env.update(extra_env)
        log_path = tmp_path / f"gunicorn-{len(processes) + 1}.log"
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(workers), "--log-level", "warning"],
                cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            )  # fmt: skip
        processes.append(process)
        deadline = time.monotonic() + 30
        while http_request(port, "GET", "/healthz", timeout=2)[0] != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        return port

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
