"""Imported once by the parser pool's fork server, so every worker starts ready to parse.

Workers are forked from the fork server, and share (copy-on-write) whatever it has loaded: the parsers'
imports, and the language model, which costs about half a second of CPU and 75 MB to load. Loaded here,
a collect pays that once instead of once per worker, and the workers' memory is mostly shared.
"""

from pipeline.collect import parsing  # noqa: F401 - imported for its side effect: every parser's modules
from pipeline.language import warm_up

warm_up()
