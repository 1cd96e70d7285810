"""The output of bench/bench_suite.py: the case headers, the tables, the summary, the JSON record
and the bar charts."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from suite_cases import Case, Row


def fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_case(case: Case, prefix: str = "") -> None:
    reads = ", ".join(f"{name} {1e3 * t:.4g} ms" for name, t in case.stream.items())
    fastest = min(case.stream, key=case.stream.__getitem__)
    print(f"## {prefix}{case.label}: sigma_1 = {case.exact:.6g}, "
          f"sigma_2 / sigma_1 = {case.gap:.6f}")
    print()
    print(f"Stream reads of A ({case.nbytes / 1e6:.1f} MB): {reads}; stream time "
          f"{1e3 * case.stream_time:.4g} ms ({fastest}) = {case.bandwidth:.1f} GB/s.")
    print()


def print_table(rows: list[Row], title: str, base: str) -> None:
    print(f"### {title}")
    print()
    print(f"| method | time [s] | vs {base} | rel. error | meets target | products "
          "| A^H A products | ms / A^H A | / stream | converged | notes |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |")
    for r in rows:
        ata = None if r.products is None else r.products / 2
        conv = "-" if r.converged is None else str(r.converged)
        print(f"| {r.method} | {fmt(r.time_s, '.4g')} | {fmt(r.ratio, '.2f')} | "
              f"{fmt(r.rel_error, '.1e')} | {'yes' if r.meets else 'no'} | "
              f"{fmt(r.products, 'd')} | {fmt(ata, 'g')} | {fmt(r.ms_per_ata, '.3f')} | "
              f"{fmt(r.per_stream, '.2f')} | {conv} | {r.note[:70]} |")
    print()


def print_summary(rows: list[Row]) -> None:
    """Per row: the fastest method that met the target; then every row where a peer beat the
    specnorm baseline (auto; lanczos in the hard-gap section) at matched accuracy."""
    print("## Summary")
    print()
    print("| matrix | tol | fastest meeting target | time [s] | specnorm baseline | time [s] "
          "| baseline meets target |")
    print("| --- | ---: | --- | ---: | --- | ---: | --- |")
    groups: dict[tuple[str, float], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.case, r.tol), []).append(r)
    beaten: list[str] = []
    for (label, tol), group in groups.items():
        ok = [r for r in group if r.meets and r.time_s is not None]
        best = min(ok, key=lambda r: r.time_s) if ok else None
        base = next((r for r in group if r.method == "specnorm auto"), None) or next(
            (r for r in group if r.method == "specnorm lanczos"), None)
        if base is None or base.time_s is None:
            continue
        print(f"| {label} | {tol:g} | {best.method if best else 'none'} | "
              f"{fmt(best.time_s if best else None, '.4g')} | {base.method} | "
              f"{base.time_s:.4g} | {'yes' if base.meets else 'no'} |")
        faster = [f"{r.method} ({r.time_s:.4g} s, ratio {r.ratio:.2f})" for r in ok
                  if not r.method.startswith("specnorm")
                  and (not base.meets or r.time_s < base.time_s)]
        if faster:
            why = "" if base.meets else f", which missed the target ({base.rel_error:.1e})"
            beaten.append(f"- {label}, tol {tol:g} ({base.method} {base.time_s:.4g} s{why}): "
                          + ", ".join(faster))
    print()
    print("Rows where a peer beat specnorm at matched accuracy:" if beaten
          else "No peer beat specnorm at matched accuracy.")
    print()
    if beaten:
        print("\n".join(beaten))
        print()


def write_json(path: str, header: dict[str, Any], cases: Sequence[Case],
               rows: Sequence[Row]) -> None:
    data = {**header, "cases": [{**asdict(c), "stream_time": c.stream_time,
                                 "bandwidth_gb_s": c.bandwidth} for c in cases],
            "rows": [asdict(r) for r in rows]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise SystemExit("--plot needs matplotlib: pip install matplotlib") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(path: str, rows: Sequence[Row], value: Callable[[Row], float | None],
              methods: Sequence[str], ylabel: str, title: str, hline: float | None) -> None:
    """Grouped bars: one group per (matrix, tol), one bar per method, log y axis; bars of rows
    that missed the target are hatched and pale."""
    plt = pyplot()
    groups = list(dict.fromkeys((r.case, r.tol) for r in rows))
    by_key = {(r.case, r.tol, r.method): r for r in rows}
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(min(max(8.0, 0.5 * len(groups)), 30.0), 6.0))
    for j, method in enumerate(methods):
        legend: str | None = method
        for i, (label, tol) in enumerate(groups):
            r = by_key.get((label, tol, method))
            y = None if r is None else value(r)
            if r is None or y is None or y <= 0:
                continue
            ax.bar(i + (j - (len(methods) - 1) / 2) * width, y, width, color=f"C{j}",
                   alpha=1.0 if r.meets else 0.35, hatch=None if r.meets else "//", label=legend)
            legend = None
    if hline is not None:
        ax.axhline(hline, color="black", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{c}\ntol {t:g}" for c, t in groups], rotation=90, fontsize=7)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, title="hatched: misses target", title_fontsize=7,
              bbox_to_anchor=(1.01, 1.0), loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
