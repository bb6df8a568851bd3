"""The plain-text table the benchmark scripts print (imported from beside them)."""


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    table = [headers] + rows
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for j, row in enumerate(table):
        print(" | ".join(cell.rjust(w) for cell, w in zip(row, widths)))
        if j == 0:
            print("-+-".join("-" * w for w in widths))
