"""civicard: cardlib."""
