"""Who may open a page beyond their scope: the role checks views of every app share."""

import functools

from django.contrib.auth.decorators import login_required
from django.http import Http404


def admin_required(view):
    """Admin pages answer 404 to everyone else, like any object outside a user's scope."""

    @functools.wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_admin:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
