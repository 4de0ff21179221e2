import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI } from './support/databases.js';

/**
 * The README and docs teach by example: every `cairn …` line in their shell
 * blocks must name a command that exists, with options that command takes.
 * A renamed flag or command fails here before a user copies a dead example.
 * (What the examples do is tested where each feature is.)
 */

interface Help {
  readonly commands: ReadonlySet<string>;
  /** `--to` → takes a value; short flags (`-o`) too. */
  readonly options: ReadonlyMap<string, boolean>;
}

const helps = new Map<string, Help>();

function helpFor(path: readonly string[]): Help {
  const key = path.join(' ');
  const cached = helps.get(key);
  if (cached) return cached;
  const result = spawnSync(process.execPath, [CLI, ...path, '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const commands = new Set<string>();
  const options = new Map<string, boolean>();
  let section = '';
  for (const line of result.stdout.split('\n')) {
    if (/^\S.*:$/.test(line)) section = line;
    const entry = /^ {2}(\S.*?)(?: {2,}|$)/.exec(line)?.[1];
    if (!entry) continue;
    if (section === 'Commands:') commands.add(entry.split(' ')[0]!);
    if (section.endsWith('Options:')) {
      for (const flag of entry.split(/,\s*/)) {
        const [name, value] = flag.split(' ');
        if (name?.startsWith('-')) options.set(name, value !== undefined);
      }
    }
  }
  const help = { commands, options };
  helps.set(key, help);
  return help;
}

/** Shell words, quotes kept together (`--fill "'EUR'"` is two words). */
function words(text: string): string[] {
  return text.match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
}

/** Each `cairn …` invocation in a shell block, without comments, prompts or what it pipes to. */
function examples(markdown: string): string[] {
  const found: string[] = [];
  for (const block of markdown.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw.replace(/\s#\s.*$/, '').replace(/^\$\s+/, '');
      for (const part of line.split(/&&|\|\||;|\|/)) {
        const match = /(?:^|\s)(?:npx\s+)?cairn\s+(.*)$/.exec(part.trim());
        if (match && !part.trim().startsWith('#')) found.push(`cairn ${match[1]!.trim()}`);
      }
    }
  }
  return found;
}

/** What is wrong with one example, or null. */
function check(example: string): string | null {
  const tokens = words(example).slice(1);
  const path: string[] = [];
  let positional = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (/^[<[]/.test(token) || token === '…' || token === '...') continue; // a placeholder, e.g. cairn up --to <version>
    const help = helpFor(path);
    if (token.startsWith('-')) {
      const name = token.split('=')[0]!;
      const takesValue = help.options.get(name);
      if (takesValue === undefined) return `\`${example}\`: \`cairn ${path.join(' ')}\` has no option ${name}`;
      if (takesValue && !token.includes('=')) i++;
    } else if (!positional && help.commands.has(token)) {
      path.push(token);
    } else if (!positional && path.length === 0) {
      return `\`${example}\`: there is no command "${token}"`;
    } else {
      positional = true;
    }
  }
  return null;
}

const documents = ['README.md', ...readdirSync(new URL('../docs/', import.meta.url)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('examples in README.md and docs/', () => {
  it('use only commands and options that exist', () => {
    const all = documents.flatMap((document) => examples(readFileSync(new URL(`../${document}`, import.meta.url), 'utf8')).map((example) => ({ document, example })));
    expect(all.length).toBeGreaterThan(100);
    const problems = all.map(({ document, example }) => [document, check(example)] as const).filter(([, problem]) => problem !== null).map(([document, problem]) => `${document}: ${problem}`);
    expect(problems).toEqual([]);
  }, 120_000);

  it('catches a dead example', () => {
    expect(check('cairn up --to-nowhere')).toContain('has no option --to-nowhere');
    expect(check('cairn migrate')).toContain('there is no command "migrate"');
    expect(check('cairn fleet up --concurrency 8')).toBeNull();
  }, 60_000);
});
