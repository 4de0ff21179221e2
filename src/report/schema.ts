import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { ResolvedConfig } from '../config/load.js';
import { CairnError } from '../errors.js';
import { withSession } from '../core/session.js';
import { bookkeepingTables } from '../core/tracking.js';
import { readAfterReplay } from '../replay/latest.js';
import type { Snapshot } from '../drivers/snapshot.js';
import { typedRelations, type TypedRelation } from '../drivers/columns.js';
import type { Driver } from '../drivers/types.js';
import type { DatabaseUrl } from '../config/url.js';
import { compareVersions } from '../source/version.js';
import { renderDot } from './dot.js';
import { renderMermaid } from './mermaid.js';
import { schemaModel, type SchemaModel, type ViewColumns } from './model.js';
import { renderSvg } from './svg.js';
import { wranglerCompanion } from '../wrangler/table.js';

import { DIAGRAM_FORMATS, type DiagramFormat } from './formats.js';

export { DIAGRAM_FORMATS, type DiagramFormat };

export interface SchemaDiagramOptions {
  /** Default svg. */
  readonly format?: DiagramFormat | undefined;
  /** Read the configured database as it is, instead of replaying every migration in a scratch database. */
  readonly fromDb?: boolean | undefined;
  /** Absolute path to write the diagram to; nothing is written without it. */
  readonly out?: string | undefined;
}

export interface SchemaDiagram {
  readonly format: DiagramFormat;
  readonly text: string;
  /** Project-relative path written, or null. */
  readonly file: string | null;
  /** The newest migration the schema includes (`0008_create_published_posts_view`). */
  readonly asOf: string | null;
  readonly model: SchemaModel;
}

/**
 * `cairn schema`: the schema after the migrations as an entity-relationship
 * diagram, from a scratch replay (no live database needed) or, with
 * `fromDb`, from the configured database.
 */
export async function schemaDiagram(config: ResolvedConfig, options: SchemaDiagramOptions = {}): Promise<SchemaDiagram> {
  const format = options.format ?? 'svg';
  if (!DIAGRAM_FORMATS.includes(format)) {
    throw new CairnError('USAGE', `--format must be one of ${DIAGRAM_FORMATS.join(', ')}, got "${String(format)}"`, { hint: 'e.g. cairn schema --format mermaid' });
  }
  const { snapshot, views, asOf } = await schemaSnapshot(config, options.fromDb ?? false);
  const model = schemaModel(snapshot, views);
  const text = renderDiagram(model, format, asOf);
  if (options.out) {
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, text);
  }
  return { format, text, file: options.out ? relative(config.root, options.out) || options.out : null, asOf, model };
}

export function renderDiagram(model: SchemaModel, format: DiagramFormat, asOf: string | null): string {
  switch (format) {
    case 'svg':
      return renderSvg(model, { title: `Schema as of ${asOf ?? 'no migration'}` });
    case 'mermaid':
      return renderMermaid(model);
    case 'dot':
      return renderDot(model);
  }
}

/** The schema after the migrations (scratch replay), or as the configured database has it: its snapshot, and the columns of its views (which a snapshot keeps as definitions). */
export async function schemaSnapshot(config: ResolvedConfig, fromDb: boolean): Promise<{ snapshot: Snapshot; views: ViewColumns; asOf: string | null }> {
  const exclude = bookkeepingTables(config);
  const read = async (like: DatabaseUrl, driver: Driver) => ({ snapshot: await driver.snapshot({ exclude }), views: viewColumns(await typedRelations(like, driver, exclude)) });
  if (fromDb) {
    return withSession(config, { write: false, onEvent: () => undefined, companion: wranglerCompanion }, async (session) => {
      const applied = session.statuses.filter((s) => s.state === 'applied').sort((a, b) => compareVersions(a.version, b.version)).at(-1);
      return { ...(await read(config.database, session.driver)), asOf: applied ? `${applied.version}_${applied.name}` : null };
    });
  }
  const { value, asOf } = await readAfterReplay(config, read, 'fix the migration (`cairn verify` shows more), or draw the live database with --from-db');
  return { ...value, asOf };
}

function viewColumns(relations: readonly TypedRelation[]): ViewColumns {
  return new Map(relations.filter((r) => r.kind === 'view').map((r) => [r.name, r.columns.map((c) => ({ name: c.name, type: c.sqlType, nullable: c.nullable }))]));
}
