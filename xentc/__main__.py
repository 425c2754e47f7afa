"""``python -m xentc``: the command line (see :mod:`xentc._cli`)."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
