#!/usr/bin/env python3
"""bench-rdma-summary.py OUTDIR [MORE_OUTDIRS...]: medians of OUTDIR/raw.csv (smb3bench rows written in the guest by
bench-rdma.sh, labelled "server|transport|run|workload") per workload, channel count, server and
transport; prints the table with the smb3d/ksmbd ratio per transport and the RDMA/TCP ratio per
server, and writes OUTDIR/runs.csv (the rows with the label split), OUTDIR/summary.csv and
OUTDIR/ratios.dat (for bench-rdma.gp)."""
import csv
import statistics
import sys
from collections import defaultdict

out = sys.argv[1]
rows = []
for d in sys.argv[1:]:  # more directories: their rows are added (e.g. a 1- and a 4-channel run)
    for r in csv.DictReader(open(f"{d}/raw.csv")):
        srv, tr, run, wl = r["label"].split("|")
        r.update(server=srv, transport=tr, run=run, workload=wl)
        rows.append(r)

with open(f"{out}/runs.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["server", "transport", "run", "workload", "channels", "depth", "bs", "MBps", "IOPS",
                "p50_us", "p99_us", "secs", "client_cpu_pct", "errors"])
    for r in rows:
        w.writerow([r["server"], r["transport"], r["run"], r["workload"], r["channels"], r["depth"], r["bs"],
                    r["MBps"], r["IOPS"], r["p50_us"], r["p99_us"], r["secs"], r["cpu_pct"], r["errors"]])

groups = defaultdict(list)
order = []
for r in rows:
    k = (r["workload"], int(r["channels"]))
    if k not in order:
        order.append(k)
    if int(r["errors"]) == 0:
        groups[k + (r["server"], r["transport"])].append(r)


def metric(wl):
    return "MBps" if wl.startswith("seq") else "IOPS"


def med(k, col):
    rs = groups.get(k, [])
    return statistics.median(float(r[col]) for r in rs) if rs else None


def fmt(v):
    if v is None:
        return "-"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


hdr = ("workload", "ch", "unit", "smb3d RDMA", "ksmbd RDMA", "smb3d/ksmbd RDMA", "smb3d TCP", "ksmbd TCP",
       "smb3d/ksmbd TCP", "RDMA/TCP smb3d", "RDMA/TCP ksmbd", "p99 ms smb3d/ksmbd RDMA", "runs")
lines = [hdr]
summary = [hdr]
for wl, ch in order:
    m = metric(wl)
    v = {(s, t): med((wl, ch, s, t), m) for s in ("smb3d", "ksmbd") for t in ("rdma", "tcp")}
    p99 = {s: med((wl, ch, s, "rdma"), "p99_us") for s in ("smb3d", "ksmbd")}
    n = min(len(groups.get((wl, ch, s, t), [])) for s in ("smb3d", "ksmbd") for t in ("rdma", "tcp"))
    row = (wl, str(ch), "MB/s" if m == "MBps" else "ops/s",
           fmt(v["smb3d", "rdma"]), fmt(v["ksmbd", "rdma"]), ratio(v["smb3d", "rdma"], v["ksmbd", "rdma"]),
           fmt(v["smb3d", "tcp"]), fmt(v["ksmbd", "tcp"]), ratio(v["smb3d", "tcp"], v["ksmbd", "tcp"]),
           ratio(v["smb3d", "rdma"], v["smb3d", "tcp"]), ratio(v["ksmbd", "rdma"], v["ksmbd", "tcp"]),
           "/".join("-" if p99[s] is None else f"{p99[s] / 1000:.1f}" for s in ("smb3d", "ksmbd")), str(n))
    lines.append(row)
    summary.append(row)

with open(f"{out}/summary.csv", "w", newline="") as f:
    csv.writer(f).writerows(summary)

# ratios.dat for bench-rdma.gp: one row per workload, one column per transport and channel count
chans = sorted({ch for _, ch in order})
wls = []
for wl, _ in order:
    if wl not in wls:
        wls.append(wl)
with open(f"{out}/ratios.dat", "w") as f:
    f.write("workload " + " ".join(f"{t}_{c}ch" for c in chans for t in ("SMB-Direct", "TCP")) + "\n")
    for wl in wls:
        cols = []
        for c in chans:
            for t in ("rdma", "tcp"):
                a, b = med((wl, c, "smb3d", t), metric(wl)), med((wl, c, "ksmbd", t), metric(wl))
                cols.append(f"{a / b:.3f}" if a and b else "NaN")
        f.write(wl + " " + " ".join(cols) + "\n")
widths = [max(len(r[i]) for r in lines) for i in range(len(hdr))]
for r in lines:
    print("  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
import os
for d in sys.argv[1:]:
    lim = []
    if os.path.exists(f"{d}/ceiling.csv"):
        for name, bw in csv.reader(open(f"{d}/ceiling.csv")):
            lim.append(f"{name} {float(bw):.0f} MB/s (perftest, 1 MiB)")
    if os.path.exists(f"{d}/tcp.csv"):
        for r in csv.DictReader(open(f"{d}/tcp.csv")):
            lim.append(f"TCP loopback {float(r['MBps']):.0f} MB/s (smb3bench -op tcp)")
    if lim:
        print("ceilings in the guest: " + ", ".join(lim))
failed = [r for r in rows if int(r["errors"]) != 0]
if failed:
    print(f"{len(failed)} runs with errors left out")
print(open(f"{out}/machine.txt").read().rstrip())
