"""civicard's kiosk UI (Kivy): screens bound to :class:`kiosk.core.KioskController`.

Only this package imports Kivy. Importing ``terminal_ui`` itself does not: call
:func:`terminal_ui.env.prepare` (which sets Kivy's environment) before importing
any module that does (``terminal_ui.app``, ``terminal_ui.screens``...).
See docs/ui.md.
"""
