/**
 * A database schema reduced to something two databases can be compared by:
 * a sorted map from an object's key (`table users`, `column users.email`,
 * `index users_email_idx`, …) to a compact, normalized description of it.
 * The drivers' introspection builds one (drivers/<engine>/introspect.ts);
 * everything here is engine-neutral and pure.
 */

/** A schema as a sorted map from object key to a normalized description. Deterministic: same schema ⇒ same JSON. */
export interface Snapshot {
  readonly objects: Readonly<Record<string, string>>;
}

export interface SnapshotDifference {
  readonly key: string;
  readonly kind: 'added' | 'removed' | 'changed';
  /** The description in the first snapshot; null when added. */
  readonly before: string | null;
  /** The description in the second snapshot; null when removed. */
  readonly after: string | null;
}

/** Code-unit order: the same on every machine and locale, unlike localeCompare. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A snapshot of `objects`, keys sorted so that equal schemas serialize identically. */
export function snapshotOf(objects: Record<string, string>): Snapshot {
  // fromEntries defines own properties, so even a key like `__proto__` stays data.
  const sorted = Object.fromEntries(Object.keys(objects).sort(compareStrings).map((key) => [key, objects[key]!]));
  return Object.freeze({ objects: Object.freeze(sorted) });
}

/** What changed from `before` to `after`, one entry per key, sorted by key. Empty when equal. */
export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDifference[] {
  const keys = [...new Set([...Object.keys(before.objects), ...Object.keys(after.objects)])].sort(compareStrings);
  const differences: SnapshotDifference[] = [];
  for (const key of keys) {
    const was = Object.hasOwn(before.objects, key) ? before.objects[key]! : null;
    const is = Object.hasOwn(after.objects, key) ? after.objects[key]! : null;
    if (was === is) continue;
    const kind = was === null ? 'added' : is === null ? 'removed' : 'changed';
    differences.push({ key, kind, before: was, after: is });
  }
  return differences;
}

/**
 * One line per difference:
 * `+ column users.phone: text`, `- index users_email_idx: CREATE UNIQUE INDEX …`,
 * `~ column users.email: text not null → text`.
 */
export function formatDifference(d: SnapshotDifference): string {
  switch (d.kind) {
    case 'added':
      return `+ ${d.key}: ${d.after ?? ''}`;
    case 'removed':
      return `- ${d.key}: ${d.before ?? ''}`;
    case 'changed':
      return `~ ${d.key}: ${d.before ?? ''} → ${d.after ?? ''}`;
  }
}

/**
 * Collects objects for a snapshot. A key met twice (two unique constraints on
 * the same columns, say) keeps both descriptions, sorted and joined with `; `,
 * so the result does not depend on the order the catalog returned them in.
 */
export class SnapshotBuilder {
  private readonly objects = new Map<string, string[]>();

  add(key: string, description: string): void {
    const list = this.objects.get(key);
    if (list) list.push(description);
    else this.objects.set(key, [description]);
  }

  build(): Snapshot {
    return snapshotOf(Object.fromEntries([...this.objects].map(([key, list]) => [key, [...list].sort(compareStrings).join('; ')])));
  }
}

/**
 * Collapses each run of whitespace to one space, outside quoted strings and
 * identifiers ('…', "…"; E'…' with backslash escapes), trims, and drops a
 * trailing semicolon. For definitions the engine already printed canonically
 * (pg_get_viewdef and friends), where only the layout varies.
 */
export function collapseWhitespace(sql: string): string {
  let out = '';
  let pendingSpace = false;
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (/\s/.test(ch)) {
      pendingSpace = out.length > 0;
      i++;
      continue;
    }
    if (pendingSpace) {
      out += ' ';
      pendingSpace = false;
    }
    if (ch === "'" || ch === '"') {
      const backslashes = ch === "'" && i > 0 && /[eE]/.test(sql[i - 1]!) && (i < 2 || !/\w/.test(sql[i - 2]!));
      let j = i + 1;
      while (j < sql.length) {
        if (backslashes && sql[j] === '\\') j += 2;
        else if (sql[j] === ch && sql[j + 1] === ch) j += 2;
        else if (sql[j] === ch) break;
        else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    out += ch;
    i++;
  }
  return out.replace(/\s*;$/, '');
}
