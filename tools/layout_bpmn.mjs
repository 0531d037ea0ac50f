#!/usr/bin/env node
// Diagram layout for BPMN processes with swimlanes: ELK layered places, a grid router draws the flows.
//
// Design-time tool, driven by tools/layout_bpmn.py (which reads the XML, calls this script with the
// processes as JSON on stdin, and writes the BPMNDI it gets back on stdout). Nothing here reads XML.
//
// ELK has no swimlanes, so the layout is done in steps, each on ELK's layered algorithm:
//   1. the whole process: layer assignment (columns, left to right), crossing minimisation and the
//      gaps between columns (sized by ELK's own orthogonal routing of every flow);
//   2. each lane alone, with the columns and in-column order of step 1 held (interactive
//      strategies): the vertical placement inside the lane, so that a lane's main path is straight;
//   3. lanes are stacked as horizontal bands, nodes keep their column;
//   4. flows are routed orthogonally on a grid around the shapes and labels (layout_route.mjs):
//      step 1's routes are of no use once lanes move apart vertically.
// Everything is deterministic (ELK uses a fixed random seed), so laying a file out twice gives the
// same bytes.

import { pathToFileURL } from 'node:url';

import ELK from 'elkjs/lib/elk.bundled.js';
import { placeFlowLabels } from './layout_labels.mjs';
import { routeProcess } from './layout_route.mjs';
import { externalLabelSize, taskSize, textWidth } from './layout_text.mjs';

export const POOL_X = 160;
export const POOL_Y = 80;
export const POOL_GAP = 40;
export const HEADER = 30;        // pool and lane name column, as bpmn-js draws it
const LANE_PAD_X = 30;           // between the lane header and the first column
const LANE_PAD_Y = 40;           // above the first and below the last row of a lane
const MIN_LANE_H = 130;
const EVENT = 36;
const GATEWAY = 50;
const LABEL_GAP = 4;             // between an event/gateway and its label below

const TASKS = new Set(['task', 'userTask', 'manualTask', 'scriptTask', 'serviceTask', 'sendTask',
  'receiveTask', 'businessRuleTask', 'callActivity', 'subProcess', 'transaction', 'adHocSubProcess']);

function nodeSize(node) {
  if (node.kind.endsWith('Gateway')) return { width: GATEWAY, height: GATEWAY };
  if (node.kind.endsWith('Event')) return { width: EVENT, height: EVENT };
  if (TASKS.has(node.kind)) return taskSize(node.name);
  return { width: 100, height: 80 };
}

// --------------------------------------------------------------------------- ELK
const elk = new ELK();

const COMMON = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.separateConnectedComponents': 'false',
  'elk.spacing.nodeNode': '40',
  'elk.layered.spacing.nodeNodeBetweenLayers': '70',
  'elk.layered.spacing.edgeNodeBetweenLayers': '25',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '14',
  'elk.spacing.edgeNode': '25',
  'elk.spacing.edgeEdge': '14',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  // The average of BK's four alignments: a gateway sits between its branches, not level with one.
  'elk.layered.nodePlacement.bk.fixedAlignment': 'BALANCED',
};

// Every flow is drawn from and to the middle of a side (a gateway's tip), so each node gets one
// fixed port in the middle of its left and right side: Brandes-Koepf then aligns node centres.
// Flows leaving a boundary event leave its host through a port on the host's bottom side, where the
// event will be drawn.
function elkNode(id, size, hostOf, extra = {}) {
  const ports = [
    { id: `${id}__in`, x: 0, y: size.height / 2, width: 0, height: 0, layoutOptions: { 'elk.port.side': 'WEST' } },
    { id: `${id}__out`, x: size.width, y: size.height / 2, width: 0, height: 0, layoutOptions: { 'elk.port.side': 'EAST' } },
  ];
  let i = 0;
  for (const [boundary, host] of hostOf) {
    if (host !== id) continue;
    ports.push({ id: `${boundary}__out`, x: size.width - 25 - 45 * i++, y: size.height, width: 0, height: 0,
      layoutOptions: { 'elk.port.side': 'SOUTH' } });
  }
  return { id, ...size, ...extra, ports, layoutOptions: { 'elk.portConstraints': 'FIXED_POS', ...(extra.layoutOptions || {}) } };
}

// Flow names are given as edge labels, so that ELK widens the gaps that will hold them.
function elkEdge(f, withLabel) {
  return {
    id: f.id, sources: [`${f.source}__out`], targets: [`${f.target}__in`],
    ...(withLabel && f.name ? { labels: [{ text: f.name, ...externalLabelSize(f.name) }] } : {}),
  };
}

// Step 1: the whole process, for its columns and the order of the nodes within a column. Two
// orders are tried (see layoutDocument): ELK's crossing minimisation (layer sweep, the file's order
// breaking ties), and the file's order kept as it is (categories 1..9 top to bottom).
const ORDERS = {
  file: { 'elk.layered.crossingMinimization.forceNodeModelOrder': 'true' },
  sweep: { 'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES' },
};

async function globalLayers(nodes, flows, hostOf, sizes, order) {
  const graph = {
    id: 'root',
    layoutOptions: {
      ...COMMON,
      // A loop is broken at the flow that returns to an earlier step of a walk from the start, so
      // the loop's way back is the flow drawn right to left.
      'elk.layered.cycleBreaking.strategy': 'DEPTH_FIRST',
      ...ORDERS[order],
    },
    children: nodes.map(n => elkNode(n.id, sizes.get(n.id), hostOf)),
    edges: flows.map(f => elkEdge(f, true)),
  };
  const out = await elk.layout(graph);
  const pos = new Map(out.children.map(c => [c.id, { x: c.x, y: c.y }]));
  // Columns: ELK's layers do not overlap horizontally, so nodes whose x-ranges overlap share one.
  const byX = [...nodes].sort((a, b) => pos.get(a.id).x - pos.get(b.id).x || (a.order - b.order));
  const columns = [];
  for (const n of byX) {
    const left = pos.get(n.id).x;
    const right = left + sizes.get(n.id).width;
    const last = columns[columns.length - 1];
    if (last && left < last.right - 0.5) {
      last.nodes.push(n.id);
      last.right = Math.max(last.right, right);
    } else {
      columns.push({ left, right, nodes: [n.id] });
    }
  }
  return { pos, columns };
}

// Step 2: one lane's vertical placement. Columns and the in-column order come from step 1
// (interactive strategies read them from the given positions); Brandes-Koepf straightens the lane's
// own flows. `margins` reserve room below a node for its label or its boundary events.
async function laneRows(laneNodes, laneFlows, globalPos, sizes, margins) {
  const graph = {
    id: 'lane',
    layoutOptions: {
      ...COMMON,
      'elk.layered.cycleBreaking.strategy': 'INTERACTIVE',
      'elk.layered.layering.strategy': 'INTERACTIVE',
      'elk.layered.crossingMinimization.strategy': 'INTERACTIVE',
      'elk.spacing.nodeNode': '50',
      'elk.padding': '[top=0,left=0,bottom=0,right=0]',
    },
    children: laneNodes.map(id => elkNode(id, sizes.get(id), new Map(), {
      x: globalPos.get(id).x, y: globalPos.get(id).y,
      layoutOptions: { 'elk.margins': `[top=0,left=0,bottom=${margins.get(id) || 0},right=0]` },
    })),
    edges: laneFlows.map(f => elkEdge(f, false)),
  };
  const out = await elk.layout(graph);
  const y = new Map(out.children.map(c => [c.id, c.y]));
  const top = Math.min(...laneNodes.map(id => y.get(id)));
  for (const id of laneNodes) y.set(id, y.get(id) - top);
  const height = Math.max(...laneNodes.map(id => y.get(id) + sizes.get(id).height + (margins.get(id) || 0)));
  return { y, height };
}

// ELK sized the gaps between columns for its own routes, which lanes then pull apart vertically.
// Our routes need, per gap, room for the labels of the outcomes leaving the column (a gateway's) and
// one vertical slot per fork, merge and loop that may turn in it.
function widenGaps(columns, pos, sizes, flows, hostOf) {
  const col = new Map();
  columns.forEach((c, i) => c.nodes.forEach(id => col.set(id, i)));
  const cy = id => pos.get(id).y + sizes.get(id).height / 2;
  let extra = 0;
  for (let i = 0; i < columns.length; i++) {
    columns[i].left += extra;
    columns[i].right += extra;
    if (i + 1 === columns.length) break;
    let label = 0;
    const forks = new Set();
    const merges = new Set();
    const loops = new Set();
    for (const f of flows) {
      const source = hostOf.get(f.source) || f.source;
      const s = col.get(source);
      const t = col.get(f.target);
      if (s === undefined || t === undefined) continue;
      const turns = Math.abs(cy(source) - cy(f.target)) > 2 || hostOf.has(f.source);
      if (s === i && t > i && f.name) label = Math.max(label, externalLabelSize(f.name).width);
      if (s === i && t > i && turns) forks.add(f.source);
      if (t === i + 1 && s <= i && turns) merges.add(f.target);
      if (t <= i && s > i) loops.add(f.target);
    }
    const slots = forks.size + merges.size + loops.size;
    const need = Math.max(label ? label + 3 * 14 : 0, 2 * 14 + 14 * slots);
    const gap = columns[i + 1].left + extra - columns[i].right;
    if (gap < need) extra += Math.ceil(need - gap);
  }
}

// ELK's lane placement can leave two connected nodes a few pixels apart vertically, which draws as
// a small jog in the flow. Align such pairs when nothing is in the way.
function straighten(boxes, flows, hostOf, bandOf, margins, laneBoxes) {
  const room = (id, b) => ({ x: b.x - 10, y: b.y - 10, w: b.w + 20, h: b.h + (margins.get(id) || 0) + 20 });
  const clash = (id, b) => {
    const r = room(id, b);
    for (const [other, o] of boxes) {
      if (other === id) continue;
      const q = room(other, o);
      if (r.x < q.x + q.w && q.x < r.x + r.w && r.y < q.y + q.h && q.y < r.y + r.h) return true;
    }
    const lane = laneBoxes.find(l => l.id === bandOf.get(id));
    return lane && (b.y < lane.top + 20 || b.y + b.h + (margins.get(id) || 0) > lane.top + lane.height - 20);
  };
  for (let pass = 0; pass < 2; pass++) {
    for (const f of flows) {
      const s = hostOf.get(f.source) || f.source;
      const t = f.target;
      const a = boxes.get(s);
      const b = boxes.get(t);
      // Only forward flows: a loop back is drawn around the nodes anyway.
      if (!a || !b || s === t || bandOf.get(s) !== bandOf.get(t) || b.x < a.x + a.w) continue;
      const dy = (a.y + a.h / 2) - (b.y + b.h / 2);
      if (dy === 0 || Math.abs(dy) > 24 || hostOf.has(f.source)) continue;
      const movedT = { ...b, y: b.y + dy };
      if (!clash(t, movedT)) { boxes.set(t, movedT); continue; }
      const movedS = { ...a, y: a.y - dy };
      if (!clash(s, movedS)) boxes.set(s, movedS);
    }
  }
}

// --------------------------------------------------------------------------- one process
async function layoutProcess(proc, poolY, minWidth, order) {
  const all = proc.nodes.map((n, order) => ({ ...n, order }));
  const hostOf = new Map(all.filter(n => n.host && all.some(h => h.id === n.host)).map(n => [n.id, n.host]));
  const nodes = all.filter(n => !hostOf.has(n.id));
  const ids = new Set(all.map(n => n.id));
  const flows = proc.flows.filter(f => ids.has(f.source) && ids.has(f.target));
  const sizes = new Map(all.map(n => [n.id, nodeSize(n)]));
  const byId = new Map(all.map(n => [n.id, n]));

  const bands = assignBands(proc.lanes, nodes);
  const depth = Math.max(0, ...proc.lanes.map(l => l.depth));

  const labelSize = new Map();
  for (const n of all) {
    if (n.name && !TASKS.has(n.kind)) labelSize.set(n.id, externalLabelSize(n.name));
  }
  const margins = new Map();
  for (const n of nodes) {
    let m = labelSize.has(n.id) ? labelSize.get(n.id).height + LABEL_GAP + 6 : 0;
    for (const [b, h] of hostOf) if (h === n.id) m = Math.max(m, 18 + (labelSize.get(b)?.height || 0) + 16);
    if (m) margins.set(n.id, m);
  }

  const { pos, columns } = nodes.length ? await globalLayers(nodes, flows, hostOf, sizes, order) : { pos: new Map(), columns: [] };

  widenGaps(columns, pos, sizes, flows, hostOf);

  // Columns keep ELK's x; everything shifts right of the pool and lane headers.
  const x0 = POOL_X + (2 + depth) * HEADER + LANE_PAD_X;
  const shift = columns.length ? x0 - columns[0].left : 0;
  const boxes = new Map();
  const laneBoxes = [];
  let y = poolY;
  const bandOf = new Map();
  for (const band of bands) {
    let height = MIN_LANE_H;
    let rows = null;
    if (band.nodes.length) {
      const inBand = new Set(band.nodes);
      const laneFlows = flows
        .map(f => ({ ...f, source: hostOf.get(f.source) || f.source }))
        .filter(f => inBand.has(f.source) && inBand.has(f.target) && f.source !== f.target);
      rows = await laneRows(band.nodes, laneFlows, pos, sizes, margins);
      height = Math.max(height, Math.ceil(rows.height + 2 * LANE_PAD_Y));  // whole px: DI is written rounded
    }
    const lane = proc.lanes.find(l => l.id === band.id);
    if (lane && lane.name) height = Math.max(height, Math.ceil(textWidth(lane.name, 12) + 24));
    const top = y;
    if (rows) {
      // Centre the band's content vertically.
      const offset = top + Math.round((height - rows.height) / 2);
      for (const id of band.nodes) {
        const s = sizes.get(id);
        const col = columns.find(c => c.nodes.includes(id));
        const cx = (col.left + col.right) / 2 + shift;
        boxes.set(id, { x: Math.round(cx - s.width / 2), y: Math.round(offset + rows.y.get(id)), w: s.width, h: s.height });
        bandOf.set(id, band.id);
      }
    }
    laneBoxes.push({ id: band.id, top, height });
    y += height;
  }
  let poolH = y - poolY;
  // The pool's name is drawn rotated in its header: make the pool tall enough for it.
  const nameH = proc.name ? textWidth(proc.name, 12) + 24 : 0;
  if (nameH > poolH) {
    const extra = Math.ceil(nameH - poolH);
    laneBoxes[laneBoxes.length - 1].height += extra;
    poolH += extra;
  }

  straighten(boxes, flows, hostOf, bandOf, margins, laneBoxes);

  // Boundary events sit on the bottom border of their host, from its right end leftwards.
  const onHost = new Map();
  for (const [b, h] of hostOf) {
    const host = boxes.get(h);
    if (!host) continue;
    const i = onHost.get(h) || 0;
    onHost.set(h, i + 1);
    const cx = host.x + host.w - 25 - i * 45;
    boxes.set(b, { x: cx - EVENT / 2, y: host.y + host.h - EVENT / 2, w: EVENT, h: EVENT });
    bandOf.set(b, bandOf.get(h));
  }

  const labels = placeNodeLabels(labelSize, boxes, hostOf, flows);

  const right = Math.max(x0, ...[...boxes.values()].map(b => b.x + b.w), ...[...labels.values()].map(l => l.x + l.w));
  const poolW = Math.max(minWidth, right + 60 - POOL_X);
  const pool = { x: POOL_X, y: poolY, w: poolW, h: poolH };
  // Bands are the innermost lanes; a lane with lanes inside spans theirs, with its own header column.
  const laneX = d => POOL_X + (d + 1) * HEADER;
  const lanes = laneBoxes.map(l => {
    const d = proc.lanes.find(lane => lane.id === l.id)?.depth ?? depth;
    return { id: l.id, x: laneX(d), y: l.top, w: poolW - (d + 1) * HEADER, h: l.height };
  });
  const outer = proc.lanes.filter(l => !l.leaf).map(l => {
    const inside = lanes.filter(b => b.id !== null && isWithin(proc.lanes, b.id, l.id));
    const top = Math.min(...inside.map(b => b.y));
    const bottom = Math.max(...inside.map(b => b.y + b.h));
    return { id: l.id, x: laneX(l.depth), y: top, w: poolW - (l.depth + 1) * HEADER, h: bottom - top };
  }).filter(l => Number.isFinite(l.y));
  const gaps = [];
  for (let i = 0; i + 1 < columns.length; i++) gaps.push([columns[i].right + shift, columns[i + 1].left + shift]);

  return { proc, pool, lanes, outer, boxes, labels, flows, hostOf, bandOf, byId, gaps };
}

// Bands, top to bottom: the innermost lanes in document order, then one for nodes that no lane lists
// (also the only band of a process without lanes). A node goes to the innermost lane that lists it
// (BPMN lists a node in every enclosing lane too). A boundary event is drawn on its host.
function assignBands(lanes, nodes) {
  const laneOf = new Map();
  for (const lane of [...lanes].sort((a, b) => b.depth - a.depth)) {
    const leaf = lane.leaf ? lane : lanes.find(l => l.leaf && isWithin(lanes, l.id, lane.id));
    for (const ref of lane.refs) if (!laneOf.has(ref) && leaf) laneOf.set(ref, leaf.id);
  }
  const bands = lanes.filter(l => l.leaf).map(l => ({ id: l.id, nodes: [] }));
  const loose = { id: null, nodes: [] };
  for (const n of nodes) (bands.find(b => b.id === laneOf.get(n.id)) || loose).nodes.push(n.id);
  if (loose.nodes.length || !bands.length) bands.push(loose);
  return bands;
}

function isWithin(lanes, id, ancestor) {
  for (let l = lanes.find(x => x.id === id); l; l = lanes.find(x => x.id === l.parent)) {
    if (l.id === ancestor) return true;
  }
  return false;
}

// Labels of events and gateways: centred below the shape. A boundary event's label goes beside its
// lower half, outside its host, on the side away from where its outgoing flow heads, leaving the way
// down and on free for the flow. If that place is taken (by a shape or an earlier label), the next
// candidate is tried.
function placeNodeLabels(labelSize, boxes, hostOf, flows) {
  const labels = new Map();
  const hit = (r, q) => r.x < q.x + q.w && q.x < r.x + r.w && r.y < q.y + q.h && q.y < r.y + r.h;
  for (const [id, size] of labelSize) {
    const b = boxes.get(id);
    if (!b) continue;
    const { width: w, height: h } = size;
    const below = b.y + b.h + LABEL_GAP;
    const heads = flows.filter(f => f.source === id).map(f => boxes.get(f.target)).filter(Boolean);
    const rightward = heads.some(t => t.x + t.w / 2 > b.x + b.w / 2);
    const sides = rightward ? [b.x - w - 2, b.x + b.w + 2] : [b.x + b.w + 2, b.x - w - 2];
    const candidates = hostOf.has(id)
      ? [...sides.map(x => ({ x, y: b.y + b.h / 2 + 3 })), ...sides.map(x => ({ x, y: below + 4 }))]
      : [{ x: Math.round(b.x + b.w / 2 - w / 2), y: below }, { x: Math.round(b.x + b.w / 2 - w / 2), y: b.y - LABEL_GAP - h },
        { x: b.x + b.w + 2, y: below - 6 }, { x: b.x - w - 2, y: below - 6 }];
    const free = c => {
      const r = { x: c.x - 2, y: c.y - 2, w: w + 4, h: h + 4 };
      return ![...boxes].some(([other, o]) => other !== id && hit(r, o)) && ![...labels.values()].some(l => hit(r, l));
    };
    const at = candidates.find(free) || candidates[0];
    labels.set(id, { x: Math.round(at.x), y: Math.round(at.y), w, h });
  }
  return labels;
}

function finishProcess(layout) {
  const { proc, pool, lanes, outer, boxes, labels, flows, hostOf, bandOf } = layout;
  const routes = routeProcess({ pool, lanes, boxes, labels, flows, hostOf, bandOf, gaps: layout.gaps });
  const flowLabels = placeFlowLabels({ pool, lanes, boxes, labels, flows, routes, size: externalLabelSize });
  // Lanes in document order (outer ones before the lanes inside them), as modelers write them.
  const laneOrder = new Map(proc.lanes.map((l, i) => [l.id, i]));
  return {
    process: proc.id,
    participant: proc.participant,
    pool,
    lanes: [...outer, ...lanes.filter(l => l.id !== null)].sort((a, b) => laneOrder.get(a.id) - laneOrder.get(b.id)),
    shapes: proc.nodes.filter(n => boxes.has(n.id)).map(n => ({
      id: n.id, bounds: boxes.get(n.id), ...(labels.has(n.id) ? { label: labels.get(n.id) } : {}),
    })),
    edges: flows.filter(f => routes.has(f.id)).map(f => ({
      id: f.id, points: routes.get(f.id), ...(flowLabels.has(f.id) ? { label: flowLabels.get(f.id) } : {}),
    })),
  };
}

// --------------------------------------------------------------------------- the document
// Pairs of flow segments that cross (perpendicular, away from their ends) in a process's result.
function crossings(edges) {
  let count = 0;
  const segs = edges.map(e => e.points.slice(1).map((q, i) => [e.points[i], q]));
  for (let a = 0; a < segs.length; a++) {
    for (let b = a + 1; b < segs.length; b++) {
      for (const [p, q] of segs[a]) {
        for (const [r, t] of segs[b]) {
          const [h, v] = p.y === q.y && r.x === t.x ? [[p, q], [r, t]] : p.x === q.x && r.y === t.y ? [[r, t], [p, q]] : [];
          if (!h) continue;
          const x = v[0].x;
          const y = h[0].y;
          if (x > Math.min(h[0].x, h[1].x) && x < Math.max(h[0].x, h[1].x) &&
              y > Math.min(v[0].y, v[1].y) && y < Math.max(v[0].y, v[1].y)) count++;
        }
      }
    }
  }
  return count;
}

// The node order of a process: the file's, unless ELK's crossing minimisation gives fewer crossings.
async function chooseOrder(proc) {
  let best = null;
  for (const order of ['file', 'sweep']) {
    const layout = await layoutProcess(proc, 0, 0, order);
    const result = finishProcess(layout);
    const n = crossings(result.edges);
    if (!best || n < best.n) best = { order, n, width: layout.pool.w, result };
  }
  return best;
}

// A finished layout moved down by dy (the layout does not depend on where its pool starts).
function moveDown(result, dy) {
  const box = b => (b ? { ...b, y: b.y + dy } : b);
  return {
    ...result,
    pool: box(result.pool),
    lanes: result.lanes.map(box),
    shapes: result.shapes.map(s => ({ ...s, bounds: box(s.bounds), ...(s.label ? { label: box(s.label) } : {}) })),
    edges: result.edges.map(e => ({
      ...e, points: e.points.map(p => ({ x: p.x, y: p.y + dy })), ...(e.label ? { label: box(e.label) } : {}),
    })),
  };
}

export async function layoutDocument(doc) {
  // Pools of one file share one width: measure first, then lay out for real at the common width.
  const chosen = new Map();
  for (const proc of doc.processes) chosen.set(proc.id, await chooseOrder(proc));
  const width = Math.max(600, ...[...chosen.values()].map(c => c.width));
  const pools = [];
  let y = POOL_Y;
  for (const participant of doc.participants) {
    const proc = doc.processes.find(p => p.participant === participant.id);
    if (!proc) {
      pools.push({ participant: participant.id, pool: { x: POOL_X, y, w: width, h: 120 } });
      y += 120 + POOL_GAP;
      continue;
    }
    const { order, width: own, result } = chosen.get(proc.id);
    // Laid out at its own width already: only its place changes. Narrower pools are widened.
    const done = own === width ? moveDown(result, y) : finishProcess(await layoutProcess(proc, y, width, order));
    pools.push(done);
    y += done.pool.h + POOL_GAP;
  }
  return { pools, messageFlows: routeMessageFlows(doc.messageFlows || [], pools) };
}

function routeMessageFlows(messageFlows, pools) {
  const boxes = new Map();
  for (const p of pools) {
    boxes.set(p.participant, p.pool);
    for (const s of p.shapes || []) boxes.set(s.id, s.bounds);
  }
  const out = [];
  for (const m of messageFlows) {
    const s = boxes.get(m.source);
    const t = boxes.get(m.target);
    if (!s || !t) continue;
    const down = t.y >= s.y + s.h;
    const start = { x: Math.round(s.x + s.w / 2), y: down ? s.y + s.h : s.y };
    const end = { x: Math.round(t.x + t.w / 2), y: down ? t.y : t.y + t.h };
    const mid = Math.round((start.y + end.y) / 2);
    out.push({ id: m.id, points: start.x === end.x ? [start, end] : [start, { x: start.x, y: mid }, { x: end.x, y: mid }, end] });
  }
  return out;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const docs = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = [];
  for (const doc of docs) results.push(await layoutDocument(doc));
  process.stdout.write(JSON.stringify(results));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch(err => {
    process.stderr.write(String(err && err.stack || err) + '\n');
    process.exit(1);
  });
}
