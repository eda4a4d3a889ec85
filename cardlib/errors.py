"""Every error cardlib raises, with one root, and the one place status words become them.

A status word other than 9000 (and the 61xx / 6Cxx ones the processor stack
consumes) is turned into an exception by :func:`raise_for_sw` and nowhere else.
The UI alone turns exceptions into words for people.
"""

from __future__ import annotations

from cardlib.sw import SW

__all__ = [
    "AccessDeniedError",
    "ApduError",
    "ApplicationBlockedError",
    "ApplicationLockedError",
    "AsnMismatchError",
    "AtcExhaustedError",
    "AuthenticationError",
    "CardError",
    "CardNotGenuineError",
    "CardRemovedError",
    "CertificateExpiredError",
    "CertificateFormatError",
    "ConditionsNotSatisfiedError",
    "DeviceError",
    "FileNotFoundCardError",
    "InsufficientBalanceError",
    "InvalidPinError",
    "KeyNotSupportedError",
    "MacError",
    "NoCardError",
    "NoTransactionToProveError",
    "PcscServiceError",
    "PinBlockedError",
    "ProtocolError",
    "ReaderGoneError",
    "RecordNotFoundError",
    "RoleError",
    "SecureChannelError",
    "SecureMessagingError",
    "UntrustedCertificateError",
    "raise_for_sw",
]


class CardError(Exception):
    """Root of everything cardlib raises."""


class ProtocolError(CardError):
    """A malformed APDU, response or data object (ours or the card's)."""


class DeviceError(CardError):
    """The path to the chip failed: reader, PC/SC service, or the card itself left."""


class NoCardError(DeviceError):
    """No card in the reader."""


class CardRemovedError(DeviceError):
    """The card was removed (or reset) during the session; its last answer may be lost."""


class ReaderGoneError(DeviceError):
    """The reader disappeared."""


class PcscServiceError(DeviceError):
    """The PC/SC service (pcscd) is not running or was restarted."""


class ApduError(CardError):
    """The card answered with a status word other than success."""

    def __init__(self, sw: int, data: bytes = b"", message: str | None = None) -> None:
        self.sw = sw
        self.data = data
        super().__init__(message or f"card returned SW {sw:04X}")


class InsufficientBalanceError(ApduError):
    """9401: the purse cannot pay this amount (balance + overdraft)."""


class AtcExhaustedError(ApduError):
    """9402: the transaction counter reached 65535; the card must be replaced."""


class SecureMessagingError(ApduError):
    """6988: a secure-messaging MAC or data object is wrong."""


class KeyNotSupportedError(ApduError):
    """9403: no key with this index or version."""


class MacError(ApduError):
    """9302: a MAC did not verify."""


class ApplicationLockedError(ApduError):
    """9303: the application is permanently locked."""


class ApplicationBlockedError(ApduError):
    """6A81: the application is blocked (hotlisted or by the issuer)."""


class PinBlockedError(ApduError):
    """6983: the PIN (or PUK) is blocked."""


class InvalidPinError(ApduError):
    """63Cx: wrong PIN; ``tries_left`` attempts remain."""

    def __init__(self, sw: int, data: bytes = b"") -> None:
        self.tries_left = sw & 0x0F
        super().__init__(sw, data, f"wrong PIN, {self.tries_left} tries left")


class AccessDeniedError(ApduError):
    """6982: security status not satisfied (PIN not verified, secure messaging missing)."""


class NoTransactionToProveError(ApduError):
    """9406: the card's last transaction is not the one asked about."""


class FileNotFoundCardError(ApduError):
    """6A82: no such file or application."""


class RecordNotFoundError(ApduError):
    """6A83: no such record."""


class ConditionsNotSatisfiedError(ApduError):
    """6985: conditions of use not satisfied (wrong command order, ATC exhausted, ...)."""


class AuthenticationError(CardError):
    """The card could not be shown to be a genuine card of ours, for this purpose."""


class CertificateFormatError(AuthenticationError):
    """The card's certificate is not a well-formed civicard certificate."""


class UntrustedCertificateError(AuthenticationError):
    """The certificate does not chain to a trusted issuer CA."""


class CertificateExpiredError(AuthenticationError):
    """The certificate is outside its validity dates."""


class AsnMismatchError(AuthenticationError):
    """The certificate names another card's ASN."""


class RoleError(AuthenticationError):
    """The card's role is not the one required (e.g. a citizen card at a clerk login)."""


class CardNotGenuineError(AuthenticationError):
    """The card's signature does not verify with its certificate's key (a clone)."""


class SecureChannelError(CardError):
    """Mutual authentication failed: the card is not ours or the key is wrong."""


_BY_SW: dict[int, type[ApduError]] = {
    SW.INSUFFICIENT_BALANCE: InsufficientBalanceError,
    SW.MAC_ERROR: MacError,
    SW.ATC_EXHAUSTED: AtcExhaustedError,
    SW.SM_DATA_INCORRECT: SecureMessagingError,
    SW.KEY_INDEX_NOT_SUPPORTED: KeyNotSupportedError,
    SW.APPLICATION_LOCKED: ApplicationLockedError,
    SW.FUNCTION_NOT_SUPPORTED: ApplicationBlockedError,
    SW.AUTH_METHOD_BLOCKED: PinBlockedError,
    SW.SECURITY_STATUS_NOT_SATISFIED: AccessDeniedError,
    SW.NO_TRANSACTION_TO_PROVE: NoTransactionToProveError,
    SW.FILE_NOT_FOUND: FileNotFoundCardError,
    SW.RECORD_NOT_FOUND: RecordNotFoundError,
    SW.CONDITIONS_NOT_SATISFIED: ConditionsNotSatisfiedError,
}


def raise_for_sw(sw: int, data: bytes = b"") -> None:
    """Raise the typed error for ``sw``; return for 9000."""
    if sw == SW.OK:
        return
    if sw & 0xFFF0 == 0x63C0:
        raise InvalidPinError(sw, data)
    cls = _BY_SW.get(sw, ApduError)
    try:
        name = SW(sw).name
    except ValueError:
        name = "unknown"
    raise cls(sw, data, f"card returned SW {sw:04X} ({name})")
