"""civicard: backend_sync."""
