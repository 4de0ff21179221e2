/** What `cairn schema` draws: kept apart so the CLI can check --format without loading the layout library. */
export const DIAGRAM_FORMATS = ['svg', 'mermaid', 'dot'] as const;
export type DiagramFormat = (typeof DIAGRAM_FORMATS)[number];
