/**
 * Versions are the leading number of a file name: `0001` or, timestamp style,
 * `20240115_001`. They order numerically segment by segment, so `0010` comes
 * after `0009` and `20240115_002` after `20240115_001`.
 */
function segments(version: string): bigint[] {
  return version.split('_').map((part) => BigInt(part));
}

/** `0001` and `1` are one version: the form to compare or key versions by. */
export function canonicalVersion(version: string): string {
  return segments(version).map(String).join('_');
}

export function compareVersions(a: string, b: string): number {
  const left = segments(a);
  const right = segments(b);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const l = left[i] ?? -1n;
    const r = right[i] ?? -1n;
    if (l !== r) return l < r ? -1 : 1;
  }
  return 0;
}
