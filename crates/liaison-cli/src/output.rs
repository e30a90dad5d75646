//! Printing: human-readable text by default, JSON with `--json`.

use serde::Serialize;

pub fn json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// One line summarising a receipt, for human output after a write.
pub fn receipt_line(r: &liaison_api::wire::Receipt) -> String {
    let size = r.checkpoint.lines().nth(1).unwrap_or("?");
    format!("recorded as entry {} (checkpoint size {size})", r.index)
}
