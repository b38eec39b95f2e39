"""Template context for every page: the unread notification count in the top bar."""

from accounts.models import Notification


def notifications(request):
    """{"unread_notifications": n}: one COUNT query for a signed-in user, none otherwise."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": Notification.objects.filter(user=user, read_at__isnull=True).count()}
