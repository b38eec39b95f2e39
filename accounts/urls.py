from django.urls import path

import accounts.notification_views as notification_views
from accounts import data_views, outbox_views, people_views, views

app_name = "accounts"

urlpatterns = [
    path("accounts/", views.account_list_view, name="list"),
    path("accounts/new/", views.account_create, name="create"),
    path("accounts/import/", data_views.account_import, name="import"),
    path("accounts/<int:account_id>/edit/", views.account_edit, name="edit"),
    path("accounts/<int:account_id>/contacts/", views.contact_add, name="contact_add"),
    path("accounts/<int:account_id>/contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("accounts/<int:account_id>/contacts/<int:contact_id>/archive/", views.contact_archive, name="contact_archive"),
    path("accounts/<int:account_id>/checkins/", views.checkin_add, name="checkin_add"),
    path("imports/<int:job_id>/", data_views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/problems.csv", data_views.import_errors, name="import_errors"),
    path("metrics/", data_views.metric_list, name="metrics"),
    path("metrics/import/", data_views.metric_import, name="metric_import"),
    path("settings/api-tokens/", data_views.token_list, name="tokens"),
    path("settings/api-tokens/<int:token_id>/revoke/", data_views.token_revoke, name="token_revoke"),
    path("api/v1/metrics", data_views.metrics_api, name="metrics_api"),
    path("outbox/", outbox_views.outbox, name="outbox"),
    path("outbox/<str:name>/", outbox_views.outbox_message, name="outbox_message"),
    path("outbox/<str:name>/html/", outbox_views.outbox_message_html, name="outbox_message_html"),
    path("people/", people_views.person_list, name="people"),
    path("people/invite/", people_views.person_invite, name="person_invite"),
    path("people/<int:person_id>/", people_views.person_detail, name="person_detail"),
    path("people/<int:person_id>/resend-invitation/", people_views.invite_resend, name="invite_resend"),
    path("people/<int:person_id>/deactivate/", people_views.person_deactivate, name="person_deactivate"),
    path("people/<int:person_id>/reactivate/", people_views.person_reactivate, name="person_reactivate"),
    path("people/<int:person_id>/reassign/", people_views.accounts_reassign, name="accounts_reassign"),
    path("teams/", people_views.team_list, name="teams"),
    path("teams/<int:team_id>/", people_views.team_detail, name="team_detail"),
    path("teams/<int:team_id>/archive/", people_views.team_archive, name="team_archive"),
    path("settings/company/", people_views.company, name="company"),
    path("invitation/<uidb64>/<token>/", people_views.InviteAcceptView.as_view(), name="invite_accept"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read/", notification_views.notifications_read, name="notifications_read"),
    # The signed-in user's morning email switch (the form is on the notifications page).
    path("me/morning-email/", notification_views.morning_email_toggle, name="morning_email_toggle"),
]
