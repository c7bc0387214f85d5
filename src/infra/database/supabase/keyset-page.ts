import { decodeCursor } from '../keyset-cursor';

/** What a PostgREST select offers for a keyset page; each step returns the same builder. */
interface KeysetSelect<Self> {
  or(filter: string): Self;
  order(column: string, options: { ascending: boolean }): Self;
  limit(count: number): Self;
}

/**
 * A select narrowed to the rows after `cursor` in (created_at, id) order, with one row more than `limit`,
 * as toPage expects: the PostgREST twin of the SQL adapters' keyset WHERE clause.
 */
export function keysetPage<Select extends KeysetSelect<Select>>(
  select: Select,
  cursor: string | undefined,
  limit: number,
): Select {
  let request = select;
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
    // Values with ':' or '.' must be quoted inside PostgREST's or=() syntax.
    request = request.or(
      `created_at.gt."${after.createdAt}",and(created_at.eq."${after.createdAt}",id.gt.${after.id})`,
    );
  }
  return request
    .order('created_at', { ascending: true })
    .order('id', { ascending: true })
    .limit(limit + 1);
}
