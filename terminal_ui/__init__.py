"""civicard: terminal_ui."""
