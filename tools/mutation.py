"""Mutation check of the modules that compute money and figures (see docs/testing.md).

    python tools/mutation.py                 # every module below, each with its own tests
    python tools/mutation.py stats money     # some modules
    python tools/mutation.py larder_layouts --sample 80 --seed 1
    python tools/mutation.py stats --list    # the mutants only, nothing run

One small change at a time (an arithmetic or comparison operator, an integer constant
+-1, a return value, a dropped statement or dict entry, `and`/`or`, a dropped `not`) is
made in a private copy of the project; the module's own tests run there (pytest -x, one
process). A change that makes a test fail, or hang past the timeout, is caught; one that
passes every test survived: a missing test, or an equivalent change (docs/testing.md).

A small AST runner rather than mutmut 3: mutmut 3 mutates only inside functions (through
the trampolines it adds), so the money limits, which are module constants, would never
change; and its `mutants/` copy must stand in for the project, which these tests find by
`pythonpath = "."` and `import conftest`. A runner of ~200 lines, with no new package, was
the quicker thing to make trustworthy here.
"""
import argparse
import ast
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module -> (file, its tests). Chosen so one module's run takes minutes, not hours.
# The big ones: a fixed random sample of SAMPLED[name] runs unless --sample says
# otherwise (--sample 0: all of them).
SAMPLED = {"larder_layouts": 60, "refunds": 40, "import_refunds": 60, "daily_figures": 40,
           "daily_reads": 30}
# The tests written for this check; the run also says what the others catch without them.
FIGURES = {"tests/test_money_figures.py", "tests/test_stats_figures.py",
           "tests/test_report_figures.py", "tests/test_cache_figures.py",
           "tests/test_csv_figures.py", "tests/test_dashboard_comparisons.py",
           "tests/test_report_sections.py"}
TARGETS = {
    "money": ("webapp/money.py",
              ["tests/test_money_figures.py", "tests/test_hostile_input.py"]),
    "stats": ("webapp/stats.py",
              ["tests/test_stats_figures.py", "tests/test_dashboard_comparisons.py",
               "tests/test_orders.py", "tests/test_http.py", "tests/test_cache_invalidation.py"]),
    "report_data": ("webapp/reports/report_data.py",
                    ["tests/test_report_figures.py", "tests/test_reports.py",
                     "tests/test_report_sections.py"]),
    # The queries report_data and the X/Z reports share (split out of report_data.py).
    "report_figures": ("webapp/reports/figures.py",
                       ["tests/test_report_figures.py", "tests/test_reports.py",
                        "tests/test_report_sections.py"]),
    "caching": ("webapp/caching.py",
                ["tests/test_cache_figures.py", "tests/test_cache_invalidation.py",
                 "tests/test_damaged_cache.py"]),
    # Larder's own CSV layouts in the import engine (webapp/csv_import.py until issue 11).
    "larder_layouts": ("webapp/imports/formats/larder.py",
                       ["tests/test_csv_figures.py", "tests/test_import_larder.py",
                        "tests/test_orders_csv.py", "tests/test_import_formats.py"]),
    "tax": ("webapp/tax.py", ["tests/test_tax.py"]),
    # Imported refunds: a refund by amount shared over the sale's lines (issue 11).
    "import_refunds": ("webapp/imports/refund_rows.py",
                       ["tests/test_import_engine.py", "tests/test_import_formats.py",
                        "tests/test_import_refunds.py"]),
    "refunds": ("webapp/refunds.py", ["tests/test_refunds.py"]),
    # The daily figures (issue 13): kept by hooks, read by the dashboard and reports.
    "daily_figures": ("webapp/daily_figures.py",
                      ["tests/test_daily_figures.py", "tests/test_stats_figures.py"]),
    "daily_reads": ("webapp/daily_reads.py",
                    ["tests/test_daily_figures.py", "tests/test_stats_figures.py",
                     "tests/test_dashboard_comparisons.py", "tests/test_report_figures.py"]),
}

COMPARE_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
                ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BINOP_SWAP = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div],
              ast.Div: [ast.Mult], ast.FloorDiv: [ast.Div, ast.Mult], ast.Mod: [ast.FloorDiv]}


def _short(node, width=70):
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _is_docstring(stmt):
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def _skipped(tree):
    """Nodes never mutated: module-level asserts (sanity checks that only crash the import),
    decorators, annotations and f-string format specs."""
    skip = set()
    for node in ast.walk(tree):
        parts = []
        if isinstance(node, ast.Module):
            parts = [s for s in node.body if isinstance(s, ast.Assert)]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            parts = list(node.decorator_list) + ([node.returns] if getattr(node, "returns", None) else [])
        elif isinstance(node, ast.FormattedValue) and node.format_spec:
            parts = [node.format_spec]
        elif isinstance(node, (ast.arg, ast.AnnAssign)):
            parts = [node.annotation] if node.annotation else []
        for part in parts:
            skip.update(id(n) for n in ast.walk(part))
    return skip


def sites(tree):
    """Every possible change in the tree: [(line, description, apply)], in a fixed order."""
    out = []
    skip = _skipped(tree)
    in_function = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(fn) if n is not fn)

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in BINOP_SWAP:
            for new in BINOP_SWAP[type(node.op)]:
                def apply(node=node, new=new):
                    old = _short(node)
                    node.op = new()
                    return f"`{old}` -> `{_short(node)}`"
                out.append((line, apply))
        elif isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAP:
                    def apply(node=node, i=i):
                        old = _short(node)
                        node.ops[i] = COMPARE_SWAP[type(node.ops[i])]()
                        return f"`{old}` -> `{_short(node)}`"
                    out.append((line, apply))
        elif isinstance(node, ast.BoolOp):
            def apply(node=node):
                old = _short(node)
                node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
                return f"`{old}` -> `{_short(node)}`"
            out.append((line, apply))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            def apply(node=node):
                old = _short(node)
                node.op = ast.UAdd() if isinstance(node.op, ast.USub) else ast.Not()
                if isinstance(node.op, ast.Not):  # `not x` -> `not not x`: truth of x
                    node.operand = ast.UnaryOp(op=ast.Not(), operand=node.operand)
                return f"`{old}` -> `{_short(node)}`"
            out.append((line, apply))
        elif (isinstance(node, ast.Constant) and type(node.value) is int):
            for delta in (1, -1):
                def apply(node=node, delta=delta):
                    old = node.value
                    node.value = old + delta
                    return f"constant `{old}` -> `{node.value}`"
                out.append((line, apply))
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            def apply(node=node):
                node.value = not node.value
                return f"`{not node.value}` -> `{node.value}`"
            out.append((line, apply))
        elif (isinstance(node, ast.Return) and node.value is not None
              and not (isinstance(node.value, ast.Constant) and node.value.value is None)):
            def apply(node=node):
                old = _short(node)
                node.value = ast.Constant(value=None)
                return f"`{old}` -> `return None`"
            out.append((line, apply))
        elif isinstance(node, ast.Dict) and id(node) in in_function and len(node.keys) > 1:
            for i, key in enumerate(node.keys):
                if key is None:
                    continue
                def apply(node=node, i=i):
                    key = _short(node.keys[i])
                    del node.keys[i], node.values[i]
                    return f"dict entry {key} dropped"
                out.append((getattr(key, "lineno", line), apply))
        # Dropped statements: calls for their effect, updates, raises, whole ifs and loops.
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list) or id(node) not in in_function and not isinstance(
                    node, (ast.FunctionDef, ast.Lambda)):
                continue
            for i, stmt in enumerate(body):
                if _is_docstring(stmt) or not isinstance(
                        stmt, (ast.Expr, ast.AugAssign, ast.Raise, ast.If, ast.For)
                ) and not (isinstance(stmt, ast.Assign)
                           and isinstance(stmt.targets[0], (ast.Subscript, ast.Attribute))):
                    continue
                def apply(body=body, i=i):
                    old = _short(body[i], 60)
                    body[i] = ast.Pass()
                    return f"statement `{old}` dropped"
                out.append((stmt.lineno, apply))
    return out


def mutants(source):
    """[(index, line, description, mutated source)] for every site."""
    count = len(sites(ast.parse(source)))
    out = []
    for index in range(count):
        tree = ast.parse(source)  # fresh each time: one change per mutant
        line, apply = sites(tree)[index]
        description = apply()
        ast.fix_missing_locations(tree)
        out.append((index, line, description, ast.unparse(tree)))
    return out


def _copy_project(into):
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "dist", "build",
                                    ".pytest_cache", ".data", ".git")
    for name in ("webapp", "tests", "desktop"):
        shutil.copytree(ROOT / name, into / name, ignore=ignore)
    for name in ("pyproject.toml",):
        shutil.copy2(ROOT / name, into / name)


def _run_tests(workdir, tests, timeout):
    """'passed', 'failed' or 'timeout'; the whole process group is stopped on timeout."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "-o", "addopts=-m 'not slow'", *tests]
    proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "timeout"
    return "passed" if code == 0 else "failed"


def check(name, sample=None, seed=0, listing=False, only=None):
    """Run the mutants of one module; returns (score without FIGURES, score with them)."""
    path, tests = TARGETS[name]
    tests = [t for t in tests if (ROOT / t).exists()]
    older = [t for t in tests if t not in FIGURES]
    figures = [t for t in tests if t in FIGURES]
    source = (ROOT / path).read_text()
    everything = mutants(source)
    chosen = everything
    sample = SAMPLED.get(name) if sample is None else sample
    if sample and sample < len(everything):
        chosen = sorted(random.Random(seed).sample(everything, sample))
    if only:  # e.g. the survivors of an earlier run
        chosen = [m for m in everything if m[0] in only]
    print(f"== {path}: {len(everything)} mutants"
          + (f", running {len(chosen)}" + ("" if only else f" (a random sample, seed {seed})")
             if chosen is not everything else "")
          + f"; tests: {' '.join(tests)}", flush=True)
    if listing:
        for index, line, description, _ in chosen:
            print(f"  #{index} line {line}: {description}")
        return None
    with tempfile.TemporaryDirectory(prefix="larder-mutation-") as tmp:
        work = Path(tmp)
        _copy_project(work)
        started = time.monotonic()
        if _run_tests(work, tests, timeout=600) != "passed":
            sys.exit(f"the tests of {name} fail without any change: fix them first")
        timeout = max(30.0, 3 * (time.monotonic() - started))
        # The older tests first, then (only if they missed it) the figure tests: one pass
        # gives the score with and without tests/test_*_figures.py.
        caught_before = caught = 0
        for index, line, description, mutated in chosen:
            (work / path).write_text(mutated)
            if _run_tests(work, older, timeout) != "passed":
                caught_before += 1
                caught += 1
            elif figures and _run_tests(work, figures, timeout) != "passed":
                caught += 1
                print(f"  caught only by the figure tests #{index} line {line}: "
                      f"{description}", flush=True)
            else:
                print(f"  SURVIVED #{index} line {line}: {description}", flush=True)
        (work / path).write_text(source)
    total = len(chosen) or 1
    before, after = 100.0 * caught_before / total, 100.0 * caught / total
    print(f"== {path}: {caught}/{len(chosen)} caught = {after:.1f} % "
          f"(without {' '.join(figures) or 'figure tests'}: {caught_before} = {before:.1f} %) "
          f"in {time.monotonic() - started:.0f} s", flush=True)
    return before, after


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # still clean up the copy
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"some of: {', '.join(TARGETS)} (default all)")
    parser.add_argument("--sample", type=int, help="run only N mutants per module, at random "
                        "(default: all, larder_layouts 60; 0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", type=lambda text: {int(i) for i in text.split(",")},
                        help="run only these mutant numbers (comma-separated, one module)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--min", type=float, default=0.0,
                        help="exit 1 when a module scores below this percentage")
    args = parser.parse_args()
    for name in args.modules:
        if name not in TARGETS:
            parser.error(f"unknown module {name!r}; expected some of: {', '.join(TARGETS)}")
    scores = {name: check(name, args.sample, args.seed, args.list, args.only)
              for name in (args.modules or TARGETS)}
    if not args.list:
        print("\n".join(f"{TARGETS[n][0]:32} {after:5.1f} % caught "
                        f"({before:.1f} % without the figure tests)"
                        for n, (before, after) in scores.items()))
        if any(after < args.min for _, after in scores.values()):
            sys.exit(1)


if __name__ == "__main__":
    main()
