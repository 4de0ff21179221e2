import { edgeLabel } from './layout.js';
import type { SchemaModel } from './model.js';

/**
 * The schema as a Mermaid `erDiagram` (renders in GitHub and GitLab
 * Markdown). Entities are named by identifier-safe ids with the real name as
 * their alias (`app_orders["app.orders"]`); attribute types are made
 * identifier-safe too, with the engine's own spelling in the comment when it
 * differs. A foreign key is `child }o--|| parent` (`}o--o|` when its columns
 * may be NULL), labelled with its columns and a non-default ON DELETE.
 */
export function renderMermaid(model: SchemaModel): string {
  const ids = entityIds(model.relations.map((r) => r.name));
  const lines = ['erDiagram'];
  for (const relation of model.relations) {
    lines.push(`  ${ids.get(relation.name)}["${label(relation.name)}"] {`);
    if (relation.kind !== 'table') lines.push(`    ${relation.kind === 'view' ? 'view' : 'materialized_view'} definition "${relation.kind}"`);
    for (const column of relation.columns) {
      const type = identifier(column.type || 'any');
      const keys = [column.primaryKey ? 'PK' : '', column.foreignKey ? 'FK' : '', column.unique && !column.primaryKey ? 'UK' : ''].filter(Boolean).join(', ');
      const comment = [type !== column.type && column.type ? column.type : '', column.nullable ? 'null' : 'not null'].filter(Boolean).join(', ');
      lines.push(`    ${type} ${identifier(column.name)}${keys ? ` ${keys}` : ''} "${label(comment)}"`);
    }
    lines.push('  }');
  }
  for (const edge of model.edges) {
    const from = ids.get(edge.from);
    const to = ids.get(edge.to);
    if (!from || !to) continue;
    const shape = edge.kind === 'reads' ? '}o..o{' : edge.required ? '}o--||' : '}o--o|';
    lines.push(`  ${from} ${shape} ${to} : "${label(edgeLabel(edge))}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** Identifier-safe, distinct ids: `app.orders` → `app_orders`, a clash gets `_2`. */
function entityIds(names: readonly string[]): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of names) {
    const base = identifier(name);
    let id = base;
    for (let i = 2; taken.has(id.toLowerCase()); i++) id = `${base}_${i}`;
    taken.add(id.toLowerCase());
    ids.set(name, id);
  }
  return ids;
}

function identifier(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[A-Za-z_]/.test(safe) ? safe : `_${safe}`;
}

/** Text inside Mermaid's double quotes: it has no escape, so a double quote becomes a single one. */
function label(text: string): string {
  return text.replace(/"/g, "'").replace(/[\r\n]+/g, ' ');
}
