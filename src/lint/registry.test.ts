import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rules } from './registry.js';

/** The registry, the doc pages and the indexes must agree, or the docs lie. */
const docs = (path: string) => new URL(`../../docs/${path}`, import.meta.url);

describe('rule registry', () => {
  it('has unique kebab-case ids', () => {
    const ids = rules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it.each(rules.map((r) => r.id))('%s has a doc page with the three sections, listed in the index and the squawk map', (id) => {
    expect(existsSync(docs(`rules/${id}.md`))).toBe(true);
    const page = readFileSync(docs(`rules/${id}.md`), 'utf8');
    expect(page).toMatch(new RegExp(`^# ${id}\\n`));
    for (const section of ['## What it catches', '## Why it hurts', '## Safe alternative']) expect(page).toContain(section);
    expect(readFileSync(docs('rules/README.md'), 'utf8')).toContain(`[${id}](${id}.md)`);
    expect(readFileSync(docs('squawk-rules.md'), 'utf8')).toContain(id);
  });
});
