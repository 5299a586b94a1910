#!/usr/bin/env python3
"""Sums up a cluster bench log's lease lines, per node (docs/BENCHMARKS.md, "The cluster under
load"): the renewals unanswered for a tick, in bursts, and where the logged renewals' time went.

Usage: python3 scripts/renewals.py LOG, LOG from `cargo bench -p bandsync-e2e --bench cluster`
run with BANDSYNC_LOG=warn,bandsync_server::nodes=info,bandsync_server::renewals=debug.
"""
import re, sys, statistics
from datetime import datetime, timezone
ansi = re.compile(r'\x1b\[[0-9;]*m')
def ts(s): return datetime.strptime(s[:26], '%Y-%m-%dT%H:%M:%S.%f').timestamp()
nodes = {}
for raw in open(sys.argv[1], errors='replace'):
    line = ansi.sub('', raw)
    m = re.match(r'(\S+Z)\s+(\w+)\s+leases\{node=(\w+)\}: (.*)', line)
    if not m: continue
    t, lvl, node, rest = ts(m.group(1)), m.group(2), m.group(3), m.group(4)
    n = nodes.setdefault(node, {'unrenewed': [], 'expired': 0, 'slow': [], 'queued': [], 'late': []})
    f = dict((k, float(v)) for k, v in re.findall(r'(\w+_ms|leases|passed_over)=([-\d.e]+)', rest))
    if 'lease not renewed' in rest: n['unrenewed'].append(t)
    elif 'expired unrenewed' in rest: n['expired'] += 1
    elif "renewals' connection" in rest: n['slow'].append((t, f))
    elif 'blocking thread' in rest: n['queued'].append((t, f['queued_ms']))
    elif 'ran late' in rest: n['late'].append((t, f['late_ms']))
def q(xs, p): return sorted(xs)[min(len(xs)-1, int(p*len(xs)))] if xs else 0
for node, n in sorted(nodes.items()):
    bursts = []
    for t in sorted(n['unrenewed']):
        if bursts and t - bursts[-1][1] < 1.0: bursts[-1][1] = t; bursts[-1][2] += 1
        else: bursts.append([t, t, 1])
    print(f"== {node}: {len(n['unrenewed'])} 'not renewed' lines in {len(bursts)} bursts, {n['expired']} let go unrenewed")
    slow = [f for _, f in n['slow']]
    for k in ['lock_ms', 'statement_ms', 'lookup_ms', 'waited_ms']:
        # `statement_ms` was `batches_ms` before the renewal became one statement.
        xs = [f.get(k, f.get('batches_ms', 0) if k == 'statement_ms' else 0) for f in slow]
        print(f"   {k}: n={len(xs)} p50={q(xs,.5):.1f} p90={q(xs,.9):.1f} max={max(xs) if xs else 0:.1f}")
    print(f"   queued>=50ms: {len(n['queued'])} max={max([x for _,x in n['queued']], default=0):.0f}; late ticks: {len(n['late'])} max={max([x for _,x in n['late']], default=0):.0f}")
    for b0, b1, c in bursts:
        near = lambda xs: [x for x in xs if b0 - 2 <= x[0] <= b1 + 3]
        s = [(round(t-b0,2), {k: round(v) for k, v in f.items()}) for t, f in near(n['slow'])]
        print(f"   burst at {datetime.fromtimestamp(b0, timezone.utc).strftime('%H:%M:%S.%f')[:-3]} ({c} lines, {b1-b0:.2f} s): slow renewals {s}; queued {[(round(t-b0,2), round(x)) for t,x in near(n['queued'])]}; late {[(round(t-b0,2), round(x)) for t,x in near(n['late'])]}")
