"""The central service: ledger, card registry, terminal uploads, downloads.

Imports cardlib's crypto (and key files) only; shares wire schemas with the
terminal through :mod:`backend_sync.wire`.
"""
