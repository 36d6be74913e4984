"""The ritual engine and the ritual kinds: knows nothing of Slack, Teams, HTTP or SQL."""
