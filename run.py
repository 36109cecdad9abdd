"""Thin entry point: `python run.py COMMAND ...` (see README.md)."""

import sys

if __name__ == "__main__":
    # Imported here, not at the top: the parser pool's fork server imports this file as __main__ in
    # each start-up, and would otherwise load the whole command line (about half a CPU-second).
    from pipeline.cli import main

    sys.exit(main())
