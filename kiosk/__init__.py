"""civicard: kiosk."""
