"""civicard: simulators."""
