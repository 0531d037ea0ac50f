#!/usr/bin/env python3
"""Render BPMN files to PNG exactly as bpmn.io (bpmn-js) shows them -- a design-time tool.

Not part of the application and never imported at run time: it only needs the Python standard
library, Debian's Chromium and the npm package bpmn-js, and installs those when they are missing:

* ``apt-get install -y chromium fonts-noto-cjk`` when ``/usr/bin/chromium`` is absent (and
  ``fonts-noto-cjk`` alone when Chromium is there but no CJK font is; without it Chinese labels
  render as boxes);
* ``npm install --prefix tools`` (tools/package.json) when ``tools/node_modules/bpmn-js`` is absent.

For every file it writes a small HTML page that loads bpmn-js's NavigatedViewer bundle from
``tools/node_modules/bpmn-js/dist/`` over ``file://`` (the XML is embedded in the page, so nothing
is fetched and no server or CDN is needed), imports the XML, calls ``canvas.zoom('fit-viewport')``
and is screenshotted by one headless Chromium driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``; no Python packages needed). The same page also reports:

* the import warnings bpmn-js reports, plus semantic elements that have no diagram element
  (missing DI -- bpmn-js silently draws nothing for those);
* element counts;
* layout notes (informational): overlapping shapes, sequence flows running through shapes,
  overlapping labels, text overflowing its box, nodes drawn outside the lane that lists them,
  edges sharing a segment, edge ends detached from their shapes.

Usage::

    python tools/render_diagrams.py                      # all bpmn/*.bpmn -> /tmp/huiqian-diagrams/
    python tools/render_diagrams.py bpmn/case_lifecycle.bpmn --out /tmp/d --full
    python tools/render_diagrams.py --no-install --strict-layout

Outputs ``OUT/<name>.png`` (2400x1400 viewport, fit-viewport, which never zooms above 1) and with ``--full`` also
``OUT/<name>.full.png`` at zoom 1 (the window sized to the whole diagram). Exit status: 0 when
every file imported without warnings or errors, 1 otherwise (also when ``--strict-layout`` is
given and there are layout notes), 2 when the tooling cannot be set up.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import html
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parent
REPO_DIR = TOOLS_DIR.parent
CHROMIUM = Path("/usr/bin/chromium")
BPMN_JS_DIR = TOOLS_DIR / "node_modules" / "bpmn-js"
DIST_DIR = BPMN_JS_DIR / "dist"
BUNDLE = "bpmn-navigated-viewer.production.min.js"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--allow-file-access-from-files",
]
MAX_FULL_SIDE = 10000  # px; a --full render larger than this is scaled down to fit


# --------------------------------------------------------------------------- installation


def _run(cmd: list[str], **kw) -> None:
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, **kw)


def _has_cjk_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    return bool(out.strip())


def ensure_chromium() -> None:
    packages = []
    if not CHROMIUM.exists():
        packages += ["chromium", "fonts-noto-cjk"]
    elif not _has_cjk_font():
        packages += ["fonts-noto-cjk"]
    if not packages:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"need root to apt-get install {' '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update"], env=env)
    _run(["apt-get", "install", "-y", "--no-install-recommends", *packages], env=env)


def ensure_bpmn_js() -> None:
    if (DIST_DIR / BUNDLE).exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm not found; install Node.js/npm to fetch bpmn-js")
    # tools/package.json pins bpmn-js (with the other design-time packages).
    _run([npm, "install", "--prefix", str(TOOLS_DIR), "--no-audit", "--no-fund"])
    if not (DIST_DIR / BUNDLE).exists():
        raise SystemExit(f"bpmn-js installed but {DIST_DIR / BUNDLE} is missing")


def bpmn_js_version() -> str:
    try:
        return json.loads((BPMN_JS_DIR / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"


# --------------------------------------------------------------------------- the page

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>__TITLE__</title>
<link rel="stylesheet" href="__DIST__/assets/diagram-js.css">
<link rel="stylesheet" href="__DIST__/assets/bpmn-js.css">
<link rel="stylesheet" href="__DIST__/assets/bpmn-font/css/bpmn.css">
<style>
  html, body { margin: 0; padding: 0; height: 100%; overflow: hidden; background: #fff; }
  #canvas { position: absolute; inset: 0; }
</style>
<script src="__DIST__/__BUNDLE__"></script>
</head><body><div id="canvas"></div>
<script>
const XML = __XML__;
__ANALYSIS__
</script></body></html>
"""

ANALYSIS_JS = r"""
function rect(e) { return { x: e.x, y: e.y, w: e.width, h: e.height }; }
function overlap(a, b, pad) {
  pad = pad || 0;
  return a.x + pad < b.x + b.w - pad && b.x + pad < a.x + a.w - pad &&
         a.y + pad < b.y + b.h - pad && b.y + pad < a.y + a.h - pad;
}
function inside(p, r, tol) {
  tol = tol || 0;
  return p.x >= r.x - tol && p.x <= r.x + r.w + tol && p.y >= r.y - tol && p.y <= r.y + r.h + tol;
}
// Liang-Barsky: does the segment p-q pass through the interior of r (shrunk by pad)?
function segHitsRect(p, q, r, pad) {
  const x0 = r.x + pad, x1 = r.x + r.w - pad, y0 = r.y + pad, y1 = r.y + r.h - pad;
  if (x0 >= x1 || y0 >= y1) return false;
  let t0 = 0, t1 = 1;
  const dx = q.x - p.x, dy = q.y - p.y;
  const checks = [[-dx, p.x - x0], [dx, x1 - p.x], [-dy, p.y - y0], [dy, y1 - p.y]];
  for (const [pp, qq] of checks) {
    if (pp === 0) { if (qq <= 0) return false; continue; }
    const t = qq / pp;
    if (pp < 0) { if (t > t1) return false; if (t > t0) t0 = t; }
    else { if (t < t0) return false; if (t < t1) t1 = t; }
  }
  return t1 - t0 > 1e-6;
}
function segsCross(a, b, c, d) {
  const o = (p, q, r) => Math.sign((q.x - p.x) * (r.y - p.y) - (q.y - p.y) * (r.x - p.x));
  return o(a, b, c) * o(a, b, d) < 0 && o(c, d, a) * o(c, d, b) < 0;
}
function collinearOverlap(a, b, c, d, tol) {
  // axis-parallel segments lying on (or, with tol, within tol px of) the same line: length of the shared part
  tol = tol || 2;
  if (Math.abs(a.y - b.y) < 1 && Math.abs(c.y - d.y) < 1 && Math.abs(a.y - c.y) < tol) {
    const lo = Math.max(Math.min(a.x, b.x), Math.min(c.x, d.x));
    const hi = Math.min(Math.max(a.x, b.x), Math.max(c.x, d.x));
    return hi - lo;
  }
  if (Math.abs(a.x - b.x) < 1 && Math.abs(c.x - d.x) < 1 && Math.abs(a.x - c.x) < tol) {
    const lo = Math.max(Math.min(a.y, b.y), Math.min(c.y, d.y));
    const hi = Math.min(Math.max(a.y, b.y), Math.max(c.y, d.y));
    return hi - lo;
  }
  return 0;
}
function name(e) {
  const bo = e.businessObject || {};
  return bo.name ? bo.id + ' "' + String(bo.name).replace(/\s+/g, ' ') + '"' : bo.id;
}
function textRect(e, registry) {
  // extent of the text actually rendered for element e (label or shape), in diagram coords
  const gfx = registry.getGraphics(e);
  if (!gfx) return null;
  const text = gfx.querySelector('.djs-visual text');
  if (!text || !text.textContent.trim()) return null;
  const bb = text.getBBox();
  if (!bb.width && !bb.height) return null;
  return { x: e.x + bb.x, y: e.y + bb.y, w: bb.width, h: bb.height };
}

function analyse(viewer, warnings) {
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  const all = registry.getAll();
  const shapes = all.filter(e => !e.waypoints && e.type !== 'label' && e.businessObject &&
                                 !(e.parent === undefined || e.parent === null));
  const connections = all.filter(e => e.waypoints);
  const labels = all.filter(e => e.type === 'label');
  const is = (e, t) => e.businessObject && e.businessObject.$instanceOf && e.businessObject.$instanceOf(t);
  const expanded = e => is(e, 'bpmn:SubProcess') && e.collapsed === false;
  const containers = shapes.filter(e => is(e, 'bpmn:Participant') || is(e, 'bpmn:Lane') ||
                                        is(e, 'bpmn:Group') || expanded(e));
  const nodes = shapes.filter(e => !containers.includes(e));
  const notes = [];
  const note = (kind, text) => notes.push({ kind, text });

  // ---- missing DI: semantic elements without any diagram element
  const defs = viewer.getDefinitions();
  const semantic = [];
  function walkFlow(container) {
    for (const fe of container.flowElements || []) { semantic.push(fe); if (fe.flowElements) walkFlow(fe); }
    for (const a of container.artifacts || []) semantic.push(a);
    for (const ls of container.laneSets || (container.laneSet ? [container.laneSet] : [])) walkLanes(ls);
  }
  function walkLanes(ls) {
    for (const lane of ls.lanes || []) { semantic.push(lane); if (lane.childLaneSet) walkLanes(lane.childLaneSet); }
  }
  for (const root of defs.rootElements || []) {
    if (root.$instanceOf('bpmn:Process')) walkFlow(root);
    if (root.$instanceOf('bpmn:Collaboration')) {
      for (const p of root.participants || []) semantic.push(p);
      for (const m of root.messageFlows || []) semantic.push(m);
      for (const a of root.artifacts || []) semantic.push(a);
    }
  }
  const counts = {};
  for (const s of semantic) counts[s.$type] = (counts[s.$type] || 0) + 1;
  const missing = semantic.filter(s => s.id && !registry.get(s.id) &&
                                       !s.$instanceOf('bpmn:DataObject'));  // DataObject has no DI by design
  for (const s of missing) {
    warnings.push('missing DI: ' + s.$type + ' ' + s.id + (s.name ? ' "' + s.name + '"' : '') +
                  ' has no diagram element (not drawn)');
  }
  // Processes with flow elements but no diagram at all / no participant shape are covered above.

  // ---- shapes overlapping shapes
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i], b = nodes[j];
      if (a.host === b || b.host === a) continue;       // a boundary event sits on its host's border
      if (overlap(rect(a), rect(b), 1)) note('shape-overlap', name(a) + ' overlaps ' + name(b));
    }
  }
  // ---- boundary events not on their host's border
  for (const b of nodes.filter(e => e.host)) {
    const c = { x: b.x + b.width / 2, y: b.y + b.height / 2 }, h = rect(b.host);
    const onBorder = inside(c, h, 2) && !inside(c, { x: h.x + 2, y: h.y + 2, w: h.w - 4, h: h.h - 4 });
    if (!onBorder) note('boundary-detached', name(b) + ' is not centred on the border of its host ' + name(b.host));
  }
  // ---- sequence flows running through shapes; detached edge ends
  for (const c of connections) {
    const wp = c.waypoints;
    for (const s of nodes) {
      if (s === c.source || s === c.target) continue;
      for (let k = 0; k + 1 < wp.length; k++) {
        if (segHitsRect(wp[k], wp[k + 1], rect(s), 3)) {
          const why = (s === (c.source && c.source.host) || s === (c.target && c.target.host))
            ? ' (the host of its own boundary event)' : '';
          note('edge-through-shape', 'edge ' + name(c) + ' (' + (c.source && c.source.id) + ' -> ' +
               (c.target && c.target.id) + ') runs through ' + name(s) + why);
          break;
        }
      }
    }
    if (c.source && !inside(wp[0], rect(c.source), 6))
      note('edge-detached', 'edge ' + name(c) + ' starts at (' + wp[0].x + ',' + wp[0].y + '), away from its source ' + c.source.id);
    const last = wp[wp.length - 1];
    if (c.target && !inside(last, rect(c.target), 6))
      note('edge-detached', 'edge ' + name(c) + ' ends at (' + last.x + ',' + last.y + '), away from its target ' + c.target.id);
  }
  // ---- edges sharing a segment (ambiguous flow), and crossings count
  let crossings = 0;
  for (let i = 0; i < connections.length; i++) {
    for (let j = i + 1; j < connections.length; j++) {
      const a = connections[i], b = connections[j];
      const shareEnd = a.source === b.source || a.target === b.target;
      let shared = 0, near = 0, crossed = false;
      for (let k = 0; k + 1 < a.waypoints.length; k++) {
        for (let l = 0; l + 1 < b.waypoints.length; l++) {
          const p = a.waypoints[k], q = a.waypoints[k + 1], r = b.waypoints[l], s = b.waypoints[l + 1];
          shared = Math.max(shared, collinearOverlap(p, q, r, s));
          near = Math.max(near, collinearOverlap(p, q, r, s, 9));
          if (segsCross(p, q, r, s)) crossed = true;
        }
      }
      if (crossed) crossings++;
      if (shared > 10 && !shareEnd)
        note('edge-overlap', 'edges ' + a.id + ' and ' + b.id + ' run on top of each other for ' + Math.round(shared) + 'px');
      else if (shared <= 10 && near > 20)
        note('edge-near-parallel', 'edges ' + a.id + ' and ' + b.id + ' run side by side less than 9px apart for ' +
             Math.round(near) + 'px (reads as one double line)');
    }
  }
  // ---- labels: actual rendered text extents
  const labelBoxes = [];
  for (const l of labels) {
    const r = textRect(l, registry);
    if (r) labelBoxes.push({ el: l, owner: l.labelTarget, r });
  }
  for (let i = 0; i < labelBoxes.length; i++) {
    for (let j = i + 1; j < labelBoxes.length; j++) {
      if (overlap(labelBoxes[i].r, labelBoxes[j].r, 0.5))
        note('label-overlap', 'label of ' + name(labelBoxes[i].owner) + ' overlaps label of ' + name(labelBoxes[j].owner));
    }
    for (const s of nodes) {
      const L = labelBoxes[i];
      if (s === L.owner) continue;
      if (overlap(L.r, rect(s), 1)) note('label-on-shape', 'label of ' + name(L.owner) + ' lies on ' + name(s));
    }
    for (const c of connections) {
      const L = labelBoxes[i];
      if (c === L.owner) continue;
      const wp = c.waypoints;
      for (let k = 0; k + 1 < wp.length; k++) {
        if (segHitsRect(wp[k], wp[k + 1], L.r, 1)) {
          note('label-crossed', 'label of ' + name(L.owner) + ' is crossed by edge ' + c.id); break;
        }
      }
    }
  }
  // ---- external labels drawn over their own event / gateway
  for (const L of labelBoxes) {
    const o = L.owner;
    if (!o || o.waypoints || !(is(o, 'bpmn:Event') || is(o, 'bpmn:Gateway'))) continue;
    const cx = o.x + o.width / 2, cy = o.y + o.height / 2;
    const dx = Math.max(L.r.x - cx, 0, cx - (L.r.x + L.r.w)), dy = Math.max(L.r.y - cy, 0, cy - (L.r.y + L.r.h));
    const hit = is(o, 'bpmn:Gateway') ? dx / (o.width / 2) + dy / (o.height / 2) < 0.97
                                      : Math.hypot(dx, dy) < o.width / 2 - 0.5;
    if (hit) note('label-on-own-shape', 'label of ' + name(o) + ' is drawn over its own symbol');
  }
  // ---- edges running along a lane / pool border, or outside the pool
  const bands = shapes.filter(e => is(e, 'bpmn:Lane') || is(e, 'bpmn:Participant'));
  for (const c of connections) {
    const wp = c.waypoints;
    let flagged = false;
    for (let k = 0; k + 1 < wp.length && !flagged; k++) {
      const p = wp[k], q = wp[k + 1];
      for (const b of bands) {
        const horizontal = Math.abs(p.y - q.y) < 1, vertical = Math.abs(p.x - q.x) < 1;
        const len = horizontal ? Math.abs(p.x - q.x) : Math.abs(p.y - q.y);
        if (len < 30) continue;
        const edges = horizontal ? [b.y, b.y + b.height] : vertical ? [b.x, b.x + b.width] : [];
        const along = horizontal ? p.y : p.x;
        const lo = horizontal ? Math.min(p.x, q.x) : Math.min(p.y, q.y), hi = lo + len;
        const spanLo = horizontal ? b.x : b.y, spanHi = spanLo + (horizontal ? b.width : b.height);
        if (hi <= spanLo || lo >= spanHi) continue;
        if (edges.some(v => Math.abs(along - v) < 12)) {
          note('edge-on-border', 'edge ' + name(c) + ' runs within 12px of the border of ' + name(b) +
               ' (' + (horizontal ? 'y' : 'x') + '=' + along + ')');
          flagged = true; break;
        }
      }
    }
    const pools = shapes.filter(e => is(e, 'bpmn:Participant'));
    if (pools.length && !is(c, 'bpmn:MessageFlow') &&
        !wp.every(pt => pools.some(pl => inside(pt, rect(pl), 0.5))))
      note('pool', 'edge ' + name(c) + ' leaves the pool');
  }
  // ---- flow labels placed next to another flow's target (e.g. midpoint of a shared trunk)
  for (const L of labelBoxes) {
    const o = L.owner;
    if (!o || !o.waypoints || !o.target) continue;
    const mid = { x: L.r.x + L.r.w / 2, y: L.r.y + L.r.h / 2 };
    const dist = pt => Math.hypot(pt.x - mid.x, pt.y - mid.y);
    const own = dist(o.waypoints[o.waypoints.length - 1]);
    for (const c of connections) {
      if (c === o || c.source !== o.source) continue;
      const end = c.waypoints[c.waypoints.length - 1];
      if (dist(end) < 60 && dist(end) < own / 2)
        note('label-misleading', 'label of ' + name(o) + ' sits at the entry of ' + c.target.id +
             ' (target of ' + c.id + '), not near its own target ' + o.target.id);
    }
  }
  // ---- external labels cut by a lane / pool border line
  for (const L of labelBoxes) {
    const seen = new Set();
    for (const b of shapes.filter(e => is(e, 'bpmn:Lane') || is(e, 'bpmn:Participant'))) {
      if (L.r.x + L.r.w <= b.x || L.r.x >= b.x + b.width) continue;
      for (const y of [b.y, b.y + b.height]) {
        if (seen.has(y) || !(L.r.y < y - 1 && L.r.y + L.r.h > y + 1)) continue;
        seen.add(y);
        note('label-on-border', 'label of ' + name(L.owner) + ' is cut by the border of ' + name(b) + ' (y=' + y + ')');
      }
    }
  }
  // ---- text inside tasks/pools/lanes that does not fit
  for (const s of nodes.filter(e => is(e, 'bpmn:Activity'))) {
    const r = textRect(s, registry);
    if (r && (r.x < s.x - 1 || r.y < s.y - 1 || r.x + r.w > s.x + s.width + 1 || r.y + r.h > s.y + s.height + 1))
      note('text-overflow', 'text of ' + name(s) + ' (' + Math.round(r.w) + 'x' + Math.round(r.h) +
           ') overflows its ' + s.width + 'x' + s.height + ' box');
  }
  // ---- task text running under the task-type icon (top-left corner)
  const iconTypes = ['bpmn:UserTask', 'bpmn:ManualTask', 'bpmn:ServiceTask', 'bpmn:ScriptTask', 'bpmn:SendTask',
                     'bpmn:ReceiveTask', 'bpmn:BusinessRuleTask'];
  for (const s of nodes.filter(e => iconTypes.some(t => is(e, t)))) {
    const gfx = registry.getGraphics(s);
    const icon = { x: s.x + 5, y: s.y + 5, w: 21, h: 21 };
    for (const span of gfx ? gfx.querySelectorAll('.djs-visual text tspan') : []) {
      if (!span.textContent.trim()) continue;
      const bb = span.getBBox();
      if (overlap({ x: s.x + bb.x, y: s.y + bb.y, w: bb.width, h: bb.height }, icon, 1)) {
        note('text-under-icon', 'text of ' + name(s) + ' runs under its task icon ("' + span.textContent + '")');
        break;
      }
    }
  }
  // ---- text colliding with the collapsed-subprocess / call-activity "+" marker (bottom centre)
  for (const s of nodes.filter(e => is(e, 'bpmn:CallActivity') || (is(e, 'bpmn:SubProcess') && e.collapsed))) {
    const gfx = registry.getGraphics(s);
    const marker = { x: s.x + s.width / 2 - 8, y: s.y + s.height - 20, w: 16, h: 16 };
    for (const span of gfx ? gfx.querySelectorAll('.djs-visual text tspan') : []) {
      if (!span.textContent.trim()) continue;
      const bb = span.getBBox();
      if (overlap({ x: s.x + bb.x, y: s.y + bb.y, w: bb.width, h: bb.height }, marker, 1)) {
        note('text-under-marker', 'text of ' + name(s) + ' touches its "+" marker ("' + span.textContent + '")');
        break;
      }
    }
  }
  // ---- pool / lane names that do not fit their 30px header (the text is drawn rotated)
  for (const s of shapes.filter(e => is(e, 'bpmn:Participant') || is(e, 'bpmn:Lane'))) {
    const gfx = registry.getGraphics(s);
    const text = gfx && gfx.querySelector('.djs-visual text');
    if (!text || !text.textContent.trim()) continue;
    const bb = text.getBBox();   // before the rotation: width runs along the header, height across it
    if (bb.width > s.height + 1 || bb.height > 30 + 1)
      note('header-overflow', 'name of ' + name(s) + ' (' + Math.round(bb.width) + 'x' + Math.round(bb.height) +
           ' rotated) does not fit its ' + s.height + 'px x 30px header');
  }
  // ---- lanes: nodes listed in a lane must be drawn inside it
  const lanes = shapes.filter(e => is(e, 'bpmn:Lane'));
  for (const lane of lanes) {
    for (const ref of lane.businessObject.flowNodeRef || []) {
      const s = registry.get(ref.id);
      if (!s || s.host) continue;   // boundary events follow their host
      const c = { x: s.x + s.width / 2, y: s.y + s.height / 2 };
      const lr = rect(lane);
      if (!inside(c, lr)) {
        const actual = lanes.find(o => inside(c, rect(o)));
        note('lane', name(s) + ' is listed in lane ' + name(lane) + ' but drawn ' +
             (actual ? 'in lane ' + name(actual) : 'outside every lane'));
      } else if (s.y < lr.y - 1 || s.y + s.height > lr.y + lr.h + 1) {
        note('lane', name(s) + ' straddles the border of its lane ' + name(lane));
      }
    }
  }
  for (const p of shapes.filter(e => is(e, 'bpmn:Participant'))) {
    for (const s of nodes.filter(n => n.parent === p)) {
      if (!overlap(rect(s), rect(p)) || s.x < p.x || s.y < p.y || s.x + s.width > p.x + p.width || s.y + s.height > p.y + p.height)
        note('pool', name(s) + ' is not entirely inside its pool ' + name(p));
    }
  }
  const inner = canvas.viewbox().inner;
  return {
    semantic: semantic.length, counts, shapes: nodes.length, containers: containers.length,
    connections: connections.length, labels: labels.length, registry: all.length,
    crossings, notes, bounds: { x: inner.x, y: inner.y, width: inner.width, height: inner.height },
  };
}

let viewer = null;
async function main() {
  const result = { ok: false, warnings: [], error: null };
  try {
    if (typeof BpmnJS === 'undefined') throw new Error('bpmn-js bundle not loaded');
    viewer = new BpmnJS({ container: '#canvas' });
    const imported = await viewer.importXML(XML);
    for (const w of imported.warnings || []) result.warnings.push('import: ' + (w.message || String(w)));
    viewer.get('canvas').zoom('fit-viewport', 'auto');
    Object.assign(result, analyse(viewer, result.warnings));
    result.ok = true;
  } catch (err) {
    result.error = String(err && err.message || err);
    for (const w of (err && err.warnings) || []) result.warnings.push('import: ' + (w.message || String(w)));
    document.body.insertAdjacentHTML('afterbegin',
      '<h1 style="color:#b00;font:20px sans-serif;position:absolute;z-index:9">import failed: ' +
      result.error.replace(/</g, '&lt;') + '</h1>');
  }
  return result;
}
// zoom 1 on the whole diagram, after the viewport was resized to fit it (the --full render)
window.__showAll = function (margin) {
  const canvas = viewer.get('canvas');
  canvas.resized();
  const b = canvas.viewbox().inner;
  canvas.viewbox({ x: b.x - margin, y: b.y - margin, width: b.width + 2 * margin, height: b.height + 2 * margin });
  return canvas.zoom();
};
window.__result = main();
"""


def write_page(path: Path, xml: str, title: str) -> None:
    page = (
        PAGE.replace("__DIST__", DIST_DIR.as_uri())
        .replace("__BUNDLE__", BUNDLE)
        .replace("__TITLE__", html.escape(title))
        .replace("__ANALYSIS__", ANALYSIS_JS)
        # JSON is valid JS; keep "</script>" in the XML from closing the script element
        .replace("__XML__", json.dumps(xml).replace("</", "<\\/"))
    )
    path.write_text(page, encoding="utf-8")


# --------------------------------------------------------------------------- chromium


class BrowserError(RuntimeError):
    pass


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe).

    Used instead of ``chromium --screenshot``: in headless Chromium 156 that captures the whole
    --window-size while the page's viewport is ~140px shorter, so 'fit-viewport' fits the wrong box.
    Here the viewport is set exactly (Emulation.setDeviceMetricsOverride), the page's result is read
    with Runtime.evaluate and its console errors are collected.
    """

    def __init__(self, profile: Path, timeout: float = 60.0):
        self.timeout = timeout
        self._next = 0
        self._buf = b""
        self._events: list[dict] = []
        fds = os.pipe() + os.pipe()  # (browser reads, we write), (we read, browser writes)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]
        for fd in fds:
            os.close(fd)
        b_read, self._w, self._r, b_write = high

        def child_fds() -> None:  # the protocol pipe must be fds 3 (in) and 4 (out) in the browser
            os.dup2(b_read, 3)
            os.dup2(b_write, 4)

        self.proc = subprocess.Popen(
            [
                str(CHROMIUM),
                *CHROMIUM_FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=child_fds,
            close_fds=False,  # the parent's other fds are non-inheritable (PEP 446)
        )
        os.close(b_read)
        os.close(b_write)
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.page("Page.enable")
        self.page("Runtime.enable")
        self.page("Log.enable")

    # -- protocol
    def _send(self, method: str, params: dict | None, session: str | None) -> int:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._w, data) :]
        return self._next

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise BrowserError("timed out waiting for Chromium")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace")[-600:] if self.proc.stderr else ""
                raise BrowserError("Chromium exited: " + err)
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        msg_id = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._read(deadline)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def page(self, method: str, params: dict | None = None) -> dict:
        return self.call(method, params, self.session)

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, ev in enumerate(self._events):
                if ev["method"] == method:
                    return self._events.pop(i)
            self._events.append(self._read(deadline))

    def console_errors(self) -> list[str]:
        errors, keep = [], []
        for ev in self._events:
            if ev["method"] == "Runtime.exceptionThrown":
                d = ev["params"]["exceptionDetails"]
                errors.append(
                    "page exception: " + (d.get("exception", {}).get("description") or d.get("text", ""))
                )
            elif ev["method"] == "Runtime.consoleAPICalled" and ev["params"].get("type") in (
                "error",
                "assert",
            ):
                args = ev["params"].get("args", [])
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in args).splitlines()
                # bpmn-js logs each failed element with a stack trace; the import warning already says it
                if text and not text[0].startswith("failed to import"):
                    errors.append("console error: " + text[0][:300])
            elif ev["method"] == "Log.entryAdded" and ev["params"]["entry"].get("level") == "error":
                errors.append("browser log: " + ev["params"]["entry"].get("text", ""))
            else:
                keep.append(ev)
        self._events = [e for e in keep if e["method"] == "Page.loadEventFired"]
        return errors

    # -- high level
    def viewport(self, width: int, height: int) -> None:
        self.page(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def open(self, url: str) -> None:
        self._events.clear()
        self.page("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str):
        res = self.page(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}
        )
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise BrowserError(
                d.get("exception", {}).get("description") or d.get("text", "evaluation failed")
            )
        return res["result"].get("value")

    def screenshot(self, png: Path) -> None:
        data = self.page("Page.captureScreenshot", {"format": "png"})["data"]
        png.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)


# --------------------------------------------------------------------------- main


def render(browser: Browser, path: Path, out_dir: Path, args: argparse.Namespace) -> tuple[bool, int]:
    stem = path.stem
    page = out_dir / f"{stem}.html"
    write_page(page, path.read_text(encoding="utf-8"), stem)
    png = out_dir / f"{stem}.png"
    full_png = None
    for stale in (png, out_dir / f"{stem}.full.png"):
        stale.unlink(missing_ok=True)
    try:
        browser.viewport(args.width, args.height)
        browser.open(page.as_uri())
        result = browser.evaluate("window.__result") or {"ok": False, "warnings": [], "error": "no result"}
        result.setdefault("warnings", []).extend(browser.console_errors())
        browser.screenshot(png)
        if args.full and result.get("ok"):
            margin = 30
            b = result["bounds"]
            w, h = int(b["width"]) + 2 * margin, int(b["height"]) + 2 * margin
            scale = min(1.0, MAX_FULL_SIDE / max(w, h))
            browser.viewport(int(w * scale), int(h * scale))
            browser.evaluate(f"window.__showAll({margin})")
            full_png = out_dir / f"{stem}.full.png"
            browser.screenshot(full_png)
    except BrowserError as exc:
        result = {"ok": False, "warnings": [], "error": f"browser: {exc}"}
    finally:
        if not args.keep_html:
            page.unlink(missing_ok=True)

    warnings = result.get("warnings", [])
    error = result.get("error")
    notes = result.get("notes", [])
    rel = path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path
    print(f"== {rel}")
    if result.get("ok"):
        counts = result["counts"]
        kinds = ", ".join(f"{k.split(':')[-1]} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        print(
            f"  elements: {result['semantic']} semantic ({kinds}); drawn: {result['shapes']} shapes, "
            f"{result['containers']} pools/lanes, {result['connections']} edges, {result['labels']} labels; "
            f"{result['crossings']} edge crossings"
        )
        b = result["bounds"]
        print(f"  diagram bounds: {b['width']:.0f} x {b['height']:.0f} at ({b['x']:.0f},{b['y']:.0f})")
    if error:
        print(f"  ERROR: {error}")
    print(f"  warnings: {len(warnings)}")
    for w in warnings:
        print(f"    - {w}")
    if notes:
        by_kind: dict[str, list[str]] = {}
        for n in notes:
            by_kind.setdefault(n["kind"], []).append(n["text"])
        print(f"  layout notes: {len(notes)} ({', '.join(f'{k} {len(v)}' for k, v in by_kind.items())})")
        for kind, texts in by_kind.items():
            shown = texts if args.verbose else texts[:8]
            for t in shown:
                print(f"    [{kind}] {t}")
            if len(texts) > len(shown):
                print(f"    [{kind}] ... {len(texts) - len(shown)} more (use -v)")
    else:
        print("  layout notes: 0")
    shot = png.exists()
    print(f"  png: {png if shot else 'FAILED'}" + (f"\n  full-size png: {full_png}" if full_png else ""))
    bad = bool(warnings or error or not shot or not result.get("ok"))
    return bad, len(notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("files", nargs="*", type=Path, help="BPMN files (default: bpmn/*.bpmn)")
    ap.add_argument(
        "--out", type=Path, default=Path("/tmp/huiqian-diagrams"), help="PNG directory (default %(default)s)"
    )
    ap.add_argument("--width", type=int, default=2400)
    ap.add_argument("--height", type=int, default=1400)
    ap.add_argument("--full", action="store_true", help="also render NAME.full.png at zoom 1")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for Chromium per step")
    ap.add_argument("--no-install", action="store_true", help="fail instead of installing missing tools")
    ap.add_argument("--strict-layout", action="store_true", help="exit 1 also when there are layout notes")
    ap.add_argument("--keep-html", action="store_true", help="keep the generated HTML pages next to the PNGs")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every layout note")
    args = ap.parse_args(argv)

    files = args.files or sorted((REPO_DIR / "bpmn").glob("*.bpmn"))
    files = [f.resolve() for f in files]
    missing = [f for f in files if not f.is_file()]
    if missing:
        print("no such file: " + ", ".join(map(str, missing)), file=sys.stderr)
        return 2
    try:
        if args.no_install:
            if not CHROMIUM.exists() or not (DIST_DIR / BUNDLE).exists():
                print(
                    f"missing {CHROMIUM} or {DIST_DIR / BUNDLE} (run without --no-install)", file=sys.stderr
                )
                return 2
        else:
            ensure_chromium()
            ensure_bpmn_js()
    except (subprocess.CalledProcessError, SystemExit) as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    if not _has_cjk_font():
        print(
            "warning: no CJK font installed (fonts-noto-cjk); Chinese text will render as boxes",
            file=sys.stderr,
        )

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"bpmn-js {bpmn_js_version()} ({BUNDLE}), {CHROMIUM}; PNGs in {args.out}")
    failed, noted = [], 0
    with tempfile.TemporaryDirectory(prefix="render-bpmn-") as tmp:
        try:
            browser = Browser(Path(tmp) / "profile", timeout=args.timeout)
        except (BrowserError, OSError) as exc:
            print(f"cannot start {CHROMIUM}: {exc}", file=sys.stderr)
            return 2
        try:
            for f in files:
                bad, n = render(browser, f, args.out.resolve(), args)
                noted += n
                if bad:
                    failed.append(f.name)
        finally:
            browser.close()
    print(
        f"\n{len(files)} file(s); {len(failed)} with import warnings/errors"
        + (f": {', '.join(failed)}" if failed else "")
        + f"; {noted} layout note(s)"
    )
    if failed or (args.strict_layout and noted):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
