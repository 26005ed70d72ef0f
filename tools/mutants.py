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

``--sample N --sample-seed S`` runs a seeded random sample of N of a module's mutants (those the
operator filter kept): the others are marked skipped in the session before ``exec``, and the choice
is recorded beside the session (``cr-MODULE.sample.json``: N, S and the mutations drawn), so the
same N and S draw the same mutants again from a fresh session of the same code. The report then
gives the killed fraction of the sample with a 95% Wilson interval, an estimate of the module's
mutation score (``--report`` prints it for the sessions in ``--work`` without running anything).

``--rerun SESSION --jobs ID ...`` applies each given mutant of SESSION (a job id, or its first
characters) alone to a fresh copy of the checkout in ``--work`` (use another folder than a
running session's), runs the module's tests as they are now (or ``--tests ...``) and prints
killed or survived with the failing tests: how a triaged survivor is shown killed.

cosmic-ray is looked up beside the Python that runs this script (``.venv/bin``), or given by
``$COSMIC_RAY_BIN`` (the folder holding ``cosmic-ray``, ``cr-report``, ``cr-filter-operators``).
"""
import argparse
import json
import math
import os
import random
import signal
import shutil
import sqlite3
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
    # the compiled sampler op is a build output (git-ignored) that the tests expect
    op = ROOT / "rsmlib" / "ops" / "_counts_from_uniforms.so"
    if op.is_file():
        shutil.copy2(op, work / "rsmlib" / "ops" / op.name)
    venv = work / ".venv"
    if not venv.exists():
        venv.symlink_to((ROOT / ".venv").resolve())


SAMPLE_NOTE = "not in the sample (tools/mutants.py --sample)"


def mutation_key(row):
    """A mutant's identity that does not depend on cosmic-ray's random job ids."""
    return list(row[1:])


def draw_sample(session, n, seed):
    """Mark all but ``n`` of the session's pending mutants skipped; return the ones drawn.

    The pending mutants (those no filter skipped) are put in source order (line, column,
    operator, occurrence) before ``random.Random(seed).sample`` draws ``n`` of them, so the draw
    depends only on the code, the filter, ``n`` and ``seed``.
    """
    with sqlite3.connect(session) as db:
        rows = db.execute(
            "SELECT m.job_id, m.start_pos_row, m.start_pos_col, m.operator_name, m.occurrence"
            " FROM mutation_specs m LEFT JOIN work_results r ON m.job_id = r.job_id"
            " WHERE r.job_id IS NULL ORDER BY 2, 3, 4, 5").fetchall()
        drawn = sorted(random.Random(seed).sample(rows, min(n, len(rows))),
                       key=mutation_key)
        chosen = {row[0] for row in drawn}
        db.executemany("INSERT INTO work_results (worker_outcome, output, job_id)"
                       " VALUES ('SKIPPED', ?, ?)",
                       [(SAMPLE_NOTE, row[0]) for row in rows if row[0] not in chosen])
    return len(rows), [mutation_key(row) for row in drawn]


def wilson(killed, n, z=1.959964):
    """The 95% Wilson score interval for a binomial proportion killed / n."""
    if n == 0:
        return 0.0, 1.0
    p, q = killed / n, z * z / n
    centre = (p + q / 2) / (1 + q)
    half = z * math.sqrt(p * (1 - p) / n + q / (4 * n)) / (1 + q)
    return max(0.0, centre - half), min(1.0, centre + half)


def outcomes(session):
    """Counts of the session's mutants: total, filtered, unsampled, killed, survived, pending."""
    with sqlite3.connect(session) as db:
        total = db.execute("SELECT COUNT(*) FROM mutation_specs").fetchone()[0]
        rows = db.execute("SELECT worker_outcome, test_outcome, output FROM work_results"
                          ).fetchall()
    count = dict(total=total, filtered=0, unsampled=0, killed=0, survived=0)
    for worker, test, output in rows:
        if worker == "SKIPPED":
            count["unsampled" if output == SAMPLE_NOTE else "filtered"] += 1
        elif test == "SURVIVED":
            count["survived"] += 1
        else:                                     # killed, incompetent, timed out, crashed
            count["killed"] += 1
    count["pending"] = total - len(rows)
    return count


def report_line(module, session):
    c = outcomes(session)
    run = c["killed"] + c["survived"]
    low, high = wilson(c["killed"], run)
    kept = c["total"] - c["filtered"]
    scope = (f"sample of {run + c['pending']} of {kept}" if c["unsampled"]
             else f"all {kept}")
    return (f"{module}: {scope} mutants ({c['filtered']} filtered); {run} run, "
            f"{c['killed']} killed, {c['survived']} survived, {c['pending']} pending; "
            f"killed {c['killed']}/{run} = {c['killed'] / max(run, 1):.2f}, "
            f"95% Wilson interval [{low:.2f}, {high:.2f}]")


def rerun(session, jobs, work, bin_dir, env, mapping, tests, python):
    """Apply each mutant of ``jobs`` alone in ``work`` and run the tests; print the outcome."""
    copy_tree(work)
    with sqlite3.connect(session) as db:
        specs = [db.execute("SELECT job_id, module_path, operator_name, occurrence, "
                            "start_pos_row FROM mutation_specs WHERE job_id LIKE ?",
                            (job + "%",)).fetchall() for job in jobs]
    for job, found in zip(jobs, specs):
        if len(found) != 1:   # (a missing session file would be created empty: checked above)
            sys.exit(f"{session}: {len(found)} mutants match the job id {job!r}")
        job_id, module, operator, occurrence, line = found[0]
        subprocess.run([str(bin_dir / "cosmic-ray"), "apply", module, operator, str(occurrence)],
                       cwd=work, env=env, check=True)
        try:
            started = time.monotonic()
            result = subprocess.run([str(python), "-m", "pytest", "-x", "-q",
                                     "-p", "no:cacheprovider", *(tests or mapping[module])],
                                    cwd=work, env=env, capture_output=True, text=True)
        finally:
            shutil.copy2(ROOT / module, work / module)
        failed = [line.split(" - ")[0] for line in result.stdout.splitlines()
                  if line.startswith(("FAILED", "ERROR"))]
        outcome = "killed" if result.returncode != 0 else "survived"
        print(f"{job_id[:8]} {module}:{line} {operator} #{occurrence}: {outcome} "
              f"({time.monotonic() - started:.0f} s) {' '.join(failed)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="e.g. rsmlib/sampling.py (default: all)")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds, all modules")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "rsmlib-mutants")
    parser.add_argument("--fresh", action="store_true", help="discard earlier sessions")
    parser.add_argument("--timeout", type=float,
                        help="seconds per mutant (and baseline): overrides tools/mutants.toml")
    parser.add_argument("--sample", type=int, help="run a random sample of N mutants a module")
    parser.add_argument("--sample-seed", type=int, default=0, help="the sample's seed")
    parser.add_argument("--rerun", type=Path, metavar="SESSION",
                        help="re-run the mutants --jobs of this session against today's tests")
    parser.add_argument("--jobs", nargs="+", default=[], help="job ids (or prefixes)")
    parser.add_argument("--tests", nargs="+", help="the tests for --rerun (default: mapped)")
    parser.add_argument("--report", action="store_true",
                        help="only print the scores of the sessions in --work")
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

    if args.report:
        for module in modules:
            session = args.work / f"cr-{Path(module).stem}.sqlite"
            if session.exists() and session.stat().st_size:
                print(report_line(module, session))
        return
    env = dict(os.environ, PYTHONPATH=str(args.work), TF_CPP_MIN_LOG_LEVEL="3",
               TF_ENABLE_ONEDNN_OPTS="0", PYTHONHASHSEED="0")
    python = args.work / ".venv" / "bin" / "python"
    if args.rerun and not args.rerun.is_file():
        sys.exit(f"no session {args.rerun}")
    if args.rerun:
        args.work.mkdir(parents=True, exist_ok=True)
        rerun(args.rerun, args.jobs, args.work, bin_dir, env, mapping, args.tests, python)
        return
    if args.fresh and args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True, exist_ok=True)
    copy_tree(args.work)
    deadline = time.monotonic() + args.budget
    for module in modules:
        name = Path(module).stem
        tests = " ".join(mapping[module])
        table = dict(settings["cosmic-ray"])
        table["module-path"] = module
        if args.timeout:
            table["timeout"] = args.timeout
        table["test-command"] = (f"{python} -m pytest -x -q -p no:cacheprovider "
                                 f"{tests}")
        config, session = args.work / f"cr-{name}.toml", args.work / f"cr-{name}.sqlite"
        sample_file = args.work / f"cr-{name}.sample.json"
        write_config(config, table, "cosmic-ray")
        run = lambda *cmd, **kw: subprocess.run([str(bin_dir / cmd[0]), *cmd[1:]],   # noqa: E731
                                                cwd=args.work, env=env, **kw)
        if not session.exists():
            run("cosmic-ray", "init", str(config), str(session), check=True)
            run("cr-filter-operators", str(session), str(config), check=True)
            if args.sample is not None:
                kept, drawn = draw_sample(session, args.sample, args.sample_seed)
                record = dict(sample=args.sample, seed=args.sample_seed, of=kept,
                              drawn=[dict(zip(("line", "column", "operator", "occurrence"),
                                              key)) for key in drawn])
                sample_file.write_text(json.dumps(record, indent=1) + "\n")
                print(f"{module}: sampled {len(drawn)} of {kept} mutants "
                      f"(seed {args.sample_seed}), recorded in {sample_file}", flush=True)
            started = time.monotonic()
            if run("cosmic-ray", "baseline", str(config)).returncode != 0:
                session.unlink()
                sys.exit(f"{module}: the unmutated tests fail; fix them first")
            print(f"{module}: baseline {time.monotonic() - started:.0f} s", flush=True)
        elif args.sample is not None:
            record = json.loads(sample_file.read_text()) if sample_file.exists() else {}
            if (record.get("sample"), record.get("seed")) != (args.sample, args.sample_seed):
                sys.exit(f"{session} was not drawn with --sample {args.sample} "
                         f"--sample-seed {args.sample_seed}; use --fresh or its own options")
        left = deadline - time.monotonic()
        if left <= 0:
            print(f"{module}: no budget left; run again to continue", flush=True)
            continue
        started, load = time.monotonic(), os.getloadavg()
        worker = subprocess.Popen([str(bin_dir / "cosmic-ray"), "exec", str(config), str(session)],
                                  cwd=args.work, env=env, start_new_session=True)
        try:
            worker.wait(timeout=left)
        except subprocess.TimeoutExpired:   # stop cosmic-ray and its test run, then restore
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
            shutil.copy2(ROOT / module, args.work / module)
            print(f"{module}: budget spent; run again with --work {args.work} to continue")
        print(f"{module}: exec {time.monotonic() - started:.0f} s, load average "
              f"{load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end", flush=True)
        print(report_line(module, session), flush=True)
    print(f"sessions and reports in {args.work} (cr-report --surviving-only SESSION)")


if __name__ == "__main__":
    main()
