"""The frozen app's entry point: the `qalam` console script's main, nothing more."""

import sys

from signer_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
