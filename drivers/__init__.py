"""civicard: drivers."""
