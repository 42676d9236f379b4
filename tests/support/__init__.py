"""Real local stand-ins for the outside world used by the tests: Slack and SMTP servers."""
