"""The loaded measurements: campaign sending through real Celery workers to a local SMTP sink (and its
floor, smtplib alone), the public answer page on gunicorn under concurrent requests from 127.0.0.1 beside
a minimal view and the answer page's floor, and webhook delivery; each bounded in time."""

import http.client
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.db import transaction

from accounts.models import Contact
from surveys import services
from surveys.models import Campaign, Invitation, Survey

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_NAME = "Bench campaign"
LOAD_SECONDS = 8
CLIENT_PROCESSES = 5
THREADS = 10  # 50 concurrent clients


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Sink:
    """Counts what arrives; stores nothing."""

    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


def _env(**extra) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONUNBUFFERED": "1", **extra}


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")


def _worker(processes: int, **env: str) -> subprocess.Popen:
    """A Celery worker (prefork, `processes` children) on both queues of CELERY_QUEUE, returned once it
    answers a ping: the clock of a measurement starts on a ready worker."""
    from config.celery import app

    hostname = f"bench-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", f"--concurrency={processes}", "--loglevel=WARNING",
         "--hostname", hostname, "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=_env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait(lambda: bool(app.control.ping(destination=[hostname], timeout=1)), 60, "the worker's start")
    return worker


def _peak_mb(pid: int) -> float:
    """The highest peak resident memory (VmHWM) of a process and its children, in MB (Linux; 0 elsewhere)."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:  # the process ended meanwhile
            continue
        if int(status.parent.name) == pid or int(fields.get("PPid", "0").strip()) == pid:
            peaks.append(int(fields.get("VmHWM", "0 kB").split()[0]) / 1024)
    return max(peaks, default=0.0)


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    worker.wait(timeout=30)


def measure_recompute_workers(*, record, say, accounts: int, chunk: int) -> None:
    """The nightly recompute queued as chunks (health_recompute_queue) on one Celery worker process, then two."""
    from django.utils import timezone

    from scoring.models import HealthSnapshot
    from scoring.services import health_recompute_queue

    say(f"Health recompute as chunks of {chunk:,} accounts on a Celery worker (1 process, then 2)")
    seconds, peaks = {}, {}
    for processes in (1, 2):
        worker = _worker(processes)  # the chunks' size is this process's: it queues them
        try:
            started_at, started = timezone.now(), time.perf_counter()
            chunks = health_recompute_queue(alert=False)
            fresh = HealthSnapshot.objects.filter(date=timezone.localdate(), computed_at__gte=started_at)
            _wait(lambda fresh=fresh: fresh.count() >= accounts, 1800, "the chunked recompute")
            seconds[processes] = time.perf_counter() - started
            peaks[processes] = _peak_mb(worker.pid)
        finally:
            _stop(worker)
    record("recompute as chunks: chunks queued", f"{chunks:,}")
    record("recompute as chunks: 1 worker process / 2", f"{seconds[1]:.2f} s / {seconds[2]:.2f} s")
    ratio = seconds[2] / seconds[1]
    record("recompute as chunks: 2 processes / 1 (time)", f"{ratio:.2f}", "≤ 0.65", ratio <= 0.65)
    peak = max(peaks.values())
    record("recompute as chunks: peak memory of a worker process", f"{peak:.0f} MB", "< 500 MB", peak < 500)


def measure_sending(*, record, say, processes: int) -> float:
    """Sends a campaign to every active account's primary contact; returns the emails per second."""
    from aiosmtpd.controller import Controller

    say(f"Campaign sending (every primary contact, Celery worker with {processes} process(es), SMTP on 127.0.0.1)")
    # The previous run's campaign (benchmark data only: survey history is protected everywhere else).
    Invitation.objects.filter(campaign__name=CAMPAIGN_NAME).delete()
    Campaign.objects.filter(name=CAMPAIGN_NAME).delete()
    sink, port = _Sink(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    worker = _worker(processes, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port), SURVEY_SEND_BATCH_SIZE="250")
    try:
        campaign = Campaign.objects.create(
            name=CAMPAIGN_NAME, survey=Survey.objects.get(kind="nps"), audience=Campaign.Audience.ALL
        )
        audience = Contact.objects.filter(is_primary=True, account__status="active").count()
        started = time.perf_counter()
        with transaction.atomic():
            count = services.campaign_send(campaign=campaign)
        _wait(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, 900, "the campaign")
        elapsed = time.perf_counter() - started
    finally:
        _stop(worker)
        controller.stop()
    sent = Invitation.objects.filter(campaign=campaign, status=Invitation.Status.SENT).count()
    what = f"sending, {processes} worker process{'es' if processes > 1 else ''}"
    record(f"{what}: invitations sent / received by SMTP", f"{sent:,} / {sink.received:,} of {audience:,}")
    record(f"{what}: emails per second", f"{count / elapsed:.0f}/s", "≥ 200/s", count / elapsed >= 200)
    return count / elapsed


FLOOR_EMAILS = 10_000


def measure_sending_floor(*, record, say, one: float | None = None, two: float | None = None) -> float:
    """The floor for sending: one invitation email built by the project's builder, its bytes sent
    FLOOR_EMAILS times over one SMTP connection (smtplib) to the same sink, no database in the loop.
    `one` and `two` are Pulse's emails per second with one worker process and two (measure_sending's)."""
    import smtplib

    from aiosmtpd.controller import Controller
    from django.conf import settings

    from surveys.emails import invitation_message

    say(f"Sending floor ({FLOOR_EMAILS:,} copies of one invitation email, one SMTP connection on 127.0.0.1)")
    invitations = Invitation.objects.select_related("campaign__survey", "contact").order_by("pk")
    invitation = invitations.filter(campaign__name=CAMPAIGN_NAME).first() or invitations.first()
    message = invitation_message(invitation)
    data = message.message().as_bytes(linesep="\r\n")
    sender, recipients = message.from_email or settings.DEFAULT_FROM_EMAIL, message.recipients()
    sink, port = _Sink(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for _ in range(FLOOR_EMAILS):
                smtp.sendmail(sender, recipients, data)
        elapsed = time.perf_counter() - started
    finally:
        controller.stop()
    floor = FLOOR_EMAILS / elapsed
    record("sending floor: emails per second (smtplib, one connection)", f"{floor:.0f}/s, {len(data):,} bytes each")
    record("sending floor: received by SMTP", f"{sink.received:,} of {FLOOR_EMAILS:,}")
    if one is not None:
        record("sending: Pulse with 1 worker process / floor", f"{one / floor:.2f}", "≥ 0.5", one / floor >= 0.5)
    if one is not None and two is not None:
        record("sending: 2 worker processes / 1 (emails per second)", f"{two / one:.2f}", "≥ 1.6", two / one >= 1.6)
    return floor


def _requests(port: int, paths: list[str], seconds: float, seed: int) -> list[float]:
    """One client: sequential requests for `seconds`; returns each answered (200) request's latency in ms."""
    rng = random.Random(seed)
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path = rng.choice(paths)
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):  # refused or reset under load: not an answer, not a crash
            continue
        finally:
            connection.close()
        if response.status == 200:
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _client_process(args) -> list[float]:
    """One load process: THREADS clients at once (waiting on the socket, so threads suffice)."""
    from concurrent.futures import ThreadPoolExecutor

    port, paths, seconds, seed = args
    with ThreadPoolExecutor(THREADS) as pool:
        runs = pool.map(lambda n: _requests(port, paths, seconds, seed * THREADS + n), range(THREADS))
        return [latency for run in runs for latency in run]


def _load(port: int, paths: list[str]) -> tuple[float, float]:
    """(requests per second, p95 in ms) of CLIENT_PROCESSES x THREADS clients for LOAD_SECONDS."""
    with multiprocessing.get_context("spawn").Pool(CLIENT_PROCESSES) as pool:
        results = pool.map(_client_process, [(port, paths, LOAD_SECONDS, seed) for seed in range(CLIENT_PROCESSES)])
    latencies = sorted(latency for result in results for latency in result)
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    return len(latencies) / LOAD_SECONDS, p95


def measure_answer_endpoint(*, record, say) -> None:
    clients = CLIENT_PROCESSES * THREADS
    say(f"Public answer page on gunicorn ({clients} concurrent clients for {LOAD_SECONDS} s each run)")
    tokens = list(
        Invitation.objects.filter(campaign__name=CAMPAIGN_NAME, status=Invitation.Status.SENT).values_list(
            "token", flat=True
        )[:2000]
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "4", "--log-level", "warning"],  # as the README's production command
        cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(lambda: _answers(port), 30, "gunicorn")
        answer_rps, answer_p95 = _load(port, [f"/s/{token}/?score=7" for token in tokens])
        floor_rps, floor_p95 = _load(port, [f"/bench/answer-floor/{token}/" for token in tokens])
        minimal_rps, minimal_p95 = _load(port, ["/bench/minimal/"])
    finally:
        server.terminate()
        server.wait(timeout=30)
    record("answer page: requests/s, p95", f"{answer_rps:.0f}/s, {answer_p95:.0f} ms")
    record("answer floor (read by token, small template): requests/s, p95", f"{floor_rps:.0f}/s, {floor_p95:.0f} ms")
    record("minimal Django view: requests/s, p95", f"{minimal_rps:.0f}/s, {minimal_p95:.0f} ms")
    record("answer page / minimal view throughput", f"{answer_rps / minimal_rps:.2f}")
    ratio = answer_rps / floor_rps
    record("answer page / floor throughput", f"{ratio:.2f}", "≥ 0.5", ratio >= 0.5)
    record("answer page / floor p95", f"{answer_p95 / floor_p95:.1f}×", "≤ 5×", answer_p95 / floor_p95 <= 5)


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/bench/minimal/")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


WEBHOOK_EVENTS = 2000
WEBHOOK_ENDPOINT = "Bench receiver"


def measure_webhooks(*, record, say) -> None:
    import http.server
    import threading

    from accounts.models import Account
    from webhooks.models import Delivery, Endpoint, EventType
    from webhooks.outbox import events_record

    say(f"Webhook delivery ({WEBHOOK_EVENTS:,} events, Celery worker with 2 processes, receiver on 127.0.0.1)")
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(self.headers["webhook-id"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _webhooks_clear()  # the previous run's, if it was interrupted
    endpoint = Endpoint.objects.create(
        name=WEBHOOK_ENDPOINT,
        url=f"http://127.0.0.1:{server.server_address[1]}/hooks",
        event_types=[EventType.HEALTH_DROPPED],
    )
    worker = _worker(2, WEBHOOK_ALLOW_PRIVATE="true")
    try:
        accounts = list(Account.objects.order_by("pk")[:WEBHOOK_EVENTS])
        started = time.perf_counter()
        with transaction.atomic():
            events_record(
                type=EventType.HEALTH_DROPPED,
                items=[(account, {"drop": 12, "score": 38, "peak": 50}) for account in accounts],
            )
        recorded = time.perf_counter() - started
        deliveries = Delivery.objects.filter(endpoint=endpoint)
        _wait(lambda: not deliveries.exclude(status=Delivery.Status.DELIVERED).exists(), 300, "the deliveries")
        elapsed = time.perf_counter() - started
    finally:
        _stop(worker)
        server.shutdown()
        server.server_close()
    delivered = deliveries.count()
    record("webhooks: events recorded (one transaction), then queued", f"{len(accounts):,} in {recorded:.2f} s")
    record("webhooks: delivered / received, each once", f"{delivered:,} / {len(set(received)):,} of {len(received):,}")
    record("webhooks: deliveries per second", f"{delivered / elapsed:.0f}/s")
    _webhooks_clear()


def _webhooks_clear() -> None:
    from webhooks.models import Endpoint, Event

    Event.objects.filter(deliveries__endpoint__name=WEBHOOK_ENDPOINT).delete()
    Endpoint.objects.filter(name=WEBHOOK_ENDPOINT).delete()
