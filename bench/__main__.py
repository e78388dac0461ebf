"""Run the benchmarks: every ``bench/<name>_bench.py`` module's ``main(argv)``, or only those named.

``python -m bench``                 all benchmarks, default (short) settings
``python -m bench engine``          only ``bench/engine_bench.py``
``python -m bench engine -- --instances 500``   arguments after ``--`` go to the named benchmark
``python -m bench tck --tck-dir DIR``           (or directly after the one name)
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def discover() -> list[str]:
    """Benchmark names (``engine`` for ``engine_bench.py``), sorted."""
    here = Path(__file__).parent
    return sorted(m.name.removesuffix("_bench") for m in pkgutil.iter_modules([str(here)]) if m.name.endswith("_bench"))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, passthrough = args[:cut], args[cut + 1 :]
    elif len(args) > 1 and args[0] in discover() and args[1].startswith("-"):
        args, passthrough = args[:1], args[1:]  # python -m bench tck --tck-dir DIR
    available = discover()
    unknown = [name for name in args if name not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    if passthrough and len(args) != 1:
        print("arguments after '--' need exactly one named benchmark (python -m bench engine -- ...)", file=sys.stderr)
        return 2
    failed = 0
    for name in args or available:
        module = importlib.import_module(f"bench.{name}_bench")
        print(f"=== bench {name} ===", flush=True)
        result = module.main(passthrough)
        failed += 1 if result else 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
