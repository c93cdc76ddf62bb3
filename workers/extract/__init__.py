"""Turning document text and KSeF XML into typed, validated fields."""
