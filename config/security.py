"""The Content-Security-Policy header, on every response, whatever DEBUG says (so tests see violations).

Django 5.2 has no CSP of its own. The policy allows only our own files: no inline script,
no eval, no inline style, no plugins, no framing. It holds because behaviour lives in
static/js (data reaches it through json_script, an inert application/json block), htmx is
told not to eval or inject its indicator <style> (the htmx-config meta in base.html), and
Chart.js and our scripts size things through the CSSOM (element.style), which CSP does not
restrict. Django 5.2's admin needs no exception: its scripts are files and their constants
data attributes (the browser tests open it).
"""

from django.conf import settings
from django.utils.cache import patch_cache_control

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code in (404, 500):
            # With DEBUG on these are Django's technical error pages, made of inline <style> and
            # <script>: under the policy a developer would get them unstyled and inert.
            return response
        # A response that already has a policy keeps it: the outbox frames an email's own HTML
        # under a policy of its own (accounts/data_views.py).
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class PrivateResponsesMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in user: pages and CSV exports
    hold customer data that no shared proxy and no browser cache may keep (a shared computer's back
    button, a disk cache). Placed after AuthenticationMiddleware; anonymous pages (the login page,
    public survey pages) keep their own headers, and WhiteNoise answers static files before this runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
