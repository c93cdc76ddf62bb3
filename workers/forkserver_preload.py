"""Imported by the OCR pool's fork server only: it ends when its worker process is gone."""

from workers.orphans import exit_with_parent

exit_with_parent()
