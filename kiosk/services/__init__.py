"""Services: the central's catalog, the built-in flows, and :class:`CardKioskOps`,
the kiosk's operations over the card, PSAM, outbox, central and printer."""
