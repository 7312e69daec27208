"""Command-line jobs: `python -m dynsys --help`."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
