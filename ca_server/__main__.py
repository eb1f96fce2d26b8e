"""`python -m ca_server` runs the qalam-ca command line."""

from ca_server.cli import main

raise SystemExit(main())
