import { edgeLabel } from './layout.js';
import type { SchemaModel } from './model.js';

/**
 * The schema as Graphviz DOT (`dot -Tsvg`, `-Tpng`): each table an HTML-like
 * label with a port per column, so an arrow runs from the referencing column
 * to the referenced one; PostgreSQL schemas as clusters; ON DELETE CASCADE
 * and SET NULL arrows red and bold.
 */
export function renderDot(model: SchemaModel): string {
  const lines = ['digraph schema {', '  graph [fontname="Helvetica", nodesep=0.4, ranksep=0.9];', '  node [shape=plain, fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9, color="#718096"];'];
  const schemas = [...new Set(model.relations.map((r) => r.schema ?? ''))].sort();
  for (const schema of schemas) {
    const inSchema = model.relations.filter((r) => (r.schema ?? '') === schema);
    const indent = schemas.length > 1 ? '    ' : '  ';
    if (schemas.length > 1) lines.push(`  subgraph ${quote(`cluster_${schema || 'public'}`)} {`, `    label=${quote(`schema ${schema || 'public'}`)};`, '    style="rounded"; color="#cbd5e0";');
    for (const relation of inSchema) {
      const rows = relation.columns.map((column) => {
        const keys = [column.primaryKey ? 'PK' : '', column.foreignKey ? 'FK' : '', column.unique && !column.primaryKey ? 'UK' : ''].filter(Boolean).join(' ');
        const name = column.primaryKey ? `<B>${html(column.name)}</B>` : html(column.name);
        return `<TR><TD ALIGN="LEFT" PORT=${quote(port(column.name))}>${name}</TD><TD ALIGN="LEFT"><FONT COLOR="#4a5568">${html(column.type)}${column.nullable ? '?' : ''}</FONT></TD><TD ALIGN="LEFT">${keys}</TD></TR>`;
      });
      if (relation.kind !== 'table') rows.push(`<TR><TD COLSPAN="3" ALIGN="LEFT"><I>${relation.kind}</I></TD></TR>`);
      const style = relation.kind === 'table' ? '' : ' STYLE="DASHED"';
      lines.push(`${indent}${quote(relation.name)} [label=<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3"${style}><TR><TD COLSPAN="3" BGCOLOR="#2d3748"><FONT COLOR="white"><B>${html(relation.name)}</B></FONT></TD></TR>${rows.join('')}</TABLE>>];`);
    }
    if (schemas.length > 1) lines.push('  }');
  }
  for (const edge of model.edges) {
    const loud = edge.onDelete === 'cascade' || edge.onDelete === 'set null';
    const from = edge.fromColumns.length === 1 ? `${quote(edge.from)}:${quote(port(edge.fromColumns[0]!))}` : quote(edge.from);
    const to = edge.toColumns.length === 1 ? `${quote(edge.to)}:${quote(port(edge.toColumns[0]!))}` : quote(edge.to);
    const attributes = [`label=${quote(edgeLabel(edge))}`];
    if (edge.kind === 'reads') attributes.push('style=dashed');
    if (loud) attributes.push('color="#c53030"', 'fontcolor="#c53030"', 'penwidth=2.5');
    lines.push(`  ${from} -> ${to} [${attributes.join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Ports are identifiers Graphviz accepts whatever the column is called. */
function port(column: string): string {
  return `c_${Buffer.from(column).toString('hex')}`;
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function html(text: string): string {
  return text.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
}
