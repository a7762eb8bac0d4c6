//! `dump`: every unfinished task of a runtime, one line each.

use super::*;

pub(crate) fn dump(shared: &Shared) -> String {
    use std::fmt::Write as _;
    let mut tasks = shared.all_tasks();
    tasks.sort_by_key(TaskRef::id);
    let rows: Vec<[String; 5]> = tasks
        .iter()
        .map(|t| {
            [
                t.id().to_string(),
                t.state().to_string(),
                format!("{:.2}s", t.age().as_secs_f64()),
                t.name(),
                t.location()
                    .map_or_else(|| "-".to_owned(), |l| l.to_string()),
            ]
        })
        .collect();
    let header = ["id", "state", "age", "name", "suspended at"];
    let mut width = header.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let n = rows.len();
    let mut out = format!(
        "corio runtime: {} worker{}, {n} unfinished task{}{}\n",
        shared.num_workers,
        if shared.num_workers == 1 { "" } else { "s" },
        if n == 1 { "" } else { "s" },
        if shared.slow_poll.is_some() {
            ", debug mode"
        } else {
            ""
        },
    );
    let mut line = |cells: [&str; 5]| {
        let _ = writeln!(
            out,
            "{:>w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
        );
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    out
}
