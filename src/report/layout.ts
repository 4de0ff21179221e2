import dagre from '@dagrejs/dagre';
import { compareStrings } from '../drivers/snapshot.js';
import type { DiagramEdge, DiagramRelation, SchemaModel } from './model.js';

/**
 * Where every box and line of the schema diagram goes. Tables joined by
 * foreign keys are laid out together by dagre (parents above children);
 * the groups that share no key, and on PostgreSQL each schema, are packed
 * in rows so that 200 tables make a page, not a 50 000-pixel line.
 */
export interface DiagramLayout {
  readonly width: number;
  readonly height: number;
  readonly boxes: readonly Box[];
  readonly lines: readonly Line[];
  /** One frame per PostgreSQL schema when the schema has more than one; empty otherwise. */
  readonly frames: readonly Frame[];
}

export interface Box {
  readonly relation: DiagramRelation;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Line {
  readonly edge: DiagramEdge;
  /** From the referencing box to the referenced one. */
  readonly points: readonly Point[];
  /** Where its label goes. */
  readonly label: Point;
}

export interface Frame {
  readonly schema: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** Text metrics of the monospace font the SVG uses (px). */
export const FONT = { size: 12, charWidth: 7.3, row: 18, header: 24, padding: 8 } as const;
const GAP = 40;
const FRAME_PADDING = 16;
const FRAME_TITLE = 22;

/** A box's size: wide enough for its longest line, one row per column. */
export function boxSize(relation: DiagramRelation): { width: number; height: number } {
  // A view's first row says what it is; its columns follow.
  const lines = [...(relation.kind === 'table' ? [] : [relation.kind.length + 2]), ...relation.columns.map((c) => columnText(c).length)];
  const chars = Math.max(relation.name.length + 2, ...lines, 12);
  const rows = Math.max(lines.length, 1);
  return { width: Math.ceil(chars * FONT.charWidth + 2 * FONT.padding), height: FONT.header + rows * FONT.row + FONT.padding / 2 };
}

/** One column's row: `◆ id  integer  PK`. The SVG writes the same parts in their own spans. */
export function columnText(column: DiagramRelation['columns'][number]): string {
  return `${column.name}  ${column.type}${column.nullable ? '?' : ''}  ${keyBadges(column).join(' ')}`.trimEnd();
}

export function keyBadges(column: DiagramRelation['columns'][number]): string[] {
  return [column.primaryKey ? 'PK' : '', column.foreignKey ? 'FK' : '', column.unique && !column.primaryKey ? 'UK' : ''].filter(Boolean);
}

export function edgeLabel(edge: DiagramEdge): string {
  if (edge.kind === 'reads') return 'reads';
  const columns = `${edge.fromColumns.join(', ')}${edge.toColumns.length ? ` → ${edge.toColumns.join(', ')}` : ''}`;
  return edge.onDelete && edge.onDelete !== 'no action' ? `${columns} (on delete ${edge.onDelete})` : columns;
}

interface Placed {
  width: number;
  height: number;
  boxes: Box[];
  lines: Line[];
  frames: Frame[];
}

export function layoutSchema(model: SchemaModel): DiagramLayout {
  const bySchema = new Map<string, DiagramRelation[]>();
  for (const relation of model.relations) {
    const key = relation.schema ?? '';
    bySchema.set(key, [...(bySchema.get(key) ?? []), relation]);
  }
  const framed = bySchema.size > 1;
  const groups = [...bySchema.keys()].sort(compareStrings).map((schema) => {
    const relations = bySchema.get(schema)!;
    const names = new Set(relations.map((r) => r.name));
    const inner = packRows(components(relations, model.edges.filter((e) => names.has(e.from) && names.has(e.to))).map(layoutComponent));
    return framed ? frame(schema === '' ? 'public' : schema, inner) : inner;
  });
  const placed = packRows(groups);

  // Lines between frames (a key into another schema) have no route from dagre: straight, box edge to box edge.
  const drawn = new Set(placed.lines.map((line) => line.edge));
  const boxOf = new Map(placed.boxes.map((box) => [box.relation.name, box]));
  const lines = [...placed.lines];
  for (const edge of model.edges) {
    if (drawn.has(edge)) continue;
    const from = boxOf.get(edge.from);
    const to = boxOf.get(edge.to);
    if (!from || !to) continue; // a key into a table the snapshot leaves out
    const start = border(from, center(to));
    const end = border(to, center(from));
    lines.push({ edge, points: [start, end], label: { x: (start.x + end.x) / 2, y: (start.y + end.y) / 2 } });
  }
  return { width: Math.ceil(placed.width), height: Math.ceil(placed.height), boxes: placed.boxes, lines, frames: placed.frames };
}

/** Relations joined by edges, each group sorted, groups in a stable order. */
function components(relations: readonly DiagramRelation[], edges: readonly DiagramEdge[]): { relations: DiagramRelation[]; edges: DiagramEdge[] }[] {
  const parent = new Map(relations.map((r) => [r.name, r.name]));
  const find = (name: string): string => {
    let root = name;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(name, root);
    return root;
  };
  for (const edge of edges) parent.set(find(edge.from), find(edge.to));
  const groups = new Map<string, { relations: DiagramRelation[]; edges: DiagramEdge[] }>();
  for (const relation of relations) {
    const root = find(relation.name);
    if (!groups.has(root)) groups.set(root, { relations: [], edges: [] });
    groups.get(root)!.relations.push(relation);
  }
  for (const edge of edges) groups.get(find(edge.from))!.edges.push(edge);
  return [...groups.values()];
}

function layoutComponent(component: { relations: DiagramRelation[]; edges: DiagramEdge[] }): Placed {
  if (component.edges.length === 0 && component.relations.length === 1) {
    const relation = component.relations[0]!;
    const size = boxSize(relation);
    return { ...size, boxes: [{ relation, x: 0, y: 0, ...size }], lines: [], frames: [] };
  }
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: 30, ranksep: 60, edgesep: 12, marginx: 0, marginy: 0 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const relation of component.relations) graph.setNode(relation.name, boxSize(relation));
  component.edges.forEach((edge, index) => {
    const label = edgeLabel(edge);
    // Parent → child, so that referenced tables sit above the tables that point at them.
    graph.setEdge(edge.to, edge.from, { width: label.length * FONT.charWidth * 0.85, height: FONT.size, labelpos: 'c' }, `e${index}`);
  });
  dagre.layout(graph);
  const boxes = component.relations.map((relation) => {
    const node = graph.node(relation.name);
    return { relation, x: node.x - node.width / 2, y: node.y - node.height / 2, width: node.width, height: node.height };
  });
  const lines = component.edges.map((edge, index): Line => {
    const routed = graph.edge(edge.to, edge.from, `e${index}`);
    return { edge, points: [...(routed.points ?? [])].reverse(), label: { x: routed.x ?? 0, y: routed.y ?? 0 } };
  });
  const graphLabel = graph.graph();
  return { width: graphLabel.width ?? 0, height: graphLabel.height ?? 0, boxes, lines, frames: [] };
}

/** Puts the pieces in rows (tallest first) no wider than a roughly square page, and shifts their contents there. */
function packRows(pieces: readonly Placed[]): Placed {
  if (pieces.length === 1) return pieces[0]!;
  const ordered = [...pieces].sort((a, b) => b.height - a.height || b.width - a.width);
  const area = ordered.reduce((sum, p) => sum + (p.width + GAP) * (p.height + GAP), 0);
  const limit = Math.max(Math.sqrt(area) * 1.6, ...ordered.map((p) => p.width));
  const out: Placed = { width: 0, height: 0, boxes: [], lines: [], frames: [] };
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const piece of ordered) {
    if (x > 0 && x + piece.width > limit) {
      x = 0;
      y += rowHeight + GAP;
      rowHeight = 0;
    }
    place(out, piece, x, y);
    x += piece.width + GAP;
    rowHeight = Math.max(rowHeight, piece.height);
  }
  return out;
}

function frame(schema: string, inner: Placed): Placed {
  const out: Placed = { width: inner.width + 2 * FRAME_PADDING, height: inner.height + 2 * FRAME_PADDING + FRAME_TITLE, boxes: [], lines: [], frames: [] };
  place(out, inner, FRAME_PADDING, FRAME_PADDING + FRAME_TITLE);
  out.frames.push({ schema, x: 0, y: 0, width: out.width, height: out.height });
  return out;
}

function place(into: Placed, piece: Placed, dx: number, dy: number): void {
  const move = (p: Point) => ({ x: p.x + dx, y: p.y + dy });
  for (const box of piece.boxes) into.boxes.push({ ...box, x: box.x + dx, y: box.y + dy });
  for (const line of piece.lines) into.lines.push({ edge: line.edge, points: line.points.map(move), label: move(line.label) });
  for (const f of piece.frames) into.frames.push({ ...f, x: f.x + dx, y: f.y + dy });
  into.width = Math.max(into.width, dx + piece.width);
  into.height = Math.max(into.height, dy + piece.height);
}

function center(box: Box): Point {
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Where the segment from the box's centre towards `toward` leaves the box. */
function border(box: Box, toward: Point): Point {
  const c = center(box);
  const dx = toward.x - c.x;
  const dy = toward.y - c.y;
  if (dx === 0 && dy === 0) return c;
  const scale = Math.min(dx === 0 ? Infinity : box.width / 2 / Math.abs(dx), dy === 0 ? Infinity : box.height / 2 / Math.abs(dy));
  return { x: c.x + dx * scale, y: c.y + dy * scale };
}
