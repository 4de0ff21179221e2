import { edgeLabel, FONT, keyBadges, layoutSchema, type Box, type Line, type Point } from './layout.js';
import type { SchemaModel } from './model.js';

/**
 * The schema diagram as a standalone SVG: one box per table (name, then a
 * row per column: name, type, `?` when nullable, PK/FK/UK), dashed boxes for
 * views, an arrow per foreign key pointing at the referenced table, labelled
 * with its columns. ON DELETE CASCADE (and SET NULL) lines are drawn red and
 * thick: deleting a parent row changes the child table. Valid XML; every
 * table's group carries `data-name` so a page or a test can find it.
 */
export function renderSvg(model: SchemaModel, options: { readonly title?: string } = {}): string {
  const layout = layoutSchema(model);
  const margin = 20;
  const width = Math.max(layout.width + 2 * margin, 200);
  const height = Math.max(layout.height + 2 * margin, 60);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="cairn-schema" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="${FONT.size}">`);
  out.push(`<title>${escapeXml(options.title ?? `Schema: ${model.relations.length} relation${model.relations.length === 1 ? '' : 's'}`)}</title>`);
  out.push(STYLE);
  out.push('<defs><marker id="cairn-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>');
  out.push(`<g transform="translate(${margin},${margin})">`);
  for (const frame of layout.frames) {
    out.push(`<g class="frame" data-schema="${escapeXml(frame.schema)}"><rect x="${n(frame.x)}" y="${n(frame.y)}" width="${n(frame.width)}" height="${n(frame.height)}" rx="8"/><text x="${n(frame.x + 12)}" y="${n(frame.y + 20)}">schema ${escapeXml(frame.schema)}</text></g>`);
  }
  for (const line of layout.lines) out.push(renderLine(line));
  for (const box of layout.boxes) out.push(renderBox(box));
  if (model.relations.length === 0) out.push('<text x="0" y="16">No tables yet: the migrations create none.</text>');
  out.push('</g></svg>');
  return `${out.join('\n')}\n`;
}

const STYLE = `<style>
.cairn-schema .box rect.body { fill: #fff; stroke: #4a5568; stroke-width: 1.2; }
.cairn-schema .box rect.head { fill: #2d3748; }
.cairn-schema .box text.name { fill: #fff; font-weight: bold; }
.cairn-schema .box.view rect.body { stroke-dasharray: 5 3; }
.cairn-schema .box.view rect.head { fill: #4a5568; }
.cairn-schema .col .type { fill: #4a5568; }
.cairn-schema .col .key { fill: #b7791f; font-weight: bold; }
.cairn-schema .col.pk .name { font-weight: bold; }
.cairn-schema .edge path { fill: none; stroke: #718096; stroke-width: 1.3; stroke-linejoin: round; }
.cairn-schema .edge text { fill: #4a5568; font-size: 10px; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.cairn-schema .edge.reads path { stroke-dasharray: 4 3; stroke: #a0aec0; }
.cairn-schema .edge.cascade path { stroke: #c53030; stroke-width: 2.6; }
.cairn-schema .edge.cascade text { fill: #c53030; font-weight: bold; }
.cairn-schema .frame rect { fill: #f7fafc; stroke: #cbd5e0; }
.cairn-schema .frame text { fill: #2d3748; font-weight: bold; }
</style>`;

function renderBox(box: Box): string {
  const { relation } = box;
  const classes = ['box', relation.kind === 'table' ? 'table' : 'view'];
  const parts = [
    `<g class="${classes.join(' ')}" data-name="${escapeXml(relation.name)}" transform="translate(${n(box.x)},${n(box.y)})">`,
    `<title>${escapeXml(`${relation.kind} ${relation.name}`)}</title>`,
    `<rect class="body" width="${n(box.width)}" height="${n(box.height)}" rx="3"/>`,
    `<rect class="head" width="${n(box.width)}" height="${FONT.header}" rx="3"/>`,
    `<text class="name" x="${FONT.padding}" y="${FONT.header - 8}">${escapeXml(relation.name)}</text>`,
  ];
  if (relation.kind !== 'table') {
    parts.push(`<text class="col" x="${FONT.padding}" y="${FONT.header + FONT.row - 5}"><tspan class="type">${relation.kind}</tspan></text>`);
  }
  const first = relation.kind === 'table' ? 1 : 2; // a view's kind has the first row
  relation.columns.forEach((column, index) => {
    const y = FONT.header + (index + first) * FONT.row - 5;
    const badges = keyBadges(column);
    const classes = ['col', column.primaryKey ? 'pk' : '', column.foreignKey ? 'fk' : ''].filter(Boolean).join(' ');
    parts.push(
      `<text class="${classes}" x="${FONT.padding}" y="${y}" data-column="${escapeXml(column.name)}"><tspan class="name">${escapeXml(column.name)}</tspan>  <tspan class="type">${escapeXml(column.type)}${column.nullable ? '?' : ''}</tspan>${badges.length ? `  <tspan class="key">${badges.join(' ')}</tspan>` : ''}</text>`,
    );
  });
  parts.push('</g>');
  return parts.join('');
}

function renderLine(line: Line): string {
  const { edge } = line;
  const loud = edge.onDelete === 'cascade' || edge.onDelete === 'set null';
  const classes = ['edge', edge.kind === 'reads' ? 'reads' : 'fk', loud ? 'cascade' : ''].filter(Boolean).join(' ');
  const label = edgeLabel(edge);
  return [
    `<g class="${classes}" data-from="${escapeXml(edge.from)}" data-to="${escapeXml(edge.to)}"${edge.onDelete ? ` data-on-delete="${escapeXml(edge.onDelete)}"` : ''}>`,
    `<title>${escapeXml(`${edge.from} → ${edge.to}: ${label}`)}</title>`,
    `<path d="${pathOf(line.points)}" marker-end="url(#cairn-arrow)"/>`,
    `<text x="${n(line.label.x)}" y="${n(line.label.y + 3)}" text-anchor="middle">${escapeXml(label)}</text>`,
    '</g>',
  ].join('');
}

/** Straight segments through every one of dagre's points: labels sit on their line, and no curve overshoots a sharp turn. */
function pathOf(points: readonly Point[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(p.x)},${n(p.y)}`).join(' ');
}

function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!);
}
