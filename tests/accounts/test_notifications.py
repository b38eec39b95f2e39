"""In-app notifications: the user's own list, newest first, unread highlighted; mark all as read; the bell."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone

from accounts.context_processors import notifications
from accounts.models import Notification
from tests.factories import NotificationFactory
from tests.helpers import HTMX


@pytest.fixture(autouse=True)
def _frozen():
    # A Monday morning; time runs on, so notifications created one after the other keep their order.
    with time_machine.travel(datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)):
        yield


def test_list_shows_only_my_notifications_newest_first_with_links(alice, bob, login):
    older = NotificationFactory(user=alice, title="Older alert", url="/accounts/1/")
    newer = NotificationFactory(user=alice, title="Newer alert", url="/accounts/2/", body="They are unhappy.")
    NotificationFactory(user=bob, title="Bob's alert")
    Notification.objects.filter(pk=older.pk).update(created_at=timezone.now() - datetime.timedelta(days=2))
    html = login(alice).get("/notifications/").content.decode()
    assert html.index("Newer alert") < html.index("Older alert")
    assert '<a href="/accounts/2/">Newer alert</a>' in html and "They are unhappy." in html
    assert "Bob&#x27;s alert" not in html
    assert newer.title in html


def test_unread_are_highlighted_and_counted(alice, login):
    NotificationFactory(user=alice, title="Unread one")
    NotificationFactory(user=alice, title="Read one", read_at=timezone.now())
    html = login(alice).get("/notifications/").content.decode()
    assert html.count('class="notification is-unread"') == 1
    assert "1 unread · 2 in total" in html and "Mark all as read" in html


def test_list_needs_a_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_empty_list_says_what_will_come(alice, login):
    html = login(alice).get("/notifications/").content.decode()
    assert "No notifications yet." in html and "Mark all as read" not in html


def test_mark_all_read_marks_only_mine_and_redirects_without_script(alice, bob, login):
    NotificationFactory.create_batch(2, user=alice)
    NotificationFactory(user=bob)
    response = login(alice).post("/notifications/read/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=bob, read_at__isnull=True).count() == 1


def test_mark_all_read_keeps_the_first_read_time(alice, login):
    first_read = timezone.now() - datetime.timedelta(days=3)
    read = NotificationFactory(user=alice, read_at=first_read)
    login(alice).post("/notifications/read/")
    read.refresh_from_db()
    assert read.read_at == first_read


def test_mark_all_read_with_htmx_returns_the_list_and_the_bell_out_of_band(alice, login):
    NotificationFactory(user=alice, title="Low score")
    response = login(alice).post("/notifications/read/", headers=HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200 and "<html" not in fragment
    assert fragment.strip().startswith('<section id="notifications"')
    assert 'id="bell"' in fragment and 'hx-swap-oob="true"' in fragment and "bell-count" not in fragment
    assert "All read" in fragment and 'class="notification is-unread"' not in fragment


def test_mark_all_read_is_post_only(alice, login):
    assert login(alice).get("/notifications/read/").status_code == 405


def test_bell_shows_the_unread_count_on_every_page(alice, login):
    NotificationFactory.create_batch(3, user=alice)
    NotificationFactory(user=alice, read_at=timezone.now())
    html = login(alice).get("/accounts/").content.decode()
    assert 'href="/notifications/"' in html
    assert '<span class="bell-count">3</span>' in html and "Notifications, 3 unread" in html


def test_bell_has_no_count_when_all_is_read(alice, login):
    NotificationFactory(user=alice, read_at=timezone.now())
    html = login(alice).get("/accounts/").content.decode()
    assert 'href="/notifications/"' in html and "bell-count" not in html


def test_context_processor_counts_in_one_query(alice, django_assert_num_queries):
    NotificationFactory.create_batch(2, user=alice)
    request = RequestFactory().get("/")
    request.user = alice
    with django_assert_num_queries(1):
        assert notifications(request) == {"unread_notifications": 2}


def test_context_processor_asks_nothing_for_anonymous_users(db, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert notifications(request) == {"unread_notifications": 0}
