"""Receipt layouts (no device, Kivy or escpos imports): documents the printer driver renders.

- :mod:`.layouts` -- purchase, top-up, bill payment, fine payment, test page
- :mod:`.signing` -- the signed transaction reference in each receipt's QR code
- :mod:`.i18n` -- wording in zh-Hans, zh-Hant, en
- :mod:`.samples` -- seeded sample receipts (docs and tests)
"""
