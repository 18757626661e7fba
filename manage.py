#!/usr/bin/env python
"""Django's command-line utility for archviz."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # a bad ARCHVIZ_* value: one line, no traceback
        sys.exit(f"archviz: {exc}")


if __name__ == "__main__":
    main()
