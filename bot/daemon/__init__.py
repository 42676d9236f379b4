"""The daemon: scheduling of polls, digests and outbox retries; logging; progress; health."""
