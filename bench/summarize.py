#!/usr/bin/env python3
"""Turns the output folder of bench/run.sh into a markdown report (medians of the runs).

Usage: bench/summarize.py OUT_DIR
"""
import json
import statistics
import sys
from pathlib import Path


def load_lines(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fmt(value, digits=0):
    if value is None:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def main():
    out = Path(sys.argv[1])
    results = load_lines(out / "results.jsonl")
    rss = load_lines(out / "rss.jsonl")
    machine = json.loads((out / "machine.json").read_text()) if (out / "machine.json").exists() else {}
    runs = sorted({r["run"] for r in results})

    def value(run, step, getter):
        for r in results:
            if r["run"] == run and r["step"] == step:
                try:
                    return getter(r)
                except (KeyError, ZeroDivisionError, TypeError):
                    return None
        return None

    def ratio(a, b):
        return a / b if a is not None and b else None

    def peak_rss_mb(run, phases=None):
        samples = [s["rss_kb"] for s in rss if s["run"] == run and (phases is None or s["phase"] in phases)]
        return max(samples) / 1024 if samples else None

    def cpu_split(r):
        return (r["server_cpu_cores"], r["generator_cpu_cores"], r["other_cpu_cores"])

    # (label, target, per-run getter, digits, check, ratio label, per-run ratio getter)
    rows = [
        ("fsync ceiling: 4 KB append + fdatasync (fsyncs/s)", "",
         lambda run: value(run, "fsync_ceiling", lambda r: r["fsyncs_per_s"]), 0, None, "", None),
        ("disk write ceiling: 1 MB append + fdatasync (MB/s)", "",
         lambda run: value(run, "fsync_ceiling", lambda r: r["write_mb_per_s"]), 0, None, "", None),
        ("no-op ceiling: GET /healthz, keep-alive (requests/s)", "",
         lambda run: value(run, "noop_ceiling", lambda r: r["requests_per_s"]), 0, None, "", None),
        ("no-op: CPU cores used by server / generator / other processes", "",
         lambda run: value(run, "noop_ceiling", cpu_split), "cpu", None, "", None),
        ("batch, closed loop (events/s)", "≥ 100,000",
         lambda run: value(run, "batch_closed", lambda r: r["events_per_s"]), 0, lambda v: v >= 100000,
         "body MB/s ÷ disk write MB/s",
         lambda run: ratio(value(run, "batch_closed", lambda r: r["sent_mb_per_s"]),
                           value(run, "fsync_ceiling", lambda r: r["write_mb_per_s"]))),
        ("batch, closed loop: server fsyncs/s", "",
         lambda run: value(run, "batch_closed", lambda r: r["server_fsyncs_per_s"]), 0, None,
         "÷ fsync ceiling",
         lambda run: ratio(value(run, "batch_closed", lambda r: r["server_fsyncs_per_s"]),
                           value(run, "fsync_ceiling", lambda r: r["fsyncs_per_s"]))),
        ("batch, closed loop: CPU cores used by server / generator / other processes", "",
         lambda run: value(run, "batch_closed", cpu_split), "cpu", None, "", None),
        ("batch, closed loop: p99 ack latency (ms)", "",
         lambda run: value(run, "batch_closed", lambda r: r["latency_ms"]["p99"]), 1, None, "", None),
        ("batch, open loop at half that rate: events/s achieved", "",
         lambda run: value(run, "batch_open_half", lambda r: r["events_per_s"]), 0, None, "÷ target rate",
         lambda run: value(run, "batch_open_half", lambda r: r["events_per_s"] / r["target_rate"])),
        ("batch, open loop at half rate: p50 ack latency (ms)", "",
         lambda run: value(run, "batch_open_half", lambda r: r["latency_ms"]["p50"]), 1, None, "", None),
        ("batch, open loop at half rate: p99 ack latency (ms)", "≤ 20",
         lambda run: value(run, "batch_open_half", lambda r: r["latency_ms"]["p99"]), 1, lambda v: v <= 20,
         "", None),
        ("batch, open loop at half rate: CPU cores used by server / generator / other processes", "",
         lambda run: value(run, "batch_open_half", cpu_split), "cpu", None, "", None),
        ("track (single event), closed loop, keep-alive (requests/s)", "≥ 20,000",
         lambda run: value(run, "track_closed", lambda r: r["requests_per_s"]), 0, lambda v: v >= 20000,
         "÷ no-op requests/s",
         lambda run: ratio(value(run, "track_closed", lambda r: r["requests_per_s"]),
                           value(run, "noop_ceiling", lambda r: r["requests_per_s"]))),
        ("track, closed loop: server fsyncs/s", "",
         lambda run: value(run, "track_closed", lambda r: r["server_fsyncs_per_s"]), 0, None,
         "÷ fsync ceiling",
         lambda run: ratio(value(run, "track_closed", lambda r: r["server_fsyncs_per_s"]),
                           value(run, "fsync_ceiling", lambda r: r["fsyncs_per_s"]))),
        ("track, closed loop: CPU cores used by server / generator / other processes", "",
         lambda run: value(run, "track_closed", cpu_split), "cpu", None, "", None),
        ("track, closed loop: p99 ack latency (ms)", "",
         lambda run: value(run, "track_closed", lambda r: r["latency_ms"]["p99"]), 1, None, "", None),
        ("server RSS, peak over all steps (MB)", "≤ 300",
         lambda run: peak_rss_mb(run), 0, lambda v: v <= 300, "", None),
        ("server RSS, peak during open-loop batch (MB)", "",
         lambda run: peak_rss_mb(run, {"batch_open_half"}), 0, None, "", None),
    ]

    lines = []
    if machine:
        lines += [
            f"- Date: {machine.get('date')}",
            f"- Commit: {machine.get('commit')}",
            f"- CPU: {machine.get('cpu')}, {machine.get('cores')} cores; memory {machine.get('memory')}; "
            f"kernel {machine.get('kernel')}",
            f"- Disk: {machine.get('disk')} ({machine.get('filesystem')}), data in {machine.get('data_dir')}",
            f"- Settings: {machine.get('settings')}",
            "",
        ]
    header = "| Measurement | Target | " + " | ".join(f"Run {r}" for r in runs) + " | Median | Ratio (median) | Met |"
    lines.append(header)
    lines.append("|" + "---|" * (len(runs) + 5))
    for label, target, getter, digits, check, ratio_label, ratio_getter in rows:
        values = [getter(run) for run in runs]
        if digits == "cpu":  # a (server, generator, other) triple; the median is taken per part
            parts = [v for v in values if v is not None]
            median = tuple(statistics.median(p[i] for p in parts) for i in range(3)) if parts else None
            show = lambda v: "–" if v is None else " / ".join(f"{x:.2f}" for x in v)
            lines.append(f"| {label} | {target} | " + " | ".join(show(v) for v in values) +
                         f" | {show(median)} |  |  |")
            continue
        present = [v for v in values if v is not None]
        median = statistics.median(present) if present else None
        ratio_text = ""
        if ratio_getter is not None:
            ratios = [x for x in (ratio_getter(run) for run in runs) if x is not None]
            if ratios:
                ratio_text = f"{statistics.median(ratios):.2f} ({ratio_label})"
        met = "" if check is None or median is None else ("yes" if check(median) else "**no**")
        lines.append(f"| {label} | {target} | " + " | ".join(fmt(v, digits) for v in values) +
                     f" | {fmt(median, digits)} | {ratio_text} | {met} |")

    errors = {}
    for r in results:
        for code, count in r.get("errors", {}).items():
            errors[f"{r['step']} {code}"] = errors.get(f"{r['step']} {code}", 0) + count
    lines.append("")
    lines.append("Errors during measurement: " +
                 (", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) if errors else "none"))

    for name in ("ingest_bench.json", "storage_bench.json"):
        path = out / name
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        lines += ["", f"Microbenchmarks ({name.split('_')[0]}):", "",
                  "| Benchmark | Time per iteration | Items/s | MB/s |", "|---|---|---|---|"]
        for b in data.get("benchmarks", []):
            lines.append(f"| {b['name']} | {b['real_time']:.3g} {b['time_unit']} | "
                         f"{fmt(b.get('items_per_second'))} | {fmt(b.get('bytes_per_second', 0) / 1e6, 1)} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
