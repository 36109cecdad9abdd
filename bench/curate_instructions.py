"""Instructions per item of the curation workers' path, counted by valgrind (callgrind).

    python bench/curate_instructions.py [--items 200 1000]

Wall-clock time on a shared machine drifts by several per cent from hour to hour, more than a small
change to the per-item path saves. An instruction count does not drift: this script runs the path that
a pool worker runs (`jobs.curate._curate_chunk_with`: tag, flag, link, score, encode the row, compute the
grouping features) on generated items under callgrind, twice with different numbers of items after the
same warm-up, and prints the difference per item. String hashing is fixed (PYTHONHASHSEED=0) so that set
and dict orders, and with them the work, are the same from run to run.

Needs valgrind (Debian's package). Each run takes a minute or two.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

WARM_UP = 1000


def curate(n: int, generated: int) -> None:
    """The measured work: warm the caches on WARM_UP items, then curate `n` more. Both runs generate
    the same `generated` items, so that only the curating differs."""
    from curate_bench import NOW, generate_items

    from pipeline.config import load_config
    from pipeline.jobs.curate import _curate_chunk_with, curation_context

    config = load_config(ROOT / "sources.yaml")
    ctx = curation_context(config)
    items = generate_items(WARM_UP + generated, 7)
    gc.disable()  # as in the workers
    settings = config.settings.digest
    _curate_chunk_with(ctx, settings, NOW, [(item, []) for item in items[:WARM_UP]])
    _curate_chunk_with(ctx, settings, NOW, [(item, []) for item in items[WARM_UP : WARM_UP + n]])


def instructions(n: int, generated: int) -> int:
    """Instructions of a whole run of `curate(n, generated)` under callgrind."""
    with tempfile.TemporaryDirectory(prefix="callgrind-") as folder:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={folder}/out",
            sys.executable,
            __file__,
            "--run",
            str(n),
            str(generated),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(match.group(1))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, nargs=2, default=[200, 1000], metavar=("FEW", "MANY"))
    parser.add_argument("--run", type=int, nargs=2, help=argparse.SUPPRESS)  # the measured child process
    args = parser.parse_args(argv)
    if args.run is not None:
        curate(*args.run)
        return 0
    few, many = args.items
    if many <= few:
        parser.error("--items takes two numbers, the second larger")
    counted = {n: instructions(n, many) for n in (few, many)}
    per_item = (counted[many] - counted[few]) / (many - few)
    print(f"curation workers' path: {per_item:,.0f} instructions per item ({few} and {many} items)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
