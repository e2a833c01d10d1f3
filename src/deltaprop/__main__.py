"""``python -m deltaprop`` runs the command line (see ``deltaprop --help``)."""

from .cli import main

raise SystemExit(main())
