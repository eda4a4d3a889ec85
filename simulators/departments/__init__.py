"""Department systems behind the central (social security, housing fund, utilities,
traffic police, approvals, the service hall, the bus station) as one HTTP simulator.

``civicard sim departments`` serves them on loopback from a SQLite database of its
own, seeded deterministically; see docs/services.md for the API.
"""
