"""Reliability: fixity checks of the stored originals, backup and restore."""
