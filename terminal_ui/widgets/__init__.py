"""Widgets shared by the screens: buttons, text, the PIN pad, keypads, banners."""
