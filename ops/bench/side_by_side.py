"""The end of the report: three systems side by side, and issue 15's targets.

``report(results)`` returns the lines ``run.py`` prints last: a table of the same
workloads on pyworkflow, on the plain Celery worker and on DBOS Transact (when it
ran), then one row per issue-15 target with the measured ratio and met/missed.
"""

from __future__ import annotations

from typing import Any

#: issue 15's targets
SEQ_RATIO_MAX = 1.0  # workflow ms/step / plain Celery ms/task (faster baseline), each N
SCALING_MAX = 1.3  # ms/step at the largest N / at N=10 ("flat"; today 0.64)
CONC_RATIO_MIN = 0.8  # workflow runs/s / plain 3-task chains/s
CONC_VS_DBOS_MIN = 1.0  # workflow runs/s / DBOS runs/s
HIT_RATE_MIN = 0.90  # state-cache hit rate, concurrent runs
TIMER_P99_MAX_MS = 100.0  # 200 runs sleeping 5 s, when DBOS did not run
TIMER_VS_DBOS_MAX = 1.0  # issue 29: 200 sleepers' p99 / DBOS's, in the same run
TIMER_10K_P99_MAX_MS = 100.0  # issue 29: 10,000 sleeping runs (issue 15: 1,000)
MEMORY_GROWTH_MAX = 1.10  # 10,000 sleeping runs: peak worker RSS / RSS before
RSS_RATIO_MAX = 1.10  # worker peak RSS / plain Celery worker's
MB = 1024 * 1024


def _f(value: float | None, fmt: str = ".2f", unit: str = "") -> str:
    return "-" if value is None else f"{value:{fmt}}{unit}"


def _mem(peak: tuple[int, int | None] | None) -> str:
    if not peak or not peak[0]:
        return "-"
    rss, pss = peak
    return f"{rss / MB:.0f} ({pss / MB:.0f})" if pss is not None else f"{rss / MB:.0f} (-)"


def _met(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "MISSED")


def report(r: Any) -> list[str]:
    lines: list[str] = []
    add = lines.append
    dbos = r.dbos_skipped is None
    names = ["pyworkflow", "plain Celery"] + ([f"DBOS {r.dbos_version}".strip()] if dbos else [])
    add("Side by side: the same workloads, one run, same machine (worker = the system's whole")
    add("process tree: Celery prefork parent + pool; DBOS: its one process, which also starts")
    add("the workflows, i.e. does what the bench client does for the other two)")
    if not dbos:
        add(f"  DBOS Transact: skipped: {r.dbos_skipped}")
    width = 18
    add(f"  {'':<44}" + "".join(f"{n:>{width}}" for n in names))

    def row(label: str, values: list[str]) -> None:
        add(f"  {label:<44}" + "".join(f"{v:>{width}}" for v in values[:len(names)]))

    for s in r.seq:
        row(f"ms per step, sequential N={s.n} (median)",
            [_f(s.wf_per_step_ms), _f(s.best_baseline_ms), _f(s.dbos_per_step_ms)])
    if r.conc_runs:
        row(f"{r.conc_runs} concurrent 3-step runs: runs/s",
            [_f(r.wf_runs_per_s, ".1f"), _f(r.chains_per_s, ".1f"), _f(r.dbos_runs_per_s, ".1f")])
    tw, td = r.timers.get("pyworkflow"), r.timers.get("dbos")

    def lat(t: Any) -> str:
        return "-" if t is None else f"{t.p50_ms:.0f} / {t.p99_ms:.0f}"

    if tw is not None:
        row(f"{tw.count} runs sleeping {tw.seconds:g} s: late p50/p99 ms",
            [lat(tw), "-", lat(td)])
    if r.big_timers is not None:
        big = r.big_timers
        row(f"{big.count} runs sleeping {big.seconds:g} s: late p50/p99 ms",
            [lat(big), "-", "not run"])
    row("worker peak RSS (PSS), MB",
        [_mem(r.peak_mem.get("pyworkflow")), _mem(r.peak_mem.get("celery")),
         _mem(r.peak_mem.get("dbos"))])
    for workload, label in (("seq", "sequential"), ("conc", "concurrent")):
        row(f"worker CPU ms per step, {label}",
            [_f(r.cpu_ms_per_step(sys_, workload)) for sys_ in ("pyworkflow", "celery", "dbos")])
    if r.conc_runs:
        row(f"worker CPU s for the {r.conc_runs} concurrent runs",
            [_f(r.cpu_s.get((sys_, "conc"))) for sys_ in ("pyworkflow", "celery", "dbos")])
    if tw is not None:
        row(f"worker CPU s for the {tw.count} sleeping runs",
            [_f(r.cpu_s.get(("pyworkflow", "timers"))), "-", _f(r.cpu_s.get(("dbos", "timers")))])
    add("  (plain Celery, sequential: the faster / cheaper of celery.chain and the self-chain)")
    add("")
    lines.extend(targets(r))
    return lines


def targets(r: Any) -> list[str]:
    """One row per issue-15 target: what was measured, the ratio, met or missed."""
    rows: list[tuple[str, str, str, str, str]] = []

    def target(label: str, measured: str, ratio: str, goal: str, ok: bool | None) -> None:
        rows.append((label, measured, ratio, goal, _met(ok)))

    for s in r.seq:
        ratio = s.wf_per_step_ms / s.best_baseline_ms
        vs_dbos = (f", DBOS {s.dbos_per_step_ms:.2f}" if s.dbos_per_step_ms is not None else "")
        target(f"per step, sequential N={s.n}: wf / plain Celery",
               f"{s.wf_per_step_ms:.2f} vs {s.best_baseline_ms:.2f} ms{vs_dbos}",
               f"{ratio:.2f}x", f"<= {SEQ_RATIO_MAX:.2f}x", ratio <= SEQ_RATIO_MAX)
    if len(r.seq) >= 2:
        first, last = r.seq[0], r.seq[-1]
        scaling = last.wf_per_step_ms / first.wf_per_step_ms
        target(f"per step flat: N={last.n} / N={first.n}",
               f"{last.wf_per_step_ms:.2f} vs {first.wf_per_step_ms:.2f} ms",
               f"{scaling:.2f}x", f"<= {SCALING_MAX:.2f}x", scaling <= SCALING_MAX)
    if r.conc_runs:
        ratio = r.wf_runs_per_s / r.chains_per_s
        target(f"{r.conc_runs} concurrent: wf runs/s / chains/s",
               f"{r.wf_runs_per_s:.1f} vs {r.chains_per_s:.1f}",
               f"{ratio:.2f}x", f">= {CONC_RATIO_MIN:.2f}x", ratio >= CONC_RATIO_MIN)
        if r.dbos_runs_per_s:
            ratio = r.wf_runs_per_s / r.dbos_runs_per_s
            target(f"{r.conc_runs} concurrent: wf runs/s / DBOS runs/s",
                   f"{r.wf_runs_per_s:.1f} vs {r.dbos_runs_per_s:.1f}",
                   f"{ratio:.2f}x", f">= {CONC_VS_DBOS_MIN:.2f}x", ratio >= CONC_VS_DBOS_MIN)
        else:
            target(f"{r.conc_runs} concurrent: wf runs/s / DBOS runs/s", "DBOS skipped", "-",
                   f">= {CONC_VS_DBOS_MIN:.2f}x", None)
        hit = r.conc_hit_rate
        target(f"{r.conc_runs} concurrent: state-cache hit rate",
               "-" if hit is None else f"{hit * 100:.1f}%", "-",
               f">= {HIT_RATE_MIN * 100:.0f}%", None if hit is None else hit >= HIT_RATE_MIN)
    tw, td = r.timers.get("pyworkflow"), r.timers.get("dbos")
    big = r.big_timers if r.big_timers is not None else (
        tw if tw is not None and tw.count >= 10_000 else None)
    if tw is not None and tw is not big:
        vs = f", DBOS {td.p99_ms:.0f} ms" if td is not None else ""
        if td is not None and td.p99_ms > 0:
            ratio = tw.p99_ms / td.p99_ms
            target(f"{tw.count} sleeping {tw.seconds:g} s: wake lateness p99",
                   f"{tw.p99_ms:.0f} ms{vs}", f"{ratio:.2f}x DBOS",
                   f"<= {TIMER_VS_DBOS_MAX:.2f}x DBOS", ratio <= TIMER_VS_DBOS_MAX)
        else:
            target(f"{tw.count} sleeping {tw.seconds:g} s: wake lateness p99",
                   f"{tw.p99_ms:.0f} ms", "-", f"<= {TIMER_P99_MAX_MS:.0f} ms",
                   tw.p99_ms <= TIMER_P99_MAX_MS)
    elif tw is None or tw is big:
        target("200 runs sleeping 5 s: wake lateness p99", "not run (--timers 200)", "-",
               f"<= {TIMER_VS_DBOS_MAX:.2f}x DBOS", None)
    if big is not None:
        target(f"{big.count} sleeping {big.seconds:g} s: wake lateness p99",
               f"{big.p99_ms:.0f} ms", "-", f"<= {TIMER_10K_P99_MAX_MS:.0f} ms",
               big.p99_ms <= TIMER_10K_P99_MAX_MS)
        growth = big.memory_growth
        target(f"{big.count} sleeping: worker RSS peak / before",
               "-" if growth is None else
               f"{big.rss_peak / MB:.0f} vs {big.rss_before / MB:.0f} MB",
               _f(growth, ".2f", "x"), f"<= {MEMORY_GROWTH_MAX:.2f}x",
               None if growth is None else growth <= MEMORY_GROWTH_MAX)
    else:
        target("10,000 sleeping runs: p99, flat memory", "not run (--big-timers 10000)", "-",
               f"<= {TIMER_10K_P99_MAX_MS:.0f} ms", None)
    wf_mem, plain_mem = r.peak_mem.get("pyworkflow"), r.peak_mem.get("celery")
    if wf_mem and plain_mem and wf_mem[0] and plain_mem[0]:
        ratio = wf_mem[0] / plain_mem[0]
        target("worker peak RSS: wf / plain Celery worker",
               f"{wf_mem[0] / MB:.0f} vs {plain_mem[0] / MB:.0f} MB", f"{ratio:.2f}x",
               f"<= {RSS_RATIO_MAX:.2f}x", ratio <= RSS_RATIO_MAX)
    else:
        target("worker peak RSS: wf / plain Celery worker", "no /proc", "-",
               f"<= {RSS_RATIO_MAX:.2f}x", None)
    for workload, label in (("seq", "sequential"), ("conc", "concurrent")):
        wf, plain = r.cpu_ms_per_step("pyworkflow", workload), r.cpu_ms_per_step("celery", workload)
        if wf is not None and plain:
            dbos = r.cpu_ms_per_step("dbos", workload)
            target(f"CPU per step, {label}: wf / plain (no target)",
                   f"{wf:.2f} vs {plain:.2f} ms" + (f", DBOS {dbos:.2f}" if dbos else ""),
                   f"{wf / plain:.2f}x", "-", None)

    out = ["Targets of issues 15 and 29 (ratios measured in this run; 'not measured': see the row)"]
    widths = [max(len(h), *(len(x[i]) for x in rows)) for i, h in
              enumerate(("target", "measured", "ratio", "goal", "result"))]
    header = ("target", "measured", "ratio", "goal", "result")
    out.append(("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
               .rstrip())
    out.append("  " + "  ".join("-" * w for w in widths))
    for x in rows:
        res = x[4] if "no target" not in x[0] else "-"
        cells = (*x[:4], res)
        out.append(("  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
                   .rstrip())
    met = sum(1 for x in rows if x[4] == "met")
    missed = sum(1 for x in rows if x[4] == "MISSED")
    out.append(f"  {met} met, {missed} missed")
    return out
