import { getTableConfig as pgTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as gymPg from '../../src/db/pg-schema.js';
import * as gymSqlite from '../../src/db/schema.js';
import * as poolPg from '../../src/pool/db/pg-schema.js';
import * as poolSqlite from '../../src/pool/db/schema.js';

/** The shape both engines must agree on: per table, each column's name, nullability and primary key, and the indexes. */
function shapeOf(tables: Record<string, unknown>, engine: 'sqlite' | 'pg') {
  const shape: Record<string, unknown> = {};
  for (const table of Object.values(tables)) {
    if (engine === 'sqlite' ? !(table instanceof SQLiteTable) : !(table instanceof PgTable)) continue;
    const config = engine === 'sqlite' ? sqliteTableConfig(table as SQLiteTable) : pgTableConfig(table as PgTable);
    shape[config.name] = {
      columns: Object.fromEntries(config.columns.map((c) => [c.name, { notNull: c.notNull, primary: c.primary, unique: c.isUnique }])),
      indexes: config.indexes.map((i) => i.config.name).sort(),
    };
  }
  return shape;
}

describe('the PostgreSQL tables', () => {
  it('are the SQLite tables: same names, columns, nullability, keys and indexes (the gym)', () => {
    const sqlite = shapeOf(gymSqlite, 'sqlite');
    expect(Object.keys(sqlite).length).toBeGreaterThan(5);
    expect(shapeOf(gymPg, 'pg')).toEqual(sqlite);
  });

  it('are the SQLite tables (the pool)', () => {
    expect(shapeOf(poolPg, 'pg')).toEqual(shapeOf(poolSqlite, 'sqlite'));
  });
});
