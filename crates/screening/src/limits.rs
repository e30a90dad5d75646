//! The limits every list load is held to. A file past one is refused whole.

/// Bytes in one list file (OpenSanctions' sanctions collection as FtM lines is a few
/// hundred MiB; OFAC's and the UN's files a few MiB).
pub const MAX_FILE_BYTES: usize = 1 << 30;
/// Files in one load (OFAC's three).
pub const MAX_FILES: usize = 3;
/// Entries in one list.
pub const MAX_ENTRIES: usize = 2_000_000;
/// Names and aliases of one entry.
pub const MAX_NAMES_PER_ENTRY: usize = 1_000;
/// Bytes in one name.
pub const MAX_NAME_BYTES: usize = 1_024;
/// Countries, identifiers or programmes of one entry, each.
pub const MAX_VALUES_PER_ENTRY: usize = 1_000;
/// Bytes in one country, identifier or programme.
pub const MAX_VALUE_BYTES: usize = 4_096;
/// Nesting of XML elements.
pub const MAX_XML_DEPTH: usize = 16;
/// Bytes in one FtM JSON line.
pub const MAX_LINE_BYTES: usize = 4 << 20;
/// Names (with aliases) screened in one query.
pub const MAX_QUERY_NAMES: usize = 16;
/// Words of a name kept for matching (the rest is ignored).
pub const MAX_NAME_TOKENS: usize = 12;
