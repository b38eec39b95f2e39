"""An event as a Slack incoming-webhook message: `text` (notifications, fallbacks) and `blocks`."""

from django.conf import settings

from webhooks.models import EventType


def _escape(text) -> str:
    """Slack's mrkdwn escapes: the three characters that start links and mentions."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _headline(event_type: str, data: dict) -> str:
    name = _escape(data.get("account", {}).get("name", ""))
    if event_type == EventType.HEALTH_BAND_CHANGED:
        return f"{name}: health moved from {_escape(data.get('previous_band'))} to {_escape(data.get('band'))}"
    if event_type == EventType.HEALTH_DROPPED:
        return f"{name}: health dropped {_escape(data.get('drop'))} points to {_escape(data.get('score'))}"
    if event_type in (EventType.RESPONSE_RECEIVED, EventType.RESPONSE_LOW_SCORE):
        who = _escape(data.get("contact", {}).get("name") or "A contact")
        return f"{name}: {who} answered {_escape(data.get('kind', '').upper())} {_escape(data.get('score'))}"
    if event_type == EventType.CAMPAIGN_FINISHED:
        return f"Campaign {_escape(data.get('name'))} finished: {_escape(data.get('sent'))} sent"
    title = data.get("title")
    label = EventType(event_type).label if event_type in EventType.values else event_type
    return f"{name}: {label}" + (f": {_escape(title)}" if title else "")


def slack_message(payload: dict) -> dict:
    """The Slack body for one event payload ({"type", "timestamp", "data"})."""
    data = payload.get("data", {})
    headline = _headline(payload["type"], data)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}}]
    if data.get("comment"):
        quoted = "\n".join("> " + line for line in _escape(data["comment"])[:2000].splitlines())
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": quoted}})
    account = data.get("account")
    if account:
        link = f"<{account['url']}|Open {_escape(account['name'])} in {_escape(settings.PRODUCT_NAME)}>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    return {"text": headline, "blocks": blocks}
