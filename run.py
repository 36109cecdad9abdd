"""Thin entry point: `python run.py COMMAND ...` (see README.md)."""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
