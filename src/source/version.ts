/**
 * Versions are the leading number of a file name: `0001` or, timestamp style,
 * `20240115_001`. They order numerically segment by segment, so `0010` comes
 * after `0009` and `20240115_002` after `20240115_001`.
 */
function segments(version: string): bigint[] {
  return version.split('_').map((part) => BigInt(part));
}

const PLAIN = /^\d+$/;

/** `0001` and `1` are one version: the form to compare or key versions by. */
export function canonicalVersion(version: string): string {
  // Nearly always one number: its digits without leading zeros, what String(BigInt(…)) gives, without the BigInt.
  if (PLAIN.test(version)) return version.replace(/^0+(?=\d)/, '');
  return segments(version).map(String).join('_');
}

export function compareVersions(a: string, b: string): number {
  // Nearly always: two plain numbers of one width (`0009`, `0010`), where text order is number order.
  if (a.length === b.length && PLAIN.test(a) && PLAIN.test(b)) return a === b ? 0 : a < b ? -1 : 1;
  const left = a.split('_');
  const right = b.split('_');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] === undefined || right[i] === undefined) return left[i] === undefined ? -1 : 1;
    const order = compareSegments(left[i]!, right[i]!);
    if (order !== 0) return order;
  }
  return 0;
}

/**
 * Numerically; but two timestamps of different precision (8 digits or more each, as diesel's
 * `20240314` and `20240313170000`) order as text, as diesel orders them: a day after the times within the day before.
 */
function compareSegments(a: string, b: string): number {
  const [l, r] = [a.replace(/^0+(?=\d)/, ''), b.replace(/^0+(?=\d)/, '')];
  if (l.length !== r.length && (l.length < 8 || r.length < 8)) return l.length < r.length ? -1 : 1;
  return l === r ? 0 : l < r ? -1 : 1;
}
