from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.forms import LoginForm, ThrottledPasswordResetForm
from accounts.ratelimit import rate_limit
from config import views

# Per client address, over the login page and the Django admin's: only posts (attempts) count.
login_rate_limit = rate_limit(
    "login", limit_setting="LOGIN_RATE_LIMIT_PER_MINUTE", template="429.html", methods=("POST",)
)
# Reset requests per client address, at the login's rate; each address also gets one email per five minutes.
password_reset_rate_limit = rate_limit(
    "password-reset", limit_setting="LOGIN_RATE_LIMIT_PER_MINUTE", template="429.html", methods=("POST",)
)

auth_patterns = [
    path(
        "login/",
        login_rate_limit(auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        password_reset_rate_limit(
            auth_views.PasswordResetView.as_view(
                form_class=ThrottledPasswordResetForm, extra_email_context={"PRODUCT_NAME": settings.PRODUCT_NAME}
            )
        ),
        name="password_reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    *auth_patterns,
    path("", include("dashboards.urls")),  # before accounts: /accounts/<id>/ is the dashboards account page
    path("", include("accounts.urls")),
    path("", include("surveys.urls")),
    path("", include("scoring.urls")),
    path("", include("playbooks.urls")),
    path("", include("renewals.urls")),
    path("", include("webhooks.urls")),
    path("admin/login/", login_rate_limit(admin.site.login)),  # before the admin's own, which it wraps
    path("admin/", admin.site.urls),
]
