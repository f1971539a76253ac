#!/bin/bash
# fio-jobs/three-config, very short: 2 guests, 2 s per job, every
# configuration. Passes when dom0 and domu ran with nonzero throughput from
# every guest, domu-bypass either did the same or results.json says why it
# could not run, the report was written, and nothing the runner made is left
# (namespaces, links, NAPI threads, processes), also after a run interrupted
# with SIGINT in the middle of a job. Where perf is installed, a short
# --profile run must give a breakdown by component (or say why perf
# refused). Speed is not judged here.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

xi_need_root "network namespaces and veth links"
xi_need_cmd ip iproute2
xi_need_cmd ethtool ethtool
xi_need_cmd python3 python3
runner=$top_srcdir/fio-jobs/three-config
[ -x /usr/bin/python3 ] || xi_skip "fio-jobs/three-config runs /usr/bin/python3"
ip netns add "xi3-probe$$" 2>/dev/null || xi_skip "cannot create a network namespace here"
ip netns del "xi3-probe$$"

tag=t$$
export XTGTD=$top_builddir/target/xtgtd
export XISCSI_ENGINE_SO=$top_builddir/fio-jobs/engine/xiscsi.so
[ -f "$XISCSI_ENGINE_SO" ] || xi_skip "fio engine not built (./configure --with-fio-src=DIR; make)"

# What the runner made must be gone: namespaces, processes started in
# them, and the NAPI threads of their links (which go with the links).
leftovers() { # TAG RESULTS.JSON-or-""
	local t=$1 j=$2 n
	n=$(ip netns list | grep -c "^xi3-$t-")
	[ "$n" -eq 0 ] || echo "namespaces left: $(ip netns list | grep "^xi3-$t-" | tr '\n' ' ')"
	# The root namespace never holds our links, even for a moment.
	ip -o link show | grep -q ' xi3-' && echo "links left in the root namespace: $(ip -o link show | grep ' xi3-')"
	pgrep -f "xi3-$t-" >/dev/null && echo "processes left: $(pgrep -af "xi3-$t-")"
	if [ -n "$j" ]; then
		python3 - "$j" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
for tid, dev in doc["meta"]["napi_threads"].items():
    try:
        comm = open(f"/proc/{tid}/comm").read().strip()
    except OSError:
        continue
    if comm.startswith("napi/xi3-"):
        print(f"NAPI thread {tid} ({comm}) of {dev} left")
EOF
	fi
}

out=$XI_TMP/res
"$runner" --tag "$tag" --guests 2 --time 2 --size 32M --configs dom0,domu,domu-bypass \
	--out "$out" >"$XI_TMP/run.log" 2>&1
rc=$?
cat "$XI_TMP/run.log"
[ "$rc" -eq 77 ] && xi_skip "three-config could not run here (see above)"
[ "$rc" -eq 0 ] || xi_fail "three-config exited $rc"
[ -s "$out/results.json" ] || xi_fail "no results.json"
[ -s "$out/results.md" ] || xi_fail "no results.md"
if command -v gnuplot >/dev/null 2>&1; then
	[ -s "$out/plot.png" ] || xi_fail "gnuplot is installed but there is no plot.png"
fi

python3 - "$out/results.json" <<'EOF' || xi_fail "results.json does not show every configuration working"
import json, sys
doc = json.load(open(sys.argv[1]))
bad = []
ran = {c for c, s in doc["configs"].items() if s["ran"]}
for c in ("dom0", "domu"):
    if c not in ran:
        bad.append(f"{c} did not run: {doc['configs'][c]['why']}")
if "domu-bypass" not in ran:
    why = doc["configs"]["domu-bypass"]["why"]
    if not why:
        bad.append("domu-bypass did not run and results.json does not say why")
    print(f"domu-bypass did not run: {why}")
for c in ran:
    for job in doc["meta"]["jobs"]:
        runs = [r for r in doc["runs"] if r["config"] == c and r["job"] == job]
        if len(runs) != 1:
            bad.append(f"{c} {job}: {len(runs)} results")
            continue
        r = runs[0]
        if len(r["guests"]) != doc["meta"]["guests"]:
            bad.append(f"{c} {job}: {len(r['guests'])} guests reported")
        for g in r["guests"]:
            if not g.get("bytes") or not g.get("iops") or g.get("rc") != 0:
                bad.append(f"{c} {job} guest {g['guest']}: rc {g.get('rc')} bytes {g.get('bytes')}")
        if not r["total"]["gbit_s"] > 0:
            bad.append(f"{c} {job}: no aggregate throughput")
        # The CPU split must have seen work where the packets went: Dom0's
        # bridge in domu, no Dom0 at all on the guests' own links.
        if c == "domu" and not r["cpu_s"]["dom0_napi"] > 0:
            bad.append(f"domu {job}: no CPU time in Dom0's NAPI threads")
        if c in ("dom0", "domu") and not r["cpu_s"]["storage"] > 0:
            bad.append(f"{c} {job}: no CPU time in the storage domain")
        print(f"{c:12s} {job:9s} {r['total']['gbit_s']:6.2f} Gbit/s  Dom0 {r['cpu_s']['dom0']:.2f} s")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF

left=$(leftovers "$tag" "$out/results.json")
[ -z "$left" ] || xi_fail "after the run: $left"

# --profile, where perf is: perf's report kept, and the samples summed by
# component, with work where the packets went.
if command -v perf >/dev/null 2>&1; then
	tagp=p$$
	"$runner" --tag "$tagp" --guests 1 --time 1 --size 16M --configs domu,domu-bypass \
		--jobs randread --profile --out "$XI_TMP/resp" >"$XI_TMP/runp.log" 2>&1
	rc=$?
	cat "$XI_TMP/runp.log"
	[ "$rc" -eq 0 ] || xi_fail "three-config --profile exited $rc"
	python3 - "$XI_TMP/resp" <<'EOF' || xi_fail "--profile did not give a breakdown"
import json, os, sys
out = sys.argv[1]
doc = json.load(open(os.path.join(out, "results.json")))
md = open(os.path.join(out, "results.md")).read()
pm = doc["meta"]["profile"]
bad = []
if not pm["ran"]:
    # perf is there but refused (perf_event_paranoid, a container): the
    # run must say so in results.md; nothing more to check.
    print(f"perf refused here: {pm['why']}")
    if not pm["why"] or pm["why"] not in md:
        bad.append("perf did not run and results.md does not say why")
else:
    if "## Where the CPU goes" not in md:
        bad.append("results.md has no profile section")
    for r in doc["runs"]:
        c, p = r["config"], r.get("profile") or {}
        cats = p.get("categories") or {}
        rep = os.path.join(out, "raw", f"{c}.randread.perf-report.txt")
        if not (os.path.exists(rep) and os.path.getsize(rep) > 0):
            bad.append(f"{c}: no raw/{c}.randread.perf-report.txt")
        if not p.get("busy_s", 0) > 0:
            bad.append(f"{c}: no busy samples ({p.get('error')})")
            continue
        if not p["tasks"]["fio"]["cpu_s"] > 0:
            bad.append(f"{c}: no samples of fio")
        if not cats["kernel TCP/IP, sockets, skbs"]["cpu_s"] > 0:
            bad.append(f"{c}: nothing in the kernel's TCP/IP")
        if c == "domu" and not cats["veth, bridge, netdev, GRO/GSO"]["cpu_s"] > 0:
            bad.append("domu: nothing in veth/bridge/netdev")
        if c == "domu-bypass" and not (cats["utcp (userspace TCP)"]["cpu_s"] +
                                       cats["xdp transport (rings, UMEM)"]["cpu_s"]) > 0:
            bad.append("domu-bypass: nothing in utcp or the xdp transport")
        print(f"{c}: {p['samples']} samples, busy {p['busy_s']:.2f} CPU-s")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
	left=$(leftovers "$tagp" "$XI_TMP/resp/results.json")
	[ -z "$left" ] || xi_fail "after the --profile run: $left"
else
	echo "perf not found (Debian package linux-perf): --profile not checked"
fi

# Interrupted in the middle of a job: SIGINT, as a Ctrl-C would send.
tag2=i$$
"$runner" --tag "$tag2" --guests 1 --time 30 --size 16M --configs domu --jobs seqread \
	--out "$XI_TMP/res2" >"$XI_TMP/run2.log" 2>&1 &
pid=$!
XI_PIDS="$XI_PIDS $pid"
for _ in $(seq 1 100); do
	pgrep -f "xi3-$tag2-g1 .*--rw=read" >/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
pgrep -f "xi3-$tag2-g1 .*--rw=read" >/dev/null || { cat "$XI_TMP/run2.log"; xi_fail "the second run never started its job"; }
kill -INT "$pid"
for _ in $(seq 1 75); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
kill -0 "$pid" 2>/dev/null && xi_fail "three-config still runs 15 s after SIGINT"
wait "$pid"
rc=$?
cat "$XI_TMP/run2.log"
[ "$rc" -eq 130 ] || xi_fail "interrupted three-config exited $rc, not 130"
left=$(leftovers "$tag2" "")
[ -z "$left" ] || xi_fail "after SIGINT: $left"
echo "PASS: three-config ran, reported, and cleaned up (also when interrupted)"
exit 0
