//! Files at rest: the data directory is its owner's alone (0700), and so are the
//! database, its WAL and shared-memory files and every private key (0600). Set on
//! create; checked on open, where a file that group or others may read stops the
//! server with the file's name and the command that fixes it.

use std::path::Path;

pub use crate::app::write_private;

/// Refuses a file that group or others may read, write or execute.
pub fn check_private(path: &Path) -> Result<(), String> {
    check_mode(path, "chmod 600")
}

/// Refuses a directory that group or others may enter or list.
pub fn check_private_dir(path: &Path) -> Result<(), String> {
    check_mode(path, "chmod 700")
}

#[cfg(unix)]
fn check_mode(path: &Path, fix: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{} is open to group or others (mode {mode:03o}); only its owner may read it: run `{fix} {}`",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _fix: &str) -> Result<(), String> {
    Ok(())
}

/// Creates `dir` if needed and makes it its owner's alone (0700).
pub fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates an empty file with mode 0600, failing if it exists. SQLite gives its WAL
/// and shared-memory files the mode of the database file, so creating the database
/// this way before SQLite opens it keeps all three private.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(drop)
}

/// What `App::open` checks before it reads anything: the directory, the database and
/// (when present) its WAL and shared-memory files.
pub fn check_data_dir(dir: &Path, db: &Path) -> Result<(), String> {
    check_private_dir(dir)?;
    check_private(db)?;
    for suffix in ["-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        if p.exists() {
            check_private(&p)?;
        }
    }
    Ok(())
}
