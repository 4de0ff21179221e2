import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CairnError } from '../errors.js';
import { assertionProblems } from './assertions.js';
import { decodeMigration, decoderFor } from './decode.js';
import { FileCache, type FileCacheSettings, type FileFacts } from './file-cache.js';
import { formatProblem, ROLLBACK_PLACEHOLDER, type Migration, type Section, type SourceProblem } from './migration.js';
import { checksumOf, contentDigest, knownDigest, parseMigrationText } from './parse.js';
import { readScriptMigration } from './script.js';
import { hasStatement, splitStatements, type SqlStatement } from './split.js';
import { compareVersions } from './version.js';

/**
 * `0001_create_users.sql`, `20240115_001_add_index.sql`, golang-migrate's
 * `0001_x.up.sql`, and a sibling `0001_x.down.sql` (or `0001_x_down.sql`) holding the down section.
 * The extension in any case (`0003_x.SQL`): a file skipped for its case would never run.
 */
const FILE_NAME = /^(\d{8,}_\d+|\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*?)(?:\.(up|down))?\.sql$/i;

/** `0001_create_users.sql` → version `0001`, name `create_users`; null for a name that is not a migration's. */
export function parseMigrationFileName(fileName: string): { version: string; name: string } | null {
  const match = FILE_NAME.exec(fileName);
  return match ? { version: match[1]!, name: match[2]! } : null;
}

/** A TypeScript migration: `0007_fill_slugs.ts` (not a declaration file). */
const SCRIPT_NAME = /^(\d{8,}_\d+|\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.ts$/;

/** diesel's layout: `migrations/2024-03-13-170000_create_users/up.sql` (+ `down.sql`); the version is the part before the first `_`, without its dashes. */
const DIESEL_DIR = /^(\d[\d-]*)_([A-Za-z0-9].*)$/;

interface FileEntry {
  /** Relative to the migrations directory: `0001_a.sql`, or `<dir>/up.sql` in diesel's layout. */
  readonly fileName: string;
  readonly version: string;
  readonly name: string;
  readonly kind: 'main' | 'down' | 'script';
}

/** How to read a migrations directory: the files' encoding (default UTF-8), and a glob that says which files are migrations. */
export interface ReadOptions {
  readonly encoding?: string | undefined;
  /** Relative to the directory (a wrangler binding's `migrations_pattern`, e.g. `*\/migration.sql`); null: the usual layouts. */
  readonly pattern?: string | null | undefined;
  /** Where to keep what each file held between runs (file-cache.ts): the lint cache's directory; null or absent: read every file. */
  readonly cache?: FileCacheSettings | null | undefined;
}

/** Reads every migration in `dir`, or throws one SOURCE error listing every problem found. A string is the encoding. */
/** The migrations of a resolved config: its directory, encoding and (wrangler's) file pattern. */
export function readProjectMigrations(config: { readonly migrationsDir: string; readonly root: string; readonly encoding: string; readonly migrationsPattern: string | null; readonly lint?: { readonly cache?: FileCacheSettings | null | undefined } }): Migration[] {
  return readMigrations(config.migrationsDir, config.root, { encoding: config.encoding, pattern: config.migrationsPattern, cache: config.lint?.cache ?? null });
}

export function readMigrations(dir: string, root: string = process.cwd(), options: string | ReadOptions = {}): Migration[] {
  const { encoding, pattern, cache: cacheSettings } = typeof options === 'string' ? { encoding: options, pattern: null, cache: null } : options;
  const decoder = decoderFor(encoding);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CairnError('SOURCE', `migrations directory ${relative(root, dir) || dir} does not exist`, {
      hint: 'run `cairn init` to create it, or point to yours with --dir or `migrations` in cairn.config.ts',
      details: { dir },
    });
  }
  const problems: SourceProblem[] = [];
  const entries: FileEntry[] = pattern ? patternEntries(dir, root, pattern, problems) : [];
  // The kind of each entry comes with the listing (no stat per file); a symbolic link is followed.
  const listing = pattern ? [] : readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const dirent of listing) {
    const fileName = dirent.name;
    const kind = dirent.isSymbolicLink() ? statSync(join(dir, fileName)) : dirent;
    if (kind.isDirectory()) {
      entries.push(...dieselEntries(dir, root, fileName, problems));
      continue;
    }
    const script = SCRIPT_NAME.exec(fileName);
    if (script && kind.isFile()) {
      entries.push({ fileName, version: script[1]!, name: script[2]!, kind: 'script' });
      continue;
    }
    if (!/\.sql$/i.test(fileName) || !kind.isFile()) continue;
    const match = FILE_NAME.exec(fileName);
    if (!match) {
      problems.push({
        file: relative(root, join(dir, fileName)),
        message: 'not a migration file name',
        fix: 'name it NNNN_verb_object.sql, e.g. 0007_add_email_to_users.sql, or move it out of the migrations directory',
      });
      continue;
    }
    entries.push({ fileName, version: match[1]!, name: match[2]!, kind: match[3]?.toLowerCase() === 'down' ? 'down' : 'main' });
  }

  // `0001_a_down.sql` next to `0001_a.sql` is its down (a layout some teams use); with no such up file it is a migration named a_down.
  const mains = new Set(entries.filter((e) => e.kind === 'main').map((e) => `${e.version}_${e.name.replace(/\.up$/i, '')}`));
  const underscoreDown = (e: FileEntry): FileEntry => {
    const base = /^(.+)_down$/i.exec(e.name)?.[1];
    return e.kind === 'main' && base !== undefined && mains.has(`${e.version}_${base}`) ? { ...e, name: base, kind: 'down' } : e;
  };
  const downs = new Map<string, FileEntry>();
  for (const entry of entries.map(underscoreDown)) {
    if (entry.kind !== 'down') continue;
    const key = `${entry.version}_${entry.name}`;
    const other = downs.get(key);
    if (other) problems.push({ file: relative(root, join(dir, entry.fileName)), message: `is a second down file for ${key}, next to ${other.fileName}`, fix: 'keep one of the two' });
    else downs.set(key, entry);
  }
  const migrations: Migration[] = [];
  for (const entry of entries.filter((e) => e.kind === 'script')) {
    const file = relative(root, join(dir, entry.fileName));
    const decoded = decodeMigration(readFileSync(join(dir, entry.fileName)), file, decoder);
    if (decoded.problem) problems.push(decoded.problem);
    const migration = decoded.text === null ? null : readScriptMigration(decoded.text, file, resolve(dir, entry.fileName), entry.version, entry.name, problems);
    if (migration) migrations.push(migration);
  }
  const cache = cacheSettings ? new FileCache(cacheSettings, resolve(dir), decoder.encoding) : null;
  for (const entry of entries.map(underscoreDown).filter((e) => e.kind === 'main')) {
    const sibling = downs.get(`${entry.version}_${entry.name}`);
    downs.delete(`${entry.version}_${entry.name}`);
    const migration = cache ? readCached(cache, dir, root, entry, sibling, problems, decoder) : readOne(dir, root, entry, sibling, problems, decoder);
    if (migration) migrations.push(migration);
  }
  cache?.save();
  for (const orphan of downs.values()) {
    problems.push({ file: relative(root, join(dir, orphan.fileName)), message: 'down file without a matching up file', fix: `add ${orphan.version}_${orphan.name}.sql or delete this file` });
  }

  migrations.sort((a, b) => compareVersions(a.version, b.version));
  for (let i = 1; i < migrations.length; i++) {
    const [previous, current] = [migrations[i - 1]!, migrations[i]!];
    if (compareVersions(previous.version, current.version) === 0) {
      problems.push({ file: current.file, message: `version ${current.version} is also used by ${previous.file}`, fix: 'give one of them the next free number (`cairn new` picks it)' });
    }
  }
  if (problems.length > 0) throw sourceError(problems);
  return migrations;
}

function sourceError(problems: readonly SourceProblem[]): CairnError {
  const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
  return new CairnError('SOURCE', `migration files have ${count}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, {
    hint: 'fix the files named above; nothing was applied',
    details: { problems },
  });
}

/** The files left unfilled (see Migration.unfilled), as problems. */
export function unfilledProblems(migrations: readonly Migration[]): SourceProblem[] {
  return migrations.filter((m) => m.unfilled).map((m) => ({ file: m.file, message: 'has no up statements', fix: 'add SQL after "-- migrate:up", or delete the file' }));
}

/** What applies migrations (up, verify, baseline) calls first: an unfilled file blocks it; reading, listing and linting go on. */
export function assertFilled(migrations: readonly Migration[]): void {
  const problems = unfilledProblems(migrations);
  if (problems.length > 0) throw sourceError(problems);
}

/**
 * wrangler's `migrations_pattern` layouts (`0001_init/migration.sql`): every file the glob matches is one
 * migration, numbered and named by its first path segment, as wrangler orders them. A `down.sql` (or
 * `*.down.sql`) next to one is its down section, not a migration of its own.
 */
function patternEntries(dir: string, root: string, pattern: string, problems: SourceProblem[]): FileEntry[] {
  const entries: FileEntry[] = [];
  for (const fileName of tinyglobby().globSync(pattern, { cwd: dir, onlyFiles: true, dot: false, expandDirectories: false }).sort()) {
    const parsed = parseMigrationPath(fileName);
    if (!parsed) {
      problems.push({
        file: relative(root, join(dir, fileName)),
        message: `matches migrations_pattern "${pattern}" but does not start with a number`,
        fix: 'name its folder (or the file) NNNN_verb_object, e.g. 0007_add_email/migration.sql, or narrow migrations_pattern',
      });
      continue;
    }
    const down = fileName.includes('/') ? /(^|[/.])down\.sql$/i.test(fileName) : FILE_NAME.exec(fileName)?.[3]?.toLowerCase() === 'down';
    entries.push({ fileName, version: parsed.version, name: parsed.name, kind: down ? 'down' : 'main' });
  }
  // A down.sql the pattern did not match still belongs to its folder's migration.
  for (const entry of [...entries]) {
    const folder = entry.fileName.includes('/') ? entry.fileName.slice(0, entry.fileName.lastIndexOf('/')) : null;
    if (entry.kind !== 'main' || folder === null || entries.some((e) => e.kind === 'down' && e.version === entry.version)) continue;
    const down = readdirSync(join(dir, folder)).find((f) => f.toLowerCase() === 'down.sql');
    if (down) entries.push({ ...entry, fileName: `${folder}/${down}`, kind: 'down' });
  }
  return entries;
}

/**
 * The glob library, loaded when a wrangler `migrations_pattern` is read: synchronously (reading is),
 * and not on every command's start (with picomatch it is 90 KB that the usual layouts never use).
 */
function tinyglobby(): typeof import('tinyglobby') {
  return createRequire(import.meta.url)('tinyglobby') as typeof import('tinyglobby');
}

/** A migration's path relative to its directory (a name in wrangler's table): `0001_x.sql`, or `0001_x/migration.sql` in a nested layout. */
export function parseMigrationPath(path: string): { version: string; name: string } | null {
  const segments = path.split(/[\\/]/);
  if (segments.length === 1) return parseMigrationFileName(path);
  const match = NESTED_DIR.exec(segments[0]!);
  return match ? { version: match[1]!, name: match[2]! } : null;
}

const NESTED_DIR = /^(\d{8,}_\d+|\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*)$/;

/** A directory in diesel's layout gives its up.sql (and down.sql); a directory not named like one is not a migration. */
function dieselEntries(dir: string, root: string, dirName: string, problems: SourceProblem[]): FileEntry[] {
  const match = DIESEL_DIR.exec(dirName);
  if (!match) return [];
  const files = readdirSync(join(dir, dirName));
  const up = files.find((f) => f.toLowerCase() === 'up.sql');
  if (!up) {
    problems.push({ file: relative(root, join(dir, dirName)), message: 'migration directory without an up.sql', fix: 'add up.sql (and down.sql), as diesel lays them out, or move the directory out of the migrations directory' });
    return [];
  }
  const version = match[1]!.replace(/-/g, '');
  const down = files.find((f) => f.toLowerCase() === 'down.sql');
  const entry = { version, name: match[2]!, fileName: join(dirName, up), kind: 'main' as const };
  return down ? [entry, { ...entry, fileName: join(dirName, down), kind: 'down' as const }] : [entry];
}

function readOne(dir: string, root: string, entry: FileEntry, downEntry: FileEntry | undefined, problems: SourceProblem[], decoder: TextDecoder): Migration | null {
  const file = pathIn(root, dir, entry.fileName);
  const read = (fileName: string): string | null => {
    const decoded = decodeMigration(readFileSync(join(dir, fileName)), fileName === entry.fileName ? file : pathIn(root, dir, fileName), decoder);
    if (decoded.problem) problems.push(decoded.problem);
    return decoded.text;
  };
  const text = read(entry.fileName);
  const downText = downEntry ? read(downEntry.fileName) : null;
  if (text === null || (downEntry && downText === null)) return null;
  const parsed = parseMigrationText(text, file);
  problems.push(...parsed.problems, ...assertionProblems(parsed.directives, file));
  let down: Section | null = parsed.down ? section(file, parsed.down) : null;
  if (downEntry) {
    const downFile = pathIn(root, dir, downEntry.fileName);
    if (parsed.down) {
      problems.push({ file, message: `has a down section and a sibling ${downEntry.fileName}`, fix: 'keep one of the two' });
    } else {
      down = section(downFile, { text: downText!, firstLine: 1 });
    }
  }
  const up = section(file, parsed.up);
  // Nothing at all under the up marker, or `cairn new`'s template untouched: unfilled. Only comments (diesel's placeholders): a no-op.
  const upEmpty = !hasStatement(up.text);
  const unfilled = upEmpty && (up.text.trim() === '' || parsed.header['rollback'] === ROLLBACK_PLACEHOLDER);
  const noOp = upEmpty && !unfilled;
  if (parsed.problems.length > 0 || assertionProblems(parsed.directives, file).length > 0) return null;
  return {
    version: entry.version,
    name: entry.name.replace(/\.up$/i, ''),
    file,
    up,
    // A no-op up needs no down: rolling it back removes its record, nothing else.
    down: down && (noOp || hasStatement(down.text)) ? down : noOp ? up : null,
    checksum: checksumOf(parsed.up.text),
    transaction: parsed.transaction,
    header: parsed.header,
    directives: parsed.directives,
    ...(unfilled ? { unfilled } : {}),
    ...(noOp ? { noOp } : {}),
  };
}

/**
 * A migration as the file cache (file-cache.ts) remembers it when the file's stat is the one
 * it was kept under; else read (and kept, when old enough). A remembered one reads its
 * file only when its SQL is asked for.
 */
function readCached(cache: FileCache, dir: string, root: string, entry: FileEntry, downEntry: FileEntry | undefined, problems: SourceProblem[], decoder: TextDecoder): Migration | null {
  const stat = cache.statOf(dir, entry.fileName, downEntry?.fileName ?? null);
  const facts = cache.get(entry.fileName, stat);
  if (facts) return remembered(dir, root, entry, downEntry, facts, decoder);
  const before = problems.length;
  const migration = readOne(dir, root, entry, downEntry, problems, decoder);
  if (migration && problems.length === before && stat.trusted) cache.set(entry.fileName, stat, factsOf(migration));
  return migration;
}

function factsOf(migration: Migration): FileFacts {
  const { down } = migration;
  return {
    checksum: migration.checksum,
    digest: contentDigest(migration),
    transaction: migration.transaction,
    header: migration.header,
    directives: migration.directives,
    unfilled: migration.unfilled ?? false,
    noOp: migration.noOp ?? false,
    upFirstLine: migration.up.firstLine,
    down: down === null ? null : down === migration.up ? 'up' : { firstLine: down.firstLine, sibling: down.file !== migration.file },
  };
}

/**
 * The migration `facts` describe, its sections' text read from disk on first use. That read
 * must find what the facts were made from (the file changed while this command ran
 * otherwise): the command stops rather than run SQL its checksum does not describe.
 */
function remembered(dir: string, root: string, entry: FileEntry, downEntry: FileEntry | undefined, facts: FileFacts, decoder: TextDecoder): Migration {
  const file = pathIn(root, dir, entry.fileName);
  const source = new FileSource(dir, root, entry, downEntry, facts.digest, decoder, file);
  const up = new RememberedSection(file, facts.upFirstLine, source, 'up');
  const { down: downFacts } = facts;
  const down =
    downFacts === null ? null : downFacts === 'up' ? up : new RememberedSection(downFacts.sibling ? pathIn(root, dir, downEntry!.fileName) : file, downFacts.firstLine, source, 'down');
  const migration: { -readonly [K in keyof Migration]: Migration[K] } = {
    version: entry.version,
    name: entry.name.replace(/\.up$/i, ''),
    file,
    up,
    down,
    checksum: facts.checksum,
    transaction: facts.transaction,
    header: facts.header,
    directives: facts.directives,
  };
  if (facts.unfilled) migration.unfilled = true;
  if (facts.noOp) migration.noOp = true;
  knownDigest(migration, facts.digest);
  return migration;
}

/** A remembered migration's file, read once when one of its sections' text is first asked for. */
class FileSource {
  private read: Migration | undefined;

  constructor(
    private readonly dir: string,
    private readonly root: string,
    private readonly entry: FileEntry,
    private readonly downEntry: FileEntry | undefined,
    private readonly digest: string,
    private readonly decoder: TextDecoder,
    private readonly file: string,
  ) {}

  section(direction: 'up' | 'down'): Section {
    if (!this.read) {
      const problems: SourceProblem[] = [];
      const fresh = readOne(this.dir, this.root, this.entry, this.downEntry, problems, this.decoder);
      if (!fresh || problems.length > 0 || contentDigest(fresh) !== this.digest) {
        throw new CairnError('SOURCE', `${this.file} changed while cairn was running`, { hint: 'run the command again: it reads the file as it is now', details: { file: this.file } });
      }
      this.read = fresh;
    }
    return direction === 'up' ? this.read.up : this.read.down!;
  }
}

/**
 * A section of a remembered migration: `text` and `statements` come from its file on first
 * use. A class, because a thousand objects with getters of their own cost more than reading
 * what they stand for; `toJSON` and copies made field by field (statement-limits.ts) see all four.
 */
class RememberedSection implements Section {
  readonly #source: FileSource;
  readonly #direction: 'up' | 'down';

  constructor(
    readonly file: string,
    readonly firstLine: number,
    source: FileSource,
    direction: 'up' | 'down',
  ) {
    this.#source = source;
    this.#direction = direction;
  }

  get text(): string {
    return this.#source.section(this.#direction).text;
  }

  get statements(): Section['statements'] {
    return this.#source.section(this.#direction).statements;
  }

  toJSON(): Section {
    return { file: this.file, firstLine: this.firstLine, text: this.text, statements: this.statements };
  }
}

let base: { readonly root: string; readonly dir: string; readonly path: string } | undefined;

/**
 * `relative(root, join(dir, fileName))`, the path a migration's `file` holds: for a plain file
 * name, the directory's relative path (computed once per directory) and the name. `relative`
 * resolves both paths on every call, which a thousand files feel at start-up.
 */
function pathIn(root: string, dir: string, fileName: string): string {
  if (/[\\/]/.test(fileName) || fileName === '.' || fileName === '..' || !isAbsolute(root) || !isAbsolute(dir)) return relative(root, join(dir, fileName));
  if (base?.root !== root || base.dir !== dir) base = { root, dir, path: relative(root, dir) };
  return base.path === '' ? fileName : `${base.path}${sep}${fileName}`;
}

/**
 * A section whose statements are split on first use: `status` and an `up` with nothing
 * pending read every file but split none (at start-up the splitter runs in V8's interpreter,
 * about 50 ms per MB of SQL). An own enumerable property, so spreading, JSON and structured
 * clones (fleet's worker threads) see the statements like any other field.
 */
function section(file: string, part: { text: string; firstLine: number }): Section {
  let statements: readonly SqlStatement[] | undefined;
  return Object.defineProperty({ file, firstLine: part.firstLine, text: part.text }, 'statements', {
    enumerable: true,
    get: () => (statements ??= splitStatements(part.text, { firstLine: part.firstLine })),
  }) as Section;
}
