from django.urls import path

from playbooks import setup_views, views

app_name = "playbooks"

urlpatterns = [
    path("tasks/", views.task_list, name="task_list"),
    path("accounts/<int:account_id>/tasks/add/", views.task_add, name="task_add"),
    *[
        path(f"tasks/<int:task_id>/{action}/", views.task_action, {"action": action}, name=f"task_{action}")
        for action in ("complete", "snooze", "reassign", "cancel")
    ],
    path("tasks/<int:task_id>/steps/<int:index>/", views.task_step, name="task_step"),
    path("setup/rules/", setup_views.rule_list, name="rule_list"),
    path("setup/rules/new/", setup_views.rule_edit, name="rule_new"),
    path("setup/rules/<int:rule_id>/", setup_views.rule_edit, name="rule_edit"),
    path("setup/playbooks/new/", setup_views.playbook_edit, name="playbook_new"),
    path("setup/playbooks/<int:playbook_id>/", setup_views.playbook_edit, name="playbook_edit"),
]
