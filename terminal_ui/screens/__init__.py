"""One Kivy screen per kind of kiosk state, each with its own ``.kv`` file."""
