import type { Command } from 'commander';
import { DIAGRAM_FORMATS, type DiagramFormat } from '../../report/formats.js';
import { contextFor } from '../context.js';
import { usage } from '../output.js';

/** The format an --out file's extension asks for, when --format is not given. */
const BY_EXTENSION: Record<string, DiagramFormat> = { svg: 'svg', mmd: 'mermaid', mermaid: 'mermaid', md: 'mermaid', dot: 'dot', gv: 'dot' };

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('draw the schema after the migrations as an entity-relationship diagram (SVG, Mermaid or Graphviz DOT)')
    .option('-f, --format <format>', `svg, mermaid or dot (default: from the --out extension, else svg)`)
    .option('-o, --out <file>', 'where to write it (default: stdout)')
    .option('--from-db', 'read the configured database instead of replaying the migrations in a scratch database')
    .addHelpText(
      'after',
      `
Replays every migration in a scratch database (as verify does; the configured
database is not touched) and draws what they make: each table with its
columns (type, ? when nullable, PK / FK / UK), views as dashed boxes, each
foreign key as an arrow to the table it references, labelled with its
columns. ON DELETE CASCADE and SET NULL arrows are red and thick: deleting a
parent row changes the child table. On PostgreSQL each schema is a frame.

The SVG is laid out by dagre (no browser, no network); tables that share no
key are packed in rows, so 200 tables still make a page. Mermaid output
renders in GitHub/GitLab Markdown (\`\`\`mermaid); DOT renders with Graphviz.

Examples:
  cairn schema --out schema.svg
  cairn schema --format mermaid > docs/schema.mmd
  cairn schema --format dot | dot -Tpng > schema.png
  cairn schema --from-db --env production --out prod-schema.svg`,
    )
    .action(async (options: { format?: string; out?: string; fromDb?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const extension = options.out?.split('.').pop()?.toLowerCase() ?? '';
      const format = options.format ?? BY_EXTENSION[extension] ?? 'svg';
      if (!(DIAGRAM_FORMATS as readonly string[]).includes(format)) throw usage(`--format must be one of ${DIAGRAM_FORMATS.join(', ')}, got "${format}"`, 'e.g. cairn schema --format mermaid');
      const diagram = await cairn.schema({ format: format as DiagramFormat, out: options.out, fromDb: options.fromDb });
      const views = diagram.model.relations.filter((r) => r.kind !== 'table').length;
      const counts = { tables: diagram.model.relations.length - views, views, foreignKeys: diagram.model.edges.filter((e) => e.kind === 'foreign key').length };
      if (out.json) return out.document({ format: diagram.format, file: diagram.file, asOf: diagram.asOf, ...counts, ...(diagram.file ? {} : { text: diagram.text }) });
      if (!diagram.file) return out.write(diagram.text);
      out.line(`Wrote ${diagram.file} (${diagram.format}: ${counts.tables} table${counts.tables === 1 ? '' : 's'}, ${counts.views} view${counts.views === 1 ? '' : 's'}, ${counts.foreignKeys} foreign key${counts.foreignKeys === 1 ? '' : 's'}; schema as of ${diagram.asOf ?? 'no migration'})`);
    });
}
