"""The audit trail: one append-only event per change of state."""
