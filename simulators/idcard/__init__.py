"""The resident identity card reader simulator (a SAM module on a serial line)."""

from simulators.idcard.people import DEMO_DOCUMENTS, demo_document
from simulators.idcard.server import IdCardSimulator

__all__ = ["DEMO_DOCUMENTS", "IdCardSimulator", "demo_document"]
