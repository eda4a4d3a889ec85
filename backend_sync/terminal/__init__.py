"""The kiosk's side of sync: the durable outbox, the agent, the central client."""
