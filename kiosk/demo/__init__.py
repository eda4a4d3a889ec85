"""TEST ONLY demo and development tooling, kept out of the product modules.

``world``: a whole kiosk world on simulators (wallet, embedded central, printer
simulator), built through :func:`kiosk.runtime.build_kiosk` like a real kiosk;
``session_cli`` / ``demo_cli``: ``civicard session`` and ``civicard demo``;
``issuer`` / ``issuer_cli``: the TEST ONLY issuer (keys, CA) and ``civicard issue``.
Only the composition root (``kiosk/cli.py``), tests, benches and scripts import it.
"""
