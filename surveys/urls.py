from django.urls import path

from surveys import (
    answer_views,
    campaign_views,
    erasure_views,
    feedback_views,
    reply_template_views,
    results_views,
)

app_name = "surveys"

urlpatterns = [
    # Public pages reached from a survey email: the token is the only key.
    path("s/<str:token>/", answer_views.answer, name="answer"),
    path("s/<str:token>/opt-out/", answer_views.opt_out, name="opt_out"),
    # Surveys and campaigns (admins).
    path("surveys/", campaign_views.survey_list, name="survey_list"),
    path("surveys/new/", campaign_views.survey_edit, name="survey_create"),
    path("surveys/<int:survey_id>/edit/", campaign_views.survey_edit, name="survey_edit"),
    path("campaigns/", campaign_views.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaign_views.campaign_create, name="campaign_create"),
    path("campaigns/<int:campaign_id>/", campaign_views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/send/", campaign_views.campaign_send, name="campaign_send"),
    path("campaigns/<int:campaign_id>/retry-failed/", campaign_views.campaign_retry_failed, name="campaign_retry"),
    path(
        "campaigns/<int:campaign_id>/resend-uncertain/",
        campaign_views.campaign_resend_uncertain,
        name="campaign_resend_uncertain",
    ),
    # Erasing a person's personal data (admins): their answers are survey history, so it lives here.
    path(
        "accounts/<int:account_id>/contacts/<int:contact_id>/erase/", erasure_views.contact_erase, name="contact_erase"
    ),
    # Results and feedback (everyone, within their scope).
    path("results/", results_views.results, name="results"),
    path("results/export.csv", results_views.results_export, name="results_export"),
    path("results/import/", results_views.answers_import, name="answers_import"),
    path("feedback/", feedback_views.feedback_list, name="feedback_list"),
    path("feedback/<int:response_id>/", feedback_views.feedback_update, name="feedback_update"),
    path("feedback/<int:response_id>/view/", feedback_views.feedback_item, name="feedback_item"),
    path("feedback/<int:response_id>/reply/", feedback_views.feedback_reply, name="feedback_reply"),
    # Reply templates (admins).
    path("reply-templates/", reply_template_views.reply_template_list, name="reply_template_list"),
    path("reply-templates/<int:template_id>/", reply_template_views.reply_template_edit, name="reply_template_edit"),
]
