"""Simulated citizen card: a card OS running the e-purse application (docs/card-spec.md)."""

from simulators.card.factory import make_blank_card, make_card
from simulators.card.os import CardStatus, CitizenCard

__all__ = ["CardStatus", "CitizenCard", "make_blank_card", "make_card"]
