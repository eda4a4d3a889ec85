"""Simulated PSAM: terminal number, purchase and maintenance master keys, TTC."""

from simulators.sam.os import Psam, make_psam

__all__ = ["Psam", "make_psam"]
