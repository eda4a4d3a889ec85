"""The window clerk's counter station: its view-model (no Kivy) and its Kivy screens."""
