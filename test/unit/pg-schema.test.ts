import { getTableColumns, getTableName, type Table } from 'drizzle-orm';
import { getTableConfig as pgTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import { PG_TABLES, SQLITE_TABLES } from '../../src/db/dialect.js';
import * as gymPg from '../../src/db/pg-schema.js';
import * as gymSqlite from '../../src/db/schema.js';
import * as poolPg from '../../src/pool/db/pg-schema.js';
import * as poolSqlite from '../../src/pool/db/schema.js';
import { PG_TABLES as POOL_PG_TABLES, SQLITE_TABLES as POOL_SQLITE_TABLES } from '../../src/pool/db/statements.js';

/**
 * The shape both engines must agree on, per table: each column under the name the statements use for it (its SQL
 * name, the kind of value it gives, nullability, primary key, uniqueness), and the indexes. The statements are written
 * once against the SQLite tables' types and run on PostgreSQL with its own tables: this is what makes that sound.
 */
function shapeOf(tables: Record<string, unknown>, engine: 'sqlite' | 'pg') {
  const shape: Record<string, unknown> = {};
  for (const table of Object.values(tables)) {
    if (engine === 'sqlite' ? !(table instanceof SQLiteTable) : !(table instanceof PgTable)) continue;
    const config = engine === 'sqlite' ? sqliteTableConfig(table as SQLiteTable) : pgTableConfig(table as PgTable);
    const columns = getTableColumns(table as Table);
    shape[config.name] = {
      columns: Object.fromEntries(
        Object.entries(columns).map(([key, c]) => [key, { name: c.name, dataType: c.dataType, notNull: c.notNull, primary: c.primary, unique: c.isUnique }]),
      ),
      indexes: config.indexes.map((i) => i.config.name).sort(),
    };
  }
  return shape;
}

/** The tables handed to the statements, by the name the statements use: each engine's own, of the same SQL table. */
const handed = (tables: Record<string, unknown>) => Object.fromEntries(Object.entries(tables).map(([key, table]) => [key, getTableName(table as Table)]));

describe('the PostgreSQL tables', () => {
  it('are the SQLite tables: same names, columns, kinds of value, nullability, keys and indexes (the gym)', () => {
    const sqlite = shapeOf(gymSqlite, 'sqlite');
    expect(Object.keys(sqlite).length).toBeGreaterThan(5);
    expect(shapeOf(gymPg, 'pg')).toEqual(sqlite);
  });

  it('are the SQLite tables (the pool)', () => {
    const sqlite = shapeOf(poolSqlite, 'sqlite');
    expect(Object.keys(sqlite)).toEqual(['visits', 'sessions']);
    expect(shapeOf(poolPg, 'pg')).toEqual(sqlite);
  });

  it('are what the statements written once get on PostgreSQL, table for table', () => {
    expect(Object.values(PG_TABLES).every((table) => table instanceof PgTable)).toBe(true);
    expect(Object.values(SQLITE_TABLES).every((table) => table instanceof SQLiteTable)).toBe(true);
    expect(handed(PG_TABLES)).toEqual(handed(SQLITE_TABLES));
    expect(Object.keys(handed(SQLITE_TABLES)).length).toBe(Object.keys(shapeOf(gymSqlite, 'sqlite')).length);
    expect(Object.values(POOL_PG_TABLES).every((table) => table instanceof PgTable)).toBe(true);
    expect(handed(POOL_PG_TABLES)).toEqual(handed(POOL_SQLITE_TABLES));
  });
});
