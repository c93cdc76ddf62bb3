"""Retention, legal holds and lawful disposal."""
