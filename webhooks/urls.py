from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("settings/webhooks/", views.endpoint_list, name="endpoint_list"),
    path("settings/webhooks/new/", views.endpoint_create, name="endpoint_create"),
    path("settings/webhooks/<int:endpoint_id>/", views.endpoint_deliveries, name="endpoint_deliveries"),
    path("settings/webhooks/<int:endpoint_id>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("settings/webhooks/deliveries/<int:delivery_id>/", views.delivery_detail, name="delivery_detail"),
    path(
        "settings/webhooks/deliveries/<int:delivery_id>/send-again/",
        views.delivery_send_again,
        name="delivery_send_again",
    ),
]
