import { describe, expect, it } from 'vitest';
import { positionIn } from './position.js';

describe('positionIn', () => {
  const statement = { sql: 'ALTER TABLE t\n  ADD COLUMN x int', line: 7, column: 3 };
  it('is the statement start at offset 0', () => {
    expect(positionIn(statement, 0)).toEqual({ line: 7, column: 3 });
  });
  it('counts columns from the statement start on its first line', () => {
    expect(positionIn(statement, 6)).toEqual({ line: 7, column: 9 });
  });
  it('counts lines and restarts columns after a line break', () => {
    expect(positionIn(statement, 16)).toEqual({ line: 8, column: 3 });
  });
});
