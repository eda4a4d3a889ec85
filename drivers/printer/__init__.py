"""Receipt printer driver: the only package that imports ``escpos``.

- :mod:`.document` -- device-independent documents (importable without escpos)
- :mod:`.profiles` -- capability profiles
- :mod:`.printer` -- :class:`~drivers.printer.printer.Printer`: status and printing
- :mod:`.queue` -- the on-disk print queue with reprint marking

Import the submodules you need; this package imports nothing at load time so that
``drivers.printer.document`` stays free of device libraries.
"""
