/** A column of a plain-text table: its heading, and whether its cells are left-aligned (default right). */
export interface TableColumn {
  readonly title: string;
  readonly left?: boolean;
}

/** Each column's width: its widest cell or its title, whichever is wider. */
export function columnWidths(
  columns: readonly TableColumn[],
  rows: Iterable<readonly string[]>,
  widths: number[] = columns.map((c) => c.title.length),
): number[] {
  for (const row of rows)
    for (let i = 0; i < columns.length; i++) widths[i] = Math.max(widths[i]!, row[i]!.length);
  return widths;
}

/** One line of a table whose column widths are known (columnWidths), two spaces apart, trailing blanks trimmed. */
export function tableLine(
  columns: readonly TableColumn[],
  widths: readonly number[],
  cells: readonly string[],
): string {
  return cells
    .map((cell, i) => (columns[i]!.left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
    .join('  ')
    .trimEnd();
}

export function tableRule(widths: readonly number[]): string {
  return widths.map((w) => '-'.repeat(w)).join('  ');
}

/**
 * Lines of a plain-text table: heading, rule, rows, and (if given) a rule and a footer row. Each
 * column is as wide as its widest cell, columns are two spaces apart, trailing blanks trimmed.
 */
export function alignedTable(
  columns: readonly TableColumn[],
  rows: readonly (readonly string[])[],
  footer?: readonly string[],
): string[] {
  const widths = columnWidths(columns, footer ? [...rows, footer] : rows);
  const line = (cells: readonly string[]): string => tableLine(columns, widths, cells);
  const rule = tableRule(widths);
  return [
    line(columns.map((c) => c.title)),
    rule,
    ...rows.map(line),
    ...(footer ? [rule, line(footer)] : []),
  ];
}
