#!/usr/bin/env python
"""Django's command-line utility for the hub."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasktop_hub.settings")
    import django
    from django.core.management import execute_from_command_line

    try:
        django.setup()
    except Exception:  # noqa: BLE001, S110 — execute_from_command_line reports a broken configuration
        pass
    else:
        from tasktop_hub.write_guard import guard_command

        guard_command(sys.argv)  # a command that may write waits for no moving data (docs/storage.md)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
