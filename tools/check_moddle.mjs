#!/usr/bin/env node
// Round-trips BPMN files through bpmn-moddle (the parser/serializer inside bpmn-js) with the hq:
// moddle descriptor, and prints what of the hq: extensions survived, as JSON on stdout.
//
//   node tools/check_moddle.mjs webapp/static/bpmn/hq-moddle.json bpmn/*.bpmn
//
// Per file: every element's hq: extension elements (forms with their fields and options, task
// properties) and every lane's hq:role / hq:level, read back after fromXML -> toXML -> fromXML;
// plus what the descriptor did not type ("untyped": attributes or elements bpmn-js would keep only
// as opaque $attrs/$children, and which copy/paste and "change type" drop) and import warnings.
// tests/test_diagrams.py compares it with the same content read from the XML by lxml.

import fs from 'node:fs';

import { BpmnModdle } from 'bpmn-moddle';

const HQ_URI = 'http://huiqian.org/schema/bpmn/1.0';

function typedAttrs(el) {
  const attrs = {};
  for (const p of el.$descriptor.properties) {
    if (!p.isAttr || p.isReference) continue;
    const value = el.get(p.name);
    if (value !== undefined && value !== null) attrs[p.name] = String(value);
  }
  return attrs;
}

// An hq: element as {type, attrs, children}, children in document order.
function describe(el, untyped, where) {
  const desc = el.$descriptor;
  if (!desc || desc.ns.prefix !== 'hq') {
    untyped.push(`${where}: element ${el.$type} is not declared by the descriptor`);
    return { type: el.$type, attrs: {}, children: [] };
  }
  for (const name of Object.keys(el.$attrs || {})) untyped.push(`${where}: attribute ${name} on ${el.$type}`);
  const children = [];
  for (const p of desc.properties) {
    if (!p.isMany || p.isReference) continue;
    for (const child of el.get(p.name) || []) children.push(describe(child, untyped, where));
  }
  return { type: desc.ns.localName, attrs: typedAttrs(el), children };
}

function collect(root) {
  const tasks = {};
  const lanes = {};
  const untyped = [];
  const seen = new Set();
  const visit = el => {
    if (!el || typeof el !== 'object' || seen.has(el)) return;
    seen.add(el);
    if (Array.isArray(el)) { el.forEach(visit); return; }
    if (!el.$type) return;
    const values = el.extensionElements && el.extensionElements.values;
    const hq = (values || []).filter(v => v.$type.startsWith('hq:') || (v.$descriptor && v.$descriptor.ns.uri === HQ_URI));
    if (hq.length) tasks[el.id] = hq.map(v => describe(v, untyped, el.id));
    if (el.$type === 'bpmn:Lane') {
      const agency = {};
      for (const name of ['role', 'level']) {
        const value = el.get(`hq:${name}`);
        if (value !== undefined) agency[name] = value;
      }
      lanes[el.id] = agency;
    }
    for (const name of Object.keys(el.$attrs || {})) {
      if (name.startsWith('hq:') || name.startsWith(`{${HQ_URI}}`)) untyped.push(`${el.id}: attribute ${name}`);
    }
    for (const [key, value] of Object.entries(el)) {
      if (key.startsWith('$') || key === 'di') continue;
      // References (sourceRef, flowNodeRef, ...) point back into the tree: `seen` stops the walk.
      if (value && typeof value === 'object') visit(value);
    }
  };
  visit(root);
  return { tasks, lanes, untyped };
}

async function main() {
  const [descriptorPath, ...files] = process.argv.slice(2);
  const hq = JSON.parse(fs.readFileSync(descriptorPath, 'utf8'));
  const moddle = new BpmnModdle({ hq });
  const out = {};
  for (const file of files) {
    const first = await moddle.fromXML(fs.readFileSync(file, 'utf8'));
    const { xml } = await moddle.toXML(first.rootElement, { format: true });
    const second = await moddle.fromXML(xml);
    out[file] = {
      ...collect(second.rootElement),
      warnings: [...first.warnings, ...second.warnings].map(w => w.message),
    };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch(err => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
