"""Slack: a bolt ``AsyncApp`` at ``POST /slack/events`` and a ``Platform`` over the Web API."""
