#!/usr/bin/env python3
"""Turn one run-bench directory into results.csv, results.json, results.md
and plot.png.

Input (written by fio-jobs/run-bench): runs.tsv (one line per fio run: target,
engine, job, exit status, target CPU ticks, wall ms, fio JSON path),
iperf3-before.json and iperf3-after.json (optional), notes.txt. Every figure is also given as a ratio
against the peer measured in the same run: tgtd as the target (same engine,
same job), libiscsi as the initiator (same target, same job) and iperf3's
single TCP stream as the limit for bandwidth.
"""
import csv
import json
import os
import shutil
import subprocess
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")
BASE_TARGET = "tgtd"
BASE_ENGINE = "libiscsi"


def load_fio(path):
    """The fio JSON of one run, or None; fio may print notes before it."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    start = text.find("{")
    if start < 0:
        return None
    try:
        return json.loads(text[start:])
    except ValueError:
        return None


def pct(lat, p):
    v = (lat.get("percentile") or {}).get(p)
    return v / 1000.0 if v is not None else None


def summarise(doc):
    """IOPS, bandwidth, latency and initiator CPU over all jobs of a file."""
    s = {"ios": 0, "iops": 0.0, "mbps": 0.0, "runtime_s": 0.0, "ini_cpu_s": 0.0,
         "p50_us": None, "p99_us": None, "mean_us": None, "errors": 0}
    best = -1
    for job in doc.get("jobs", []):
        rt = job.get("job_runtime", 0) / 1000.0
        s["runtime_s"] = max(s["runtime_s"], rt)
        s["ini_cpu_s"] += (job.get("usr_cpu", 0) + job.get("sys_cpu", 0)) / 100.0 * rt
        s["errors"] += 1 if job.get("error", 0) else 0
        for d in ("read", "write"):
            st = job.get(d, {})
            n = st.get("total_ios", 0)
            s["ios"] += n
            s["iops"] += st.get("iops", 0.0)
            s["mbps"] += st.get("bw_bytes", 0) / 1e6
            # Latency of the direction that carried most commands: the
            # read side of the 70/30 mix, the only side of the others.
            if n > best:
                best = n
                lat = st.get("lat_ns") if st.get("lat_ns", {}).get("percentile") else st.get("clat_ns", {})
                s["p50_us"] = pct(lat, "50.000000")
                s["p99_us"] = pct(lat, "99.000000")
                s["mean_us"] = st.get("lat_ns", {}).get("mean", 0) / 1000.0 or None
    return s


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def fmt(v, nd=1):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def main(out):
    rows = []
    with open(os.path.join(out, "runs.tsv")) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["job"] == "prefill":
                continue
            doc = load_fio(r["json"])
            row = {"target": r["target"], "engine": r["engine"], "job": r["job"],
                   "rc": int(r["rc"]), "wall_s": int(r["wall_ms"]) / 1000.0,
                   "tgt_cpu_s": int(r["target_ticks"]) / CLK_TCK}
            if doc is None:
                row["status"] = "no result"
                rows.append(row)
                continue
            row.update(summarise(doc))
            ok = row["rc"] == 0 and row["errors"] == 0
            row["status"] = ("verified" if ok else "VERIFY FAILED") if r["job"] == "verify" \
                else ("ok" if ok else "FAILED")
            ios = row["ios"]
            row["tgt_cores"] = row["tgt_cpu_s"] / row["wall_s"] if row["wall_s"] else None
            row["tgt_us_per_io"] = row["tgt_cpu_s"] * 1e6 / ios if ios else None
            row["iops_per_tgt_core"] = ios / row["tgt_cpu_s"] if row["tgt_cpu_s"] else None
            row["ini_us_per_io"] = row["ini_cpu_s"] * 1e6 / ios if ios else None
            rows.append(row)

    # The better of iperf3's runs before and after the matrix.
    tcp_runs = {}
    for tag in ("before", "after"):
        try:
            with open(os.path.join(out, f"iperf3-{tag}.json")) as f:
                ip = json.load(f)
            tcp_runs[tag] = ip["end"]["sum_received"]["bits_per_second"] / 8e6
        except (OSError, ValueError, KeyError):
            pass
    tcp_mbps = max(tcp_runs.values()) if tcp_runs else None

    index = {(r["target"], r["engine"], r["job"]): r for r in rows}
    for r in rows:
        bt = index.get((BASE_TARGET, r["engine"], r["job"]))
        be = index.get((r["target"], BASE_ENGINE, r["job"]))
        r["iops_vs_tgtd"] = ratio(r.get("iops"), bt and bt.get("iops"))
        r["tgt_cpu_io_vs_tgtd"] = ratio(r.get("tgt_us_per_io"), bt and bt.get("tgt_us_per_io"))
        r["p50_vs_tgtd"] = ratio(r.get("p50_us"), bt and bt.get("p50_us"))
        r["iops_vs_libiscsi"] = ratio(r.get("iops"), be and be.get("iops"))
        r["ini_cpu_io_vs_libiscsi"] = ratio(r.get("ini_us_per_io"), be and be.get("ini_us_per_io"))
        r["mbps_vs_tcp"] = ratio(r.get("mbps"), tcp_mbps)

    cols = ["target", "engine", "job", "status", "iops", "mbps", "p50_us", "p99_us", "mean_us",
            "tgt_cpu_s", "tgt_cores", "iops_per_tgt_core", "tgt_us_per_io", "ini_us_per_io",
            "iops_vs_tgtd", "tgt_cpu_io_vs_tgtd", "p50_vs_tgtd", "iops_vs_libiscsi",
            "ini_cpu_io_vs_libiscsi", "mbps_vs_tcp", "ios", "wall_s"]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow(["" if r.get(c) is None else (f"{r[c]:.4g}" if isinstance(r[c], float) else r[c])
                        for c in cols])
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"tcp_single_stream_MBps": tcp_mbps, "tcp_runs_MBps": tcp_runs, "rows": rows}, f, indent=1)

    md = [f"# run-bench results ({os.path.basename(out)})", ""]
    try:
        with open(os.path.join(out, "notes.txt")) as f:
            md += ["```"] + [l.rstrip() for l in f] + ["```", ""]
    except OSError:
        pass
    md.append("Raw TCP, iperf3 one stream over loopback: " +
              (f"{tcp_mbps:,.0f} MB/s (" + ", ".join(f"{k} {v:,.0f}" for k, v in tcp_runs.items()) +
               "; the better is the limit)" if tcp_mbps else "not measured"))
    md.append("")
    try:
        with open(os.path.join(out, "xt_bench.txt")) as f:
            md += ["Transport limits (tests/transport/xt_bench, same run):", "", "```"] + \
                [l.rstrip() for l in f] + ["```", ""]
    except OSError:
        pass
    md.append("Latency is fio's total (submit to completion), of the direction with the most "
              "commands. Target CPU is utime+stime of the whole target process while the job ran; "
              "initiator CPU is fio's usr+sys. Ratios: vs tgtd = same engine and job on tgtd; "
              "vs libiscsi = same target and job through libiscsi's engine; vs TCP = MB/s over "
              "iperf3's single stream.")
    md.append("")
    head = ["job", "target", "engine", "status", "IOPS", "MB/s", "p50 µs", "p99 µs",
            "tgt cores", "IOPS/tgt core", "tgt µs/IO", "ini µs/IO",
            "IOPS vs tgtd", "tgt CPU/IO vs tgtd", "p50 vs tgtd", "IOPS vs libiscsi",
            "ini CPU/IO vs libiscsi", "MB/s vs TCP"]
    md.append("| " + " | ".join(head) + " |")
    md.append("|" + "---|" * len(head))
    for r in sorted(rows, key=lambda r: (r["job"], r["target"], r["engine"])):
        md.append("| " + " | ".join([
            r["job"], r["target"], r["engine"], r.get("status", ""),
            fmt(r.get("iops")), fmt(r.get("mbps")), fmt(r.get("p50_us")), fmt(r.get("p99_us")),
            fmt(r.get("tgt_cores"), 2), fmt(r.get("iops_per_tgt_core")),
            fmt(r.get("tgt_us_per_io")), fmt(r.get("ini_us_per_io")),
            fmt(r.get("iops_vs_tgtd"), 2), fmt(r.get("tgt_cpu_io_vs_tgtd"), 2),
            fmt(r.get("p50_vs_tgtd"), 2), fmt(r.get("iops_vs_libiscsi"), 2),
            fmt(r.get("ini_cpu_io_vs_libiscsi"), 2), fmt(r.get("mbps_vs_tcp"), 2)]) + " |")
    md.append("")
    md += goals(index, tcp_mbps)
    md += plot(out, rows)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    bad = [r for r in rows if r.get("status") not in ("ok", "verified")]
    return 1 if any(r["job"] == "verify" for r in bad) else 0


def goals(index, tcp_mbps):
    """The targets of issue 10, each with the figure this run measured."""
    def g(t, e, j, k):
        r = index.get((t, e, j))
        return r.get(k) if r else None

    lines = ["## Goals (issue 10)", "", "| goal | measured | met |", "|---|---|---|"]

    def add(name, val, want, better_high=True):
        if val is None:
            lines.append(f"| {name} | not measured | – |")
            return
        met = val >= want if better_high else val <= want
        lines.append(f"| {name} | {val:.2f} | {'yes' if met else 'no'} |")

    x, base = "xtgtd-tcp", "libiscsi"
    for job, lbl in (("randread-4k-qd32", "4k randread QD32"), ("randwrite-4k-qd32", "4k randwrite QD32")):
        add(f"{x} / tgtd, libiscsi, {lbl} IOPS >= 2", g(x, base, job, "iops_vs_tgtd"), 2.0)
        add(f"{x} / tgtd, libiscsi, {lbl} target CPU/IO <= 0.25", g(x, base, job, "tgt_cpu_io_vs_tgtd"),
            0.25, False)
    for job, lbl in (("randread-4k-qd1", "4k randread QD1"), ("randwrite-4k-qd1", "4k randwrite QD1")):
        add(f"{x} / tgtd, libiscsi, {lbl} p50 latency <= 0.8", g(x, base, job, "p50_vs_tgtd"), 0.8, False)
    for job, lbl in (("seqread-128k-qd32", "128k seqread"), ("seqwrite-128k-qd32", "128k seqwrite")):
        add(f"{x} / tgtd, libiscsi, {lbl} MB/s >= 1.1", g(x, base, job, "iops_vs_tgtd"), 1.1)
        add(f"{x}, libiscsi, {lbl} / iperf3 >= 0.85", g(x, base, job, "mbps_vs_tcp"), 0.85)
    for job, lbl in (("randread-4k-qd32", "4k randread QD32"), ("randwrite-4k-qd32", "4k randwrite QD32")):
        add(f"xiscsi-tcp / libiscsi on {x}, {lbl} IOPS >= 1.5",
            g(x, "xiscsi-tcp", job, "iops_vs_libiscsi"), 1.5)
        add(f"xiscsi-tcp / libiscsi on {x}, {lbl} initiator CPU/IO <= 0.5",
            g(x, "xiscsi-tcp", job, "ini_cpu_io_vs_libiscsi"), 0.5, False)
    lines.append("")
    return lines


def plot(out, rows):
    """IOPS of every target/engine pair relative to tgtd + libiscsi, per job."""
    jobs = sorted({r["job"] for r in rows if r["job"] != "verify"})
    pairs = sorted({(r["target"], r["engine"]) for r in rows})
    idx = {(r["target"], r["engine"], r["job"]): r for r in rows}
    dat = os.path.join(out, "plot.dat")
    with open(dat, "w") as f:
        f.write("job " + " ".join(f"{t}+{e}" for t, e in pairs) + "\n")
        for j in jobs:
            base = idx.get((BASE_TARGET, BASE_ENGINE, j), {}).get("iops")
            vals = []
            for t, e in pairs:
                v = idx.get((t, e, j), {}).get("iops")
                vals.append(f"{v / base:.3f}" if v and base else "0")
            f.write(j + " " + " ".join(vals) + "\n")
    gp = os.path.join(out, "plot.gp")
    with open(gp, "w") as f:
        f.write(f"""set terminal pngcairo size 1200,600 noenhanced
set output '{os.path.join(out, "plot.png")}'
set title 'IOPS relative to tgtd + libiscsi engine (same run)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside right top
set xtics rotate by -30
set ylabel 'ratio'
set grid ytics
set yrange [0:*]
plot for [i=2:{len(pairs) + 1}] '{dat}' using i:xtic(1) title columnheader(i)
""")
    if not shutil.which("gnuplot"):
        return ["Plot: not drawn, gnuplot is not installed (apt-get install gnuplot-nox); "
                "plot.gp and plot.dat are there to draw it later.", ""]
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if r.returncode != 0:
        return [f"Plot: gnuplot failed: {r.stderr.strip()[:300]}", ""]
    return ["![IOPS relative to tgtd + libiscsi](plot.png)", ""]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RESULTS_DIR")
    sys.exit(main(sys.argv[1]))
