// Flow labels for tools/layout_bpmn.mjs, placed once every flow is routed.

import { inflate } from './layout_route.mjs';

function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function rectHitsPolyline(r, pts) {
  for (let i = 0; i + 1 < pts.length; i++) {
    const p = pts[i];
    const q = pts[i + 1];
    if (p.y === q.y) {
      if (p.y >= r.y && p.y <= r.y + r.h && Math.max(p.x, q.x) >= r.x && Math.min(p.x, q.x) <= r.x + r.w) return true;
    } else if (p.x >= r.x && p.x <= r.x + r.w && Math.max(p.y, q.y) >= r.y && Math.min(p.y, q.y) <= r.y + r.h) {
      return true;
    }
  }
  return false;
}

// Label of each named flow, beside one of its segments as close to its source as possible (a
// gateway's outcome is read next to the gateway), on a part of the flow that it does not share with
// a sibling flow, clear of shapes, other labels and every flow.
export function placeFlowLabels({ pool, lanes, boxes, labels, flows, routes, size }) {
  const placed = new Map();
  const taken = [...labels.values()];
  const shapes = [...boxes.values()];
  const named = flows.filter(f => f.name && routes.has(f.id));
  for (const f of named) {
    const pts = routes.get(f.id);
    const { width: w, height: h } = size(f.name);
    const siblings = flows.filter(o => o.id !== f.id && o.source === f.source && routes.has(o.id)).map(o => routes.get(o.id));
    // Is the part of a segment beside the label (from..to along it) also a sibling's path (a trunk)?
    const shared = (p, q, from, to) => siblings.some(s => {
      for (let i = 0; i + 1 < s.length; i++) {
        const a = s[i];
        const b = s[i + 1];
        if (p.x === q.x && a.x === b.x && a.x === p.x &&
            Math.min(to, Math.max(a.y, b.y)) - Math.max(from, Math.min(a.y, b.y)) > 1) return true;
        if (p.y === q.y && a.y === b.y && a.y === p.y &&
            Math.min(to, Math.max(a.x, b.x)) - Math.max(from, Math.min(a.x, b.x)) > 1) return true;
      }
      return false;
    });
    // A label close to where a sibling flow enters its target reads as that sibling's label.
    const siblingEnds = siblings.map(sp => sp[sp.length - 1]);
    const misleading = r => siblingEnds.some(e => Math.hypot(r.x + r.w / 2 - e.x, r.y + r.h / 2 - e.y) < 70);
    const candidates = [];
    let along = 0;
    for (let i = 0; i + 1 < pts.length; i++) {
      const p = pts[i];
      const q = pts[i + 1];
      const len = Math.abs(q.x - p.x) + Math.abs(q.y - p.y);
      const room = p.y === q.y ? w + 12 : h + 12;   // a label longer than its segment overhangs the bend
      const short = len < room ? 60 : 0;
      for (const t of [0, 0.25, 0.5, 0.75]) {
        const off = Math.min(len, 10 + t * Math.max(0, len - room));
        if (p.y === q.y) {
          const s = Math.sign(q.x - p.x) || 1;
          const ax = p.x + s * off;
          const cx = s > 0 ? ax : ax - w;
          const trunk = shared(p, q, cx, cx + w);
          candidates.push({ r: { x: Math.round(cx), y: p.y - 4 - h, w, h }, trunk, cost: along + off + short });
          candidates.push({ r: { x: Math.round(cx), y: p.y + 4, w, h }, trunk, cost: along + off + short + 6 });
        } else {
          const s = Math.sign(q.y - p.y) || 1;
          const ay = p.y + s * off;
          const cy = s > 0 ? ay : ay - h;
          const trunk = shared(p, q, cy, cy + h);
          candidates.push({ r: { x: p.x + 5, y: Math.round(cy), w, h }, trunk, cost: along + off + short });
          candidates.push({ r: { x: p.x - 5 - w, y: Math.round(cy), w, h }, trunk, cost: along + off + short + 6 });
        }
      }
      along += len;
    }
    const area = { x: pool.x + 60, y: pool.y, w: pool.w - 60, h: pool.h };
    let best = null;
    for (const c of candidates) {
      const r = c.r;
      const grown = inflate(r, 2);
      let bad = 0;
      if (r.x < area.x || r.y < area.y || r.x + r.w > area.x + area.w || r.y + r.h > area.y + area.h) bad += 10;
      bad += lanes.filter(l => [l.y, l.y + l.h].some(y => y > r.y - 3 && y < r.y + r.h + 3)).length * 2;
      bad += shapes.filter(s => overlaps(grown, s)).length * 5;
      bad += taken.filter(t => overlaps(grown, t)).length * 5;
      let near = 0;
      for (const [id, other] of routes) {
        if (id === f.id) continue;
        if (rectHitsPolyline(grown, other)) bad += 3;
        else if (rectHitsPolyline(inflate(r, 9), other)) near += 40;  // reads as that flow's label
      }
      const own = pts;
      if (rectHitsPolyline(inflate(r, 1), own)) bad += 3;
      // In order of importance: collisions, then beside a trunk shared with siblings (ambiguous),
      // then next to a sibling's target; then distance from the source and closeness to other flows.
      const score = bad * 1e6 + (c.trunk ? 1e5 : 0) + (misleading(r) ? 1e4 : 0) + c.cost + near;
      if (!best || score < best.score) best = { score, r };
    }
    if (best) {
      placed.set(f.id, best.r);
      taken.push(best.r);
    }
  }
  return placed;
}
