"""The daemon: poll -> enrich -> decide -> outbox -> push, the deadline sweeper, run/once/demo."""
