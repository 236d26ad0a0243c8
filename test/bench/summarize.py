#!/usr/bin/env python3
"""summarize.py OUTDIR: medians of OUTDIR/runs.csv (written by run.sh) per server, workload and
channel count; prints the smb3d/smbd table, the ceiling (raw loopback TCP) and smbclient vs
smb3bench against the same smbd; writes OUTDIR/summary.csv and OUTDIR/ratios.dat (for plot.gp)."""
import csv
import statistics
import sys
from collections import defaultdict

out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/runs.csv")))
groups = defaultdict(list)
for r in rows:
    groups[(r["server"], r["workload"], int(r["channels"]))].append(r)


def med(rs, k):
    v = [float(r[k]) for r in rs]
    return statistics.median(v) if v else float("nan")


def metric(wl):
    return "MBps" if wl.startswith(("seq", "tcp")) else "IOPS"


order = []
for r in rows:
    k = (r["workload"], int(r["channels"]))
    if r["server"] in ("smbd", "smb3d") and k not in order:
        order.append(k)

summary = []
hdr = ("workload", "ch", "unit", "smbd", "smb3d", "ratio", "p99 smbd", "p99 smb3d", "srv cpu% smbd",
       "srv cpu% smb3d", "client cpu%", "outside cpu%", "runs")
lines = [hdr]
for wl, ch in order:
    a, b = groups.get(("smbd", wl, ch), []), groups.get(("smb3d", wl, ch), [])
    if not a or not b:
        continue
    m = metric(wl)
    va, vb = med(a, m), med(b, m)
    ratio = vb / va if va else float("nan")
    unit = "MB/s" if m == "MBps" else ("entries/s" if wl.startswith("list") else "IOPS")
    p99 = lambda rs: f"{med(rs, 'p99_us') / 1000:.1f}ms"
    row = (wl, ch, unit, f"{va:.0f}", f"{vb:.0f}", f"{ratio:.2f}", p99(a), p99(b),
           f"{med(a, 'server_cpu_pct'):.0f}", f"{med(b, 'server_cpu_pct'):.0f}",
           f"{med(a + b, 'client_cpu_pct'):.0f}", f"{med(a + b, 'outside_cpu_pct'):.0f}", f"{len(a)}/{len(b)}")
    lines.append(row)
    summary.append(dict(zip(hdr, row)))

w = [max(len(str(l[i])) for l in lines) for i in range(len(hdr))]
print("smb3d vs Samba smbd (medians; ratio = smb3d/smbd, higher is better for smb3d)")
for l in lines:
    print("  ".join(str(x).rjust(w[i]) if i else str(x).ljust(w[i]) for i, x in enumerate(l)))

print("\nceiling: raw loopback TCP in Go, 1 MiB writes (medians)")
for (srv, wl, ch), rs in sorted(groups.items()):
    if srv == "tcp":
        print(f"  {ch} connection(s): {med(rs, 'MBps'):.0f} MB/s, outside cpu {med(rs, 'outside_cpu_pct'):.0f}%")

print("\nclient check against the same smbd, 1 channel, each smbclient run right after a smb3bench run "
      "(medians): is smb3bench the bottleneck?")
for wl, op in (("seqwrite-1M", "put"), ("seqread-1M", "get")):
    c = groups.get(("smbclient", wl, 1), [])
    s = groups.get(("smb3bench", wl, 1), []) or groups.get(("smbd", wl, 1), [])
    if c and s:
        mc, ms = med(c, "MBps"), med(s, "MBps")
        cc, cs = med(c, "client_cpu_pct"), med(s, "client_cpu_pct")
        print(f"  {wl}: smbclient {op} {mc:.0f} MB/s (client {cc:.0f}% cpu, {cc * 10 / mc:.2f} cpu-s/GB; smbd "
              f"{med(c, 'server_cpu_pct'):.0f}%)  smb3bench {ms:.0f} MB/s (client {cs:.0f}% cpu, "
              f"{cs * 10 / ms:.2f} cpu-s/GB; smbd {med(s, 'server_cpu_pct'):.0f}%)  ratio {ms / mc:.2f}")

with open(f"{out}/summary.csv", "w", newline="") as f:
    cw = csv.DictWriter(f, fieldnames=hdr)
    cw.writeheader()
    cw.writerows(summary)

chans = sorted({int(s["ch"]) for s in summary})
by = defaultdict(dict)
names = []
for s in summary:
    if s["workload"] not in names:
        names.append(s["workload"])
    by[s["workload"]][int(s["ch"])] = s["ratio"]
with open(f"{out}/ratios.dat", "w") as f:
    f.write("workload " + " ".join(f"{c}_channel{'s' if c > 1 else ''}" for c in chans) + "\n")
    for n in names:
        f.write(n + " " + " ".join(by[n].get(c, "NaN") for c in chans) + "\n")
