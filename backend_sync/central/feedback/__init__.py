"""Citizen feedback at the central: categories routed to departments, cases with
two clocks and working-day deadlines, the response figures, Open311 (docs/feedback.md)."""
