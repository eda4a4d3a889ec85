"""The window clerk's counter station: the non-Kivy core of ``civicard counter``."""
