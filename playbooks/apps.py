from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    """Tasks, playbooks and the rules that turn a signal into an owned next step."""

    name = "playbooks"
    verbose_name = "Tasks and playbooks"

    def ready(self):
        from playbooks import receivers
        from scoring.signals import health_recomputed
        from surveys.signals import answers_followed_up, contact_erased

        # The passes that notice a signal evaluate the rules of its triggers on the accounts they touched.
        health_recomputed.connect(receivers.health_recomputed, dispatch_uid="playbooks-health-recomputed")
        answers_followed_up.connect(receivers.answers_followed_up, dispatch_uid="playbooks-answers-followed-up")
        # An erased contact's name and words leave the task reasons (and their notifications and events) too.
        contact_erased.connect(receivers.contact_erased, dispatch_uid="playbooks-contact-erased")
