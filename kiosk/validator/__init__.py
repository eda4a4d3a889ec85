"""The bus validator: a terminal of its own that debits a flat fare offline.

It shares no code path with the kiosk: its own PSAM (terminal id, TTC), enrolled
terminal key, outbox and downloaded hotlist; no PIN (the card follows PBOC and
debits its purse without one). A ride is the composite (CAPP) purchase, type 09,
with the transit record committed on the card with the debit. The package depends
on cardlib, backend_sync.terminal and drivers only. docs/validator.md.
"""

from kiosk.validator.config import ValidatorConfig, ValidatorConfigError, load_validator_config
from kiosk.validator.core import BusValidator, Fare, Outcome, Tap

__all__ = [
    "BusValidator",
    "Fare",
    "Outcome",
    "Tap",
    "ValidatorConfig",
    "ValidatorConfigError",
    "load_validator_config",
]
