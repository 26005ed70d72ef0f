"""Mutation testing of rsmlib with cosmic-ray: `make mutants` (not part of `make test`).

    python tools/mutants.py [--budget SECONDS] [--work DIR] [MODULE ...]

For each module (default: every module listed in tools/mutants.toml, in that order) it writes a
cosmic-ray config from tools/mutants.toml whose test command runs that module's fast tests,
then `cosmic-ray init`, the operator filter, a baseline and `cosmic-ray exec`, and prints
cr-report's summary. The mutants are applied in a scratch copy of the working tree (``--work``,
default ``$TMPDIR/rsmlib-mutants``), never in the checkout. Sessions are kept there: a second run
with the same ``--work`` continues where the first stopped (cosmic-ray exec does the remaining
work only), so the hour's budget can be spent in pieces. ``--budget`` is the wall time for all
modules together; a module still running when it is spent is stopped and resumed next time.

cosmic-ray is looked up beside the Python that runs this script (``.venv/bin``), or given by
``$COSMIC_RAY_BIN`` (the folder holding ``cosmic-ray``, ``cr-report``, ``cr-filter-operators``).
"""
import argparse
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tools" / "mutants.toml"


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def write_config(path, table, prefix):
    """Write the nested dict ``table`` as TOML under the header ``prefix``."""
    lines, nested = [f"[{prefix}]"], []
    for key, value in table.items():
        if isinstance(value, dict):
            nested.append((key, value))
        else:
            lines.append(f"{toml_value(key)} = {toml_value(value)}")
    text = "\n".join(lines) + "\n"
    for key, value in nested:
        text += "\n" + write_config(None, value, f"{prefix}.{key}")
    if path is not None:
        Path(path).write_text(text)
    return text


def copy_tree(work):
    """Copy the tracked and untracked-but-not-ignored files of the checkout into ``work``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source, target = ROOT / name, work / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    venv = work / ".venv"
    if not venv.exists():
        venv.symlink_to((ROOT / ".venv").resolve())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="e.g. rsmlib/sampling.py (default: all)")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds, all modules")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "rsmlib-mutants")
    parser.add_argument("--fresh", action="store_true", help="discard earlier sessions")
    args = parser.parse_args()

    settings = tomllib.loads(CONFIG.read_text())
    mapping = settings["mutants"]["modules"]
    modules = args.modules or list(mapping)
    unknown = [m for m in modules if m not in mapping]
    if unknown:
        sys.exit(f"no tests are mapped to {unknown} in {CONFIG}")
    bin_dir = Path(os.environ.get("COSMIC_RAY_BIN", Path(sys.executable).parent))
    if not (bin_dir / "cosmic-ray").exists():
        sys.exit(f"cosmic-ray is not installed in {bin_dir}: "
                 "pip install -r requirements-mutants.txt")

    if args.fresh and args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True, exist_ok=True)
    copy_tree(args.work)
    env = dict(os.environ, PYTHONPATH=str(args.work), TF_CPP_MIN_LOG_LEVEL="3",
               TF_ENABLE_ONEDNN_OPTS="0", PYTHONHASHSEED="0")
    deadline = time.monotonic() + args.budget
    python = args.work / ".venv" / "bin" / "python"
    for module in modules:
        name = Path(module).stem
        tests = " ".join(mapping[module])
        table = dict(settings["cosmic-ray"])
        table["module-path"] = module
        table["test-command"] = (f"{python} -m pytest -x -q -p no:cacheprovider "
                                 f"{tests}")
        config, session = args.work / f"cr-{name}.toml", args.work / f"cr-{name}.sqlite"
        write_config(config, table, "cosmic-ray")
        run = lambda *cmd, **kw: subprocess.run([str(bin_dir / cmd[0]), *cmd[1:]],   # noqa: E731
                                                cwd=args.work, env=env, **kw)
        if not session.exists():
            run("cosmic-ray", "init", str(config), str(session), check=True)
            run("cr-filter-operators", str(session), str(config), check=True)
            started = time.monotonic()
            if run("cosmic-ray", "baseline", str(config)).returncode != 0:
                sys.exit(f"{module}: the unmutated tests fail; fix them first")
            print(f"{module}: baseline {time.monotonic() - started:.0f} s", flush=True)
        left = deadline - time.monotonic()
        if left <= 0:
            print(f"{module}: no budget left; run again to continue", flush=True)
            continue
        worker = subprocess.Popen([str(bin_dir / "cosmic-ray"), "exec", str(config), str(session)],
                                  cwd=args.work, env=env, start_new_session=True)
        try:
            worker.wait(timeout=left)
        except subprocess.TimeoutExpired:   # stop cosmic-ray and its test run, then restore
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
            shutil.copy2(ROOT / module, args.work / module)
            print(f"{module}: budget spent; run again with --work {args.work} to continue")
        report = run("cr-report", "--show-pending", str(session), capture_output=True,
                     text=True).stdout
        summary = [line for line in report.splitlines()
                   if line.startswith(("total jobs", "complete", "surviving"))]
        print(f"{module}:", "; ".join(summary), flush=True)
    print(f"sessions and reports in {args.work} (cr-report --surviving-only SESSION)")


if __name__ == "__main__":
    main()
