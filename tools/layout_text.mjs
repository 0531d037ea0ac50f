// Text metrics for tools/layout_bpmn.mjs: how big bpmn-js will draw a name.
// bpmn-js draws with Arial and falls back to Noto Sans CJK for Chinese: a CJK glyph (and full-width
// punctuation) is one em wide, Latin text about 0.55 em.
function isWide(ch) {
  const c = ch.codePointAt(0);
  return (c >= 0x2e80 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef) ||
    (c >= 0x3000 && c <= 0x303f) || c === 0x201c || c === 0x201d;
}

export function textWidth(text, fontSize) {
  let w = 0;
  for (const ch of text) w += isWide(ch) ? fontSize : ch === ' ' ? fontSize * 0.3 : fontSize * 0.56;
  return w;
}

// Lines that `text` wraps into at `maxWidth`, the way diagram-js (lib/util/Text.js, layoutNext and
// shortenLine) wraps them: a line too long is cut proportionally, at a space or hyphen if there is
// one, else after round(n * maxWidth / width - 1) characters; CJK text has no spaces.
export function wrapLines(text, fontSize, maxWidth) {
  const pending = text.split(/\u00AD?\r?\n/);
  const lines = [];
  while (pending.length) {
    const original = pending.shift();
    let fit = original;
    for (;;) {
      const width = fit ? textWidth(fit.replace(/\s+$/, ''), fontSize) : 0;
      if (fit === ' ' || fit === '' || width <= maxWidth || [...fit].length < 2) break;
      const length = Math.max(fit.length * (maxWidth / width), 1);
      const parts = fit.split(/(\s|-|\u00AD)/g);
      let semantic = '';
      if (parts.length > 1) {
        let used = 0;
        const kept = [];
        for (const part of parts) {
          if (!part) break;
          if (part.length + used < length) { kept.push(part); used += part.length; } else break;
        }
        semantic = kept.join('');
      }
      fit = semantic || fit.slice(0, Math.max(Math.round(length - 1), 1));
    }
    if (fit.length < original.length) pending.unshift(original.slice(fit.length).trim());
    lines.push(fit);
  }
  return lines;
}

// Size of an external label (events, gateways, flows): 11px text, at most 90px wide like bpmn-js;
// bpmn-js wraps the text at the label's own width, so the height follows from that width.
export function externalLabelSize(text) {
  const width = Math.min(90, Math.ceil(textWidth(text, 11)) + 4);
  const lines = wrapLines(text, 11, width);
  return { width, height: Math.ceil(lines.length * 13.2) + 2 };
}

// A task is as wide as its name needs: one line up to 120px, else two lines (up to 180px), else
// three. bpmn-js centres the text vertically with 7px padding and 14.4px lines; the box is made tall
// enough that the first line stays below the task-type icon (top left, to y=26) and the last above
// the call activity's "+" marker (bottom centre).
export function taskSize(name) {
  const text = name || '';
  const lines = width => wrapLines(text, 12, width - 14).length;
  for (const width of [100, 120]) if (lines(width) <= 1) return { width, height: 80 };
  for (const width of [100, 120, 140, 160, 180]) if (lines(width) <= 2) return { width, height: 90 };
  for (const width of [140, 160, 180, 200]) if (lines(width) <= 3) return { width, height: 100 };
  return { width: 200, height: 20 + 15 * lines(200) };
}
