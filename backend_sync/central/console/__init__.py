"""The staff web console: server-rendered pages under ``/console`` (docs/console.md)."""
