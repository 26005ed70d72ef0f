"""Build rsmlib's compiled sampler op (counts_from_uniforms.cc, beside this file) with g++.

    python -m rsmlib.ops.build            # build _counts_from_uniforms.so and load it
    python -m rsmlib.ops.build --check    # exit 1 unless the built op is current and loads

Hand-written (not generated from a chapter). The op is compiled against the installed
TensorFlow (``tf.sysconfig.get_compile_flags()``, ``get_link_flags()``) and loaded by
``rsmlib.counts_op`` with ``tf.load_op_library``. Without it rsmlib still works:
``multinomial_counts`` falls back to TensorFlow's own ops, which give the same counts more
slowly. `make test` runs this script and stops if the build fails, so CI tests the op.

A wheel or sdist of rsmlib carries this script and the C++ source, never a built library
(pyproject.toml excludes it: it is built for one TensorFlow, and the wheel is
py3-none-any). After ``pip install``, run ``python -m rsmlib.ops.build`` once in that
environment to build the op for its TensorFlow; without it, the one notice says so.
"""
import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().with_name("counts_from_uniforms.cc")
LIBRARY = SOURCE.with_name("_counts_from_uniforms.so")


def command(compiler: str = "g++") -> list[str]:
    """The compiler command line that builds LIBRARY from SOURCE."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    flags = [f for f in tf.sysconfig.get_compile_flags() if not f.startswith("--std")]
    return [compiler, "-std=c++17", "-shared", "-fPIC", "-O3", "-DNDEBUG",
            "-Wno-deprecated-declarations", "-o", str(LIBRARY), str(SOURCE),
            *flags, *tf.sysconfig.get_link_flags()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not build; exit 1 unless the op is built, current and loads")
    parser.add_argument("--compiler", default=os.environ.get("CXX", "g++"))
    args = parser.parse_args(argv)
    if args.check:
        if not LIBRARY.exists() or LIBRARY.stat().st_mtime < SOURCE.stat().st_mtime:
            print(f"{LIBRARY} is missing or older than its source: "
                  "run `python -m rsmlib.ops.build`", file=sys.stderr)
            return 1
    else:
        cmd = command(args.compiler)
        print(" ".join(shlex.quote(c) for c in cmd))
        try:
            subprocess.run(cmd, check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"building the sampler op failed: {error}", file=sys.stderr)
            return 1
    import tensorflow as tf

    tf.load_op_library(str(LIBRARY))
    print(f"{LIBRARY.name} loads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
