// Orthogonal flow routing for tools/layout_bpmn.mjs.
//
// Flows are routed once nodes and lanes are fixed, on a sparse grid of "meaningful" lines: the
// centre lines of the shapes (the ports), lines at a fixed clearance around every shape and label,
// slots in the gaps between ELK's columns and rows inside each lane. Shapes and the labels of events
// and gateways are hard obstacles, so no flow can run through a shape it does not connect. An A*
// search per flow minimises length + bends, and penalises crossing another flow, touching it at a
// corner, running on top of it (unless both flows share their source or their target, i.e. they fork
// or merge), running close beside another flow (a double line; siblings are drawn to share one bus
// instead), passing in front of a node it does not connect, and wandering through lanes that are
// neither the source's nor the target's. Flows are routed short ones first, loops last; then each is
// ripped up and re-routed twice with all the others in place.

const M = 14;          // clearance between a flow and a shape it passes
const SLOT = 14;       // spacing of parallel flows in a gap or a lane
const BEND = 28;
const CROSS = 45;
const JUNCTION = 160;  // touching another flow's corner: reads as if the flows were connected
const OVERLAP = 12;    // per px on top of an unrelated flow
const SHARED = 0.02;   // per px on top of a sibling flow (same source or target): of two equal
                       // routes, the one that forks (or merges) nearer its own node
const NEAR = 1.5;      // per px alongside another flow closer than NEAR_PX: reads as one double line
const NEAR_PX = 16;    // one slot (14px) apart still reads as a double line: share the bus instead
const SIBLING_PX = 48; // a sibling's parallel line this close: join it (one bus, not a comb of lines)
const FOREIGN_PORT = 120; // passing right in front of the side of a node the flow does not connect
const PORT_TAKEN = 600; // a side of a node already used by an unrelated flow (e.g. in and out at once)
const FOREIGN_LANE = 0.4;
const HUG = 0.25;      // per px running along a shape at minimum clearance: prefer the middle of a gap
const PORT = { E: 0, S: 1, W: 2, N: 3 };   // also the direction of travel out of that side

export function inflate(b, d) {
  return { x: b.x - d, y: b.y - d, w: b.w + 2 * d, h: b.h + 2 * d };
}

function strictlyInside(px, py, r) {
  return px > r.x && px < r.x + r.w && py > r.y && py < r.y + r.h;
}

// Does the axis-parallel segment (x1,y1)-(x2,y2) pass through the interior of r?
function segmentHits(x1, y1, x2, y2, r) {
  if (y1 === y2) {
    return y1 > r.y && y1 < r.y + r.h && Math.max(x1, x2) > r.x && Math.min(x1, x2) < r.x + r.w;
  }
  return x1 > r.x && x1 < r.x + r.w && Math.max(y1, y2) > r.y && Math.min(y1, y2) < r.y + r.h;
}

// Sorted coordinates; `fixed` ones (ports) are always kept, others only when not too close to a kept one.
function lines(fixed, extra, lo, hi, minGap) {
  const keep = [...new Set(fixed.map(Math.round))].filter(v => v >= lo && v <= hi).sort((a, b) => a - b);
  for (const v of [...new Set(extra.map(Math.round))].sort((a, b) => a - b)) {
    if (v < lo || v > hi) continue;
    if (keep.every(k => Math.abs(k - v) >= minGap)) keep.push(v);
  }
  return keep.sort((a, b) => a - b);
}

class Heap {
  constructor() { this.items = []; }
  get size() { return this.items.length; }
  push(priority, value) {
    const a = this.items;
    a.push([priority, value]);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p][0] <= a[i][0]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop() {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l][0] < a[m][0]) m = l;
        if (r < a.length && a[r][0] < a[m][0]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

export function routeProcess({ pool, lanes, boxes, labels, flows, hostOf, bandOf, gaps }) {
  const laneArea = lanes.filter(l => l.id !== null);
  const x0 = (laneArea.length ? laneArea[0].x : pool.x) + 30 + 8;
  const x1 = pool.x + pool.w - 10;
  const y0 = pool.y + 10;
  const y1 = pool.y + pool.h - 10;

  const obstacles = [];
  for (const [id, b] of boxes) obstacles.push({ id, r: inflate(b, M - 1) });
  for (const [id, l] of labels) obstacles.push({ id: `${id}#label`, r: inflate(l, 3) });

  const fixedX = [];
  const extraX = [x0, x1];
  const fixedY = [];
  const extraY = [];
  for (const b of boxes.values()) {
    fixedX.push(b.x + b.w / 2, b.x - M, b.x + b.w + M);
    fixedY.push(b.y + b.h / 2, b.y - M, b.y + b.h + M);
  }
  for (const l of labels.values()) {
    extraX.push(l.x - 6, l.x + l.w + 6);
    extraY.push(l.y - 6, l.y + l.h + 6);
  }
  for (const [a, b] of gaps) {
    const n = Math.max(1, Math.floor((b - a - 2 * M) / SLOT) + 1);
    const start = (a + b) / 2 - ((n - 1) * SLOT) / 2;
    for (let k = 0; k < n; k++) extraX.push(start + k * SLOT);
  }
  for (const lane of lanes) {
    for (let v = lane.y + 16; v <= lane.y + lane.h - 16; v += SLOT) extraY.push(v);
  }
  const xs = lines(fixedX, extraX, x0, x1, 6);
  const ys = lines(fixedY, extraY, y0, y1, 6);
  const nx = xs.length;
  const n = nx * ys.length;
  const valid = new Uint8Array(n);
  for (let j = 0; j < ys.length; j++) {
    for (let i = 0; i < nx; i++) {
      valid[j * nx + i] = obstacles.some(o => strictlyInside(xs[i], ys[j], o.r)) ? 0 : 1;
    }
  }
  // okH[k]: the step k -> k+1 is free; okV[k]: the step k -> k+nx is free.
  const okH = new Uint8Array(n);
  const okV = new Uint8Array(n);
  // hugH/hugV: the step runs along a shape at exactly the clearance M.
  const hugH = new Uint8Array(n);
  const hugV = new Uint8Array(n);
  const boxList = [...boxes.values()];
  const hugs = (x1, y1, x2, y2) => boxList.some(b => (y1 === y2
    ? (Math.abs(y1 - (b.y - M)) < 1 || Math.abs(y1 - (b.y + b.h + M)) < 1) && Math.max(x1, x2) > b.x && Math.min(x1, x2) < b.x + b.w
    : (Math.abs(x1 - (b.x - M)) < 1 || Math.abs(x1 - (b.x + b.w + M)) < 1) && Math.max(y1, y2) > b.y && Math.min(y1, y2) < b.y + b.h));
  for (let j = 0; j < ys.length; j++) {
    for (let i = 0; i < nx; i++) {
      const k = j * nx + i;
      if (!valid[k]) continue;
      if (i + 1 < nx && valid[k + 1]) {
        okH[k] = obstacles.some(o => segmentHits(xs[i], ys[j], xs[i + 1], ys[j], o.r)) ? 0 : 1;
        hugH[k] = okH[k] && hugs(xs[i], ys[j], xs[i + 1], ys[j]) ? 1 : 0;
      }
      if (j + 1 < ys.length && valid[k + nx]) {
        okV[k] = obstacles.some(o => segmentHits(xs[i], ys[j], xs[i], ys[j + 1], o.r)) ? 0 : 1;
        hugV[k] = okV[k] && hugs(xs[i], ys[j], xs[i], ys[j + 1]) ? 1 : 0;
      }
    }
  }
  const xi = new Map(xs.map((v, i) => [v, i]));
  const yi = new Map(ys.map((v, j) => [v, j]));
  const point = (x, y) => {
    const i = xi.get(Math.round(x));
    const j = yi.get(Math.round(y));
    return i === undefined || j === undefined ? -1 : j * nx + i;
  };

  // Lines closer than SIBLING_PX to each line, with their distance (for near()).
  const within = (vals, i) => {
    const out = [];
    for (let o = i - 1; o >= 0 && vals[i] - vals[o] < SIBLING_PX; o--) out.push([o, vals[i] - vals[o]]);
    for (let o = i + 1; o < vals.length && vals[o] - vals[i] < SIBLING_PX; o++) out.push([o, vals[o] - vals[i]]);
    return out;
  };
  const nearXs = xs.map((_, i) => within(xs, i));
  const nearYs = ys.map((_, j) => within(ys, j));

  // Is a flow using a parallel step next to step (k, d), closer than NEAR_PX (or a sibling of `rec`
  // closer than SIBLING_PX)?
  function near(k, d, rec) {
    const i = k % nx;
    const j = Math.floor(k / nx);
    const horizontal = d === 0 || d === 2;
    const from = d === 0 ? k : d === 2 ? k - 1 : d === 1 ? k : k - nx;
    for (const [o, dist] of horizontal ? nearYs[j] : nearXs[i]) {
      const users = horizontal ? useH.get(from + (o - j) * nx) : useV.get(from + (o - i));
      if (!users) continue;
      for (const u of users) if (dist < NEAR_PX || compatible(u, rec)) return 1;
    }
    return 0;
  }

  // Grid points right in front of the middle of a node's side: where flows into or out of it run.
  const portFront = new Map();
  for (const [id, b] of boxes) {
    const cx = Math.round(b.x + b.w / 2);
    const cy = Math.round(b.y + b.h / 2);
    for (const [x, y] of [[b.x + b.w + M, cy], [b.x - M, cy], [cx, b.y - M], [cx, b.y + b.h + M]]) {
      const k = point(x, y);
      if (k >= 0) portFront.set(k, id);
    }
  }

  const bandAt = y => {
    const l = lanes.find(b => y >= b.y && y <= b.y + b.h);
    return l ? l.id : undefined;
  };

  // Usage by routed flows: per grid step and per grid point.
  const useH = new Map();
  const useV = new Map();
  const usePt = new Map();
  const usePort = new Map();  // "node:side" -> flows using that side of the node
  const add = (map, k, v) => { if (!map.has(k)) map.set(k, []); map.get(k).push(v); };

  function ports(box, role, fromBoundary, own) {
    const cx = Math.round(box.x + box.w / 2);
    const cy = Math.round(box.y + box.h / 2);
    const all = [
      { side: PORT.E, px: box.x + box.w, py: cy, sx: box.x + box.w + M, sy: cy, cost: 0 },
      { side: PORT.S, px: cx, py: box.y + box.h, sx: cx, sy: box.y + box.h + M, cost: 22 },
      { side: PORT.N, px: cx, py: box.y, sx: cx, sy: box.y - M, cost: 22 },
      { side: PORT.W, px: box.x, py: cy, sx: box.x - M, sy: cy, cost: 90 },
    ];
    let list = all;
    if (fromBoundary) list = all.filter(p => p.side === PORT.S).map(p => ({ ...p, cost: 0 }));
    else if (role === 'target') {
      // Entering: from the left is natural, from above/below fine, from the right only as a last resort.
      list = all.map(p => ({ ...p, cost: p.side === PORT.W ? 0 : p.side === PORT.E ? 90 : 22 }));
    }
    return list
      .map(p => ({ ...p, k: point(p.sx, p.sy) }))
      // The stub from the border out to the grid crosses the shape's own clearance zone, nothing else.
      .filter(p => p.k >= 0 && valid[p.k] &&
        !obstacles.some(o => !own.includes(o.id) && segmentHits(p.px, p.py, p.sx, p.sy, o.r)));
  }

  function compatible(a, b) {
    return a.source === b.source || a.target === b.target;
  }

  function search(rec, srcBox, tgtBox, fromBoundary) {
    const taken = (node, side) => ((usePort.get(`${node}:${side}`) || []).some(u => !compatible(u, rec)) ? PORT_TAKEN : 0);
    const starts = ports(srcBox, 'source', fromBoundary, [rec.source, hostOf.get(rec.source)])
      .map(p => ({ ...p, cost: p.cost + taken(rec.source, p.side) }));
    const goals = ports(tgtBox, 'target', false, [rec.target])
      .map(p => ({ ...p, cost: p.cost + taken(rec.target, p.side) }));
    if (!starts.length || !goals.length) return null;
    const goalAt = new Map();
    for (const g of goals) { if (!goalAt.has(g.k)) goalAt.set(g.k, []); goalAt.get(g.k).push(g); }
    const homeBands = new Set([rec.srcBand, rec.tgtBand]);
    const h = k => {
      const x = xs[k % nx];
      const y = ys[Math.floor(k / nx)];
      let best = Infinity;
      for (const g of goals) best = Math.min(best, Math.abs(g.sx - x) + Math.abs(g.sy - y));
      return best;  // every px costs at least 1: a lower bound, as A* needs
    };
    const dist = new Float64Array(n * 4).fill(Infinity);
    const prev = new Int32Array(n * 4).fill(-1);
    const heap = new Heap();
    for (const s of starts) {
      const st = s.k * 4 + s.side;
      const c = s.cost + M;
      if (c < dist[st]) {
        dist[st] = c;
        prev[st] = -2 - starts.indexOf(s);
        heap.push(c + h(s.k), st);
      }
    }
    let found = null;
    const done = new Uint8Array(n * 4);
    while (heap.size) {
      const [, st] = heap.pop();
      if (st < 0) { found = -st - 1; break; }
      if (done[st]) continue;   // an older, costlier entry of a state already expanded
      done[st] = 1;
      const g = dist[st];
      const k = Math.floor(st / 4);
      const dir = st % 4;
      if (goalAt.has(k)) {
        for (const goal of goalAt.get(k)) {
          const into = (goal.side + 2) % 4;          // direction of the last stub, into the shape
          if (dir === (into + 2) % 4) continue;
          const extra = goal.cost + M + (dir === into ? 0 : BEND);
          heap.push(g + extra, -(st * 8 + goals.indexOf(goal)) - 1);
        }
      }
      const i = k % nx;
      const j = Math.floor(k / nx);
      const here = usePt.get(k) || [];
      for (let d = 0; d < 4; d++) {
        if (d === (dir + 2) % 4) continue;
        let q;
        let step;
        let hug;
        if (d === 0) { if (i + 1 >= nx || !okH[k]) continue; q = k + 1; step = useH.get(k); hug = hugH[k]; }
        else if (d === 2) { if (i === 0 || !okH[k - 1]) continue; q = k - 1; step = useH.get(k - 1); hug = hugH[k - 1]; }
        else if (d === 1) { if (j + 1 >= ys.length || !okV[k]) continue; q = k + nx; step = useV.get(k); hug = hugV[k]; }
        else { if (j === 0 || !okV[k - nx]) continue; q = k - nx; step = useV.get(k - nx); hug = hugV[k - nx]; }
        const len = Math.abs(xs[q % nx] - xs[i]) + Math.abs(ys[Math.floor(q / nx)] - ys[j]);
        let c = len + HUG * len * hug;
        if (d !== dir) {
          c += BEND;
          if (here.some(u => !compatible(u.rec, rec))) c += JUNCTION;
        }
        if (step && step.some(u => !compatible(u, rec))) c += OVERLAP * len;
        else if (step && step.length) c += SHARED * len;
        else c += NEAR * len * near(k, d, rec);
        const atQ = usePt.get(q) || [];
        const horizontal = d === 0 || d === 2;
        // Where a sibling already crosses, crossing again on top of it adds nothing to the picture:
        // that is what makes forks and merges share one trunk (a bus) instead of parallel lines.
        const siblingThrough = atQ.some(u => compatible(u.rec, rec) && (horizontal ? u.h : u.v));
        // Crossing siblings is free: we may be about to join them (a merge) or leave them (a fork).
        // Several unrelated flows crossed at one point are one crossing in the picture.
        let crosses = false;
        for (const u of atQ) {
          if (compatible(u.rec, rec)) continue;
          if (u.turn) c += JUNCTION;
          else if (horizontal ? u.v && !u.h : u.h && !u.v) crosses = true;
        }
        if (crosses && !siblingThrough) c += CROSS;
        const front = portFront.get(q);
        if (front !== undefined && front !== rec.source && front !== rec.target && front !== hostOf.get(rec.source)) {
          c += FOREIGN_PORT;
        }
        const midY = (ys[j] + ys[Math.floor(q / nx)]) / 2;
        if (!homeBands.has(bandAt(midY))) c += FOREIGN_LANE * len;
        const nst = q * 4 + d;
        if (g + c < dist[nst]) {
          dist[nst] = g + c;
          prev[nst] = st;
          heap.push(g + c + h(q), nst);
        }
      }
    }
    if (found === null) return null;
    const goal = goals[found % 8];
    let st = Math.floor(found / 8);
    const cells = [];
    while (st >= 0) {
      cells.push(Math.floor(st / 4));
      st = prev[st];
    }
    const start = starts[-st - 2];
    cells.reverse();
    return { start, goal, cells };
  }

  function record(rec, path) {
    const { cells } = path;
    add(usePort, `${rec.source}:${path.start.side}`, rec);
    add(usePort, `${rec.target}:${path.goal.side}`, rec);
    for (let a = 0; a < cells.length; a++) {
      const k = cells[a];
      const before = a > 0 ? cells[a - 1] : null;
      const after = a + 1 < cells.length ? cells[a + 1] : null;
      const hz = (p, q) => p !== null && q !== null && Math.floor(p / nx) === Math.floor(q / nx);
      const h = hz(before, k) || hz(k, after);
      const v = (before !== null && !hz(before, k)) || (after !== null && !hz(k, after));
      const turn = before !== null && after !== null && hz(before, k) !== hz(k, after);
      add(usePt, k, { rec, h, v, turn });
      if (after !== null) {
        if (hz(k, after)) add(useH, Math.min(k, after), rec);
        else add(useV, Math.min(k, after), rec);
      }
    }
  }

  function unrecord(rec) {
    for (const map of [useH, useV, usePort]) {
      for (const [k, list] of map) map.set(k, list.filter(r => r !== rec));
    }
    for (const [k, list] of usePt) usePt.set(k, list.filter(u => u.rec !== rec));
  }

  const recs = [];
  for (const f of flows) {
    const fromBoundary = hostOf.has(f.source);
    const srcBox = boxes.get(f.source);
    const tgtBox = boxes.get(f.target);
    if (!srcBox || !tgtBox) continue;
    const back = tgtBox.x + tgtBox.w / 2 < srcBox.x + srcBox.w / 2;
    const laneIndex = id => lanes.findIndex(l => l.id === bandOf.get(id));
    const key = (back ? 100000 : 0) + Math.abs(laneIndex(f.source) - laneIndex(f.target)) * 10000 +
      Math.abs(tgtBox.x - srcBox.x) + Math.abs(tgtBox.y - srcBox.y) / 10;
    recs.push({ id: f.id, source: f.source, target: f.target, srcBox, tgtBox, fromBoundary, key,
      srcBand: bandOf.get(f.source), tgtBand: bandOf.get(f.target), path: null });
  }
  recs.sort((a, b) => a.key - b.key || (a.id < b.id ? -1 : 1));
  for (let pass = 0; pass < 3; pass++) {
    for (const rec of recs) {
      if (rec.path) unrecord(rec);
      const path = search(rec, rec.srcBox, rec.tgtBox, rec.fromBoundary);
      if (path) {
        rec.path = path;
        record(rec, path);
      } else if (!rec.path) {
        process.stderr.write(`layout: no free route for flow ${rec.id}; drawn straight\n`);
      } else {
        record(rec, rec.path);
      }
    }
  }

  const routes = new Map();
  for (const rec of recs) {
    if (!rec.path) {
      const s = rec.srcBox;
      const t = rec.tgtBox;
      routes.set(rec.id, simplify([
        { x: s.x + s.w, y: Math.round(s.y + s.h / 2) }, { x: t.x, y: Math.round(t.y + t.h / 2) }]));
      continue;
    }
    const { start, goal, cells } = rec.path;
    const pts = [{ x: start.px, y: start.py }];
    for (const k of cells) pts.push({ x: xs[k % nx], y: ys[Math.floor(k / nx)] });
    pts.push({ x: goal.px, y: goal.py });
    routes.set(rec.id, simplify(pts));
  }
  return routes;
}

function simplify(points) {
  const pts = points.map(p => ({ x: Math.round(p.x), y: Math.round(p.y) }));
  const out = [];
  for (const p of pts) {
    if (out.length && out[out.length - 1].x === p.x && out[out.length - 1].y === p.y) continue;
    out.push(p);
    while (out.length >= 3) {
      const [a, b, c] = out.slice(-3);
      if ((a.x === b.x && b.x === c.x) || (a.y === b.y && b.y === c.y)) out.splice(out.length - 2, 1);
      else break;
    }
  }
  return out;
}
