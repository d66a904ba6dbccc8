"""Sweep of the evolution-strategy settings behind the low-rank defaults
(issue 10): population, sigma, learning rate, lr schedule and rank of OpenES
(and PGPE) on digits 64-32-10, MNIST 784-32-10 (M1), MNIST 784-128-10 (M2)
and CartPole 4-16-2, each on a budget of process CPU seconds (a budget that
does not depend on the machine's load; threads spinning while descheduled
still count, so a loaded machine is somewhat pessimistic).

Protocol of ``bench_lowrank_quality.py``: MNIST split 8,000 / 2,000
stratified with seed 0, a fresh 512-image minibatch each generation, relu
hidden layer, linear outputs, fitness minus the minibatch cross-entropy,
test accuracy of the centre (``es.mean``) after each generation, off the
clock; digits: split 1437 / 360 (seed 0), the whole training set each
generation, CPU seconds to 0.95 test accuracy.  CartPole: fitness the mean
return of 5 episodes (new starts each generation), CPU seconds until the
centre averages >= 475 on 20 fresh episodes (checked every 5 generations,
off the clock).

Each run appends one JSON line to ``--log`` (default
``results/sweep_lowrank.jsonl``) and the markdown table
``results/sweep_lowrank.md`` is rebuilt from all lines of the log.  A grid
(``--grid``) varies one setting of the task's base configuration at a time;
``--spec JSON`` runs one configuration (keys of the log lines).

Run:  python benchmarks/sweep_lowrank.py --task m2 --grid pop [--seed 0]
      python benchmarks/sweep_lowrank.py --task digits --grid defaults
      python benchmarks/sweep_lowrank.py --table   # only rebuild the table
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from bench_lowrank_quality import CLOCKS, MNIST, curve  # noqa: E402

import pyneat_lite as pn  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results")

#: CPU-second budget and the marks (CPU s) at which test accuracy is read;
#: about twice the wall-clock goals (both cores count, see the README).
BUDGETS = {"digits": (4.0, (1.0, 2.0, 4.0)), "m1": (60.0, (20.0, 60.0)),
           "m2": (120.0, (20.0, 60.0, 120.0)), "cartpole": (20.0, (20.0,))}

#: the configuration each grid varies (the best found before the sweep)
BASE = {
    "digits": {"pop": 100, "sigma": 0.02, "lr": 0.03, "rank": 1},
    "cartpole": {"pop": 100, "sigma": 0.02, "lr": 0.03, "rank": 1},
    "m1": {"pop": 2000, "sigma": 0.01, "lr": 0.015, "lr_decay": 0.996,
           "lr_limit": 0.0005, "rank": 1},
    "m2": {"pop": 2000, "sigma": 0.01, "lr": 0.015, "lr_decay": 0.996,
           "lr_limit": 0.0005, "rank": 1},
}

#: one setting changed at a time; a population change rescales lr_decay so
#: that the schedule is the same per evaluation (decay ** (pop / base pop))
GRIDS = {
    "defaults": [{"pop": None, "sigma": None, "lr": None, "lr_decay": None,
                  "lr_limit": None, "rank": None},
                 {"pop": None, "sigma": None, "lr": None, "lr_decay": None,
                  "lr_limit": None}],
    "pop": [{"pop": p} for p in (50, 100, 200, 500, 1000, 2000, 4000)],
    "sigma": [{"sigma": s} for s in (0.005, 0.01, 0.02, 0.05)],
    "lr": [{"lr": lr} for lr in (0.005, 0.01, 0.015, 0.025, 0.03, 0.05)],
    "schedule": [{"lr_decay": 1.0, "lr_limit": 0.0},
                 {"lr_decay": 0.998, "lr_limit": 0.0005},
                 {"lr_decay": 0.996, "lr_limit": 0.0005},
                 {"lr_decay": 0.994, "lr_limit": 0.0003}],
    "rank": [{"rank": r} for r in (1, 2, 4, None)],
}


def _task(task: str, seed: int, mnist: str):
    """(network, training fitness, test function) of a task."""
    if task == "cartpole":
        net = pn.Network([4, 16, 2], ["tanh", "linear"])
        env = pn.envs.CartPole()
        fit = pn.envs.Rollout(net, env, episodes=5, seed=seed)

        def check(es, k):
            return float(pn.envs.rollout(net, es.mean[None], env, episodes=20,
                                         seed=seed + 1, generation=k)[0])
        return net, fit, check
    if task == "digits":
        X, y = pn.datasets.load_digits()
        Xtr, Xte, ytr, yte = pn.datasets.train_test_split(X, y, test_size=0.2,
                                                          seed=0)
        net = pn.Network([64, 32, 10], ["relu", "linear"])
        batch = None
    else:
        X, y = pn.datasets.load_mnist(mnist)
        Xtr, Xte, ytr, yte = pn.datasets.train_test_split(X, y, test_size=2000,
                                                          seed=0)
        net = pn.Network([784, 128 if task == "m2" else 32, 10], ["relu", "linear"])
        batch = 512
    fit = pn.tasks.Classification(net, Xtr, ytr, metric="cross_entropy",
                                  batch_size=batch, seed=seed)
    return net, fit, pn.tasks.Classification(net, Xte, yte)


def _make(spec: dict, net: pn.Network, seed: int):
    """The strategy of a spec; keys whose value is None keep the defaults."""
    algo = getattr(pn, spec.get("algo", "OpenES"))
    kw = {k: v for k, v in spec.items() if v is not None and k not in
          ("task", "algo", "pop", "seed", "budget", "tag")}
    if kw.get("rank") is not None:
        kw["network"] = net
    args = (net.n_params,) if spec.get("pop") is None else (net.n_params, spec["pop"])
    x0 = net.init_genome(seed=seed) if spec["task"] != "cartpole" else None
    return algo(*args, x0=x0, seed=seed, **kw)


def _cartpole_curve(es, fit, check, budget, now):
    """Seconds of ``now`` until the centre averages >= 475 on 20 fresh
    episodes (checks every 5 generations, off the clock)."""
    es.run(fit, generations=1)  # compile off the clock
    clock, hit, ret, k = 0.0, None, 0.0, 0
    while clock < budget:
        t0 = now()
        es.run(fit, generations=5)
        clock += now() - t0
        k += 1
        ret = check(es, k)
        if ret >= 475.0:
            hit = clock
            break
    return {"final": round(ret, 1), "hit": hit}


def run_one(spec: dict, mnist: str = MNIST, clock: str = "cpu") -> dict:
    """Run one configuration on its task's budget of ``clock`` seconds; its
    log record."""
    task, seed = spec["task"], spec.get("seed", 0)
    budget, marks = BUDGETS[task]
    if spec.get("budget"):  # a shorter (or longer) run: marks up to it
        budget = float(spec["budget"])
        marks = tuple(m for m in marks if m < budget) + (budget,)
    net, fit, test = _task(task, seed, mnist)
    es = _make(spec, net, seed)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    rec = dict(spec, seed=seed, budget=budget, clock=clock)
    rec["marks"] = list(marks)
    thr0 = time.thread_time()
    if task == "cartpole":
        rec.update(_cartpole_curve(es, fit, test, budget, CLOCKS[clock]))
        thread = time.thread_time() - thr0
    else:
        target = 0.95 if task == "digits" else None
        _, accs, at, hit, _, _ = curve(es, fit, test, budget, marks, target,
                                       clock=clock)
        thread = curve.last_thread
        rec.update(at={f"{m:g}": round(a, 4) for m, a in at.items()},
                   final=round(accs[-1], 4), hit=hit)
    p = es.params
    rec.update(resolved={k: getattr(p, k) for k in ("pop_size", "sigma", "lr")},
               gens=es.generation, cpu=round(time.process_time() - cpu0, 1),
               thread=round(thread, 1),
               wall=round(time.perf_counter() - wall0, 1),
               load=round(os.getloadavg()[0], 1))
    return rec


def _fmt(rec: dict) -> str:
    r = rec["resolved"]
    sched = (f"x{rec['lr_decay']:g} to {rec.get('lr_limit', 0):g}"
             if rec.get("lr_decay") not in (None, 1.0) else "constant")
    res = (" / ".join(f"{a:.4f} ({m})" for m, a in rec["at"].items())
           if "at" in rec else f"return {rec['final']}")
    hit = "-" if rec["hit"] is None else f"{rec['hit']:.2f}"
    rank = rec.get("rank") if rec.get("rank") is not None else "full"
    ratio = f"{rec['cpu'] / rec['thread']:.2f}" if rec.get("thread") else "-"
    return (f"| {rec['task']} | {rec.get('algo', 'OpenES')} | {rec.get('tag', '')} | "
            f"{r['pop_size']} | {r['sigma']:g} | {r['lr']:.4g} | {sched} | {rank} | "
            f"{rec['seed']} | {rec.get('clock', 'cpu')} {rec['budget']:g} s | {res} | {hit} | {rec['gens']} | "
            f"{ratio} | {rec['load']} |")


def write_table(log: Path, out: Path) -> None:
    """Rebuild the markdown table from every line of the log."""
    recs = [json.loads(s) for s in log.read_text().splitlines() if s.strip()]
    order = {t: i for i, t in enumerate(BUDGETS)}
    recs.sort(key=lambda r: (order[r["task"]], r.get("tag", "")))
    lines = ["CPU-second budgets: " + ", ".join(
        f"{t} {b:g} s (marks {', '.join(f'{m:g}' for m in ms)})"
        for t, (b, ms) in BUDGETS.items()),
        "test accuracy at the marks (MNIST); digits: CPU s to 0.95 test accuracy;"
        " cartpole: CPU s until the centre's mean return on 20 fresh episodes"
        " is >= 475; load = 1-minute load average at the end of the run "
        f"({os.cpu_count()} cores)", "",
        "| task | algorithm | grid | pop | sigma | lr | lr schedule | rank | seed | "
        "clock, budget | result at the marks (CPU s) | s to target | generations | CPU / main thread "
        "| load |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [_fmt(r) for r in recs]
    out.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=MNIST)
    ap.add_argument("--task", choices=sorted(BUDGETS), default="m1")
    ap.add_argument("--grid", choices=sorted(GRIDS), default=None)
    ap.add_argument("--spec", default=None, help="one configuration, as JSON")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clock", choices=["cpu", "thread"], default="cpu",
                    help="budget in process CPU s (default) or main-thread CPU s")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per run instead of the task's budget")
    ap.add_argument("--table", action="store_true", help="only rebuild the table")
    ap.add_argument("--log", default=os.path.join(RESULTS, "sweep_lowrank.jsonl"))
    args = ap.parse_args(argv)
    log = Path(args.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    specs = []
    if args.spec:
        specs.append({"task": args.task, "seed": args.seed, **json.loads(args.spec)})
        if args.budget:
            specs[-1]["budget"] = args.budget
    elif args.grid:
        base = BASE[args.task]
        for change in GRIDS[args.grid]:
            spec = {"task": args.task, "seed": args.seed, **base, **change,
                    "tag": args.grid}
            if "pop" in change and base.get("lr_decay"):
                spec["lr_decay"] = round(base["lr_decay"] ** (change["pop"]
                                                              / base["pop"]), 5)
            if args.budget:
                spec["budget"] = args.budget
            specs.append(spec)
    for spec in specs:
        rec = run_one(spec, args.mnist, args.clock)
        print(_fmt(rec), flush=True)
        with log.open("a") as f:
            f.write(json.dumps(rec) + "\n")
    if log.exists():
        write_table(log, log.with_suffix(".md"))
        print(f"table: {log.with_suffix('.md')}")


if __name__ == "__main__":
    main()
