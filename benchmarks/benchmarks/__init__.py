"""asv benchmarks of xentc (see ``benchmarks/asv.conf.json``); ``common`` is shared with run.py."""
