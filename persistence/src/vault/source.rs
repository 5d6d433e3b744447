//! Where the operator key comes from: `CLIENTLINE_SECRET_KEY` (the key itself),
//! `CLIENTLINE_SECRET_KEY_FILE` (a file holding it), or, on SQLite with neither, a key file
//! beside the database (`<database>.key`), created on first start. PostgreSQL replicas must
//! share one key, so there a key must be configured: a file each replica made for itself
//! would leave every other replica unable to open what it sealed.
//!
//! A key file holds the key in base64 (hex is read too), is private to its owner (mode 0600),
//! and is replaced atomically. `<key file>.new` is the key of a rotation that has not finished;
//! while it exists, values sealed under either key open.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{KeyError, OperatorKey, Vault};
use crate::Backend;

/// The key as configured.
#[derive(Clone)]
pub enum KeySource {
    /// The key itself, from `CLIENTLINE_SECRET_KEY`.
    Value(String),
    /// A file that holds it, from `CLIENTLINE_SECRET_KEY_FILE`; it must exist.
    File(PathBuf),
    /// The file beside a SQLite database, created when missing.
    BesideDatabase(PathBuf),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Value(_) => f.write_str("Value([redacted])"),
            KeySource::File(p) => f.debug_tuple("File").field(p).finish(),
            KeySource::BesideDatabase(p) => f.debug_tuple("BesideDatabase").field(p).finish(),
        }
    }
}

/// The key a source gave, and what happened to get it.
#[derive(Debug)]
pub struct Loaded {
    pub vault: Vault,
    /// The key file this start created, to announce once.
    pub created: Option<PathBuf>,
    /// The pending key of an unfinished rotation, which opens values too.
    pub unfinished_rotation: Option<PathBuf>,
}

impl KeySource {
    /// The source the settings name. `value` and `file` are the two variables; with neither,
    /// SQLite gets a file beside the database and PostgreSQL an error.
    pub fn choose(
        value: Option<String>,
        file: Option<PathBuf>,
        database_url: &str,
    ) -> Result<KeySource, KeyError> {
        match (value.filter(|v| !v.is_empty()), file) {
            (Some(_), Some(_)) => Err(KeyError(
                "set CLIENTLINE_SECRET_KEY or CLIENTLINE_SECRET_KEY_FILE, not both".into(),
            )),
            (Some(value), None) => Ok(KeySource::Value(value)),
            (None, Some(file)) => Ok(KeySource::File(file)),
            (None, None) => match Backend::of(database_url) {
                Backend::Postgres => Err(KeyError(
                    "PostgreSQL needs an operator key that every replica shares: set \
                     CLIENTLINE_SECRET_KEY (32 bytes as base64 or 64 hex digits; \
                     `clientline secret-key generate` makes one) or CLIENTLINE_SECRET_KEY_FILE"
                        .into(),
                )),
                Backend::Sqlite => {
                    let path = database_url
                        .strip_prefix("sqlite://")
                        .unwrap_or(database_url);
                    Ok(KeySource::BesideDatabase(PathBuf::from(format!(
                        "{path}.key"
                    ))))
                }
            },
        }
    }

    /// The key file, if the key lives in one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            KeySource::Value(_) => None,
            KeySource::File(p) | KeySource::BesideDatabase(p) => Some(p),
        }
    }

    /// Reads the key (creating the file beside the database when it is missing).
    pub fn load(&self) -> Result<Loaded, KeyError> {
        let (key, created) = match self {
            KeySource::Value(value) => (
                OperatorKey::parse(value)
                    .map_err(|e| KeyError(format!("CLIENTLINE_SECRET_KEY {e}")))?,
                None,
            ),
            KeySource::File(path) => (read_key_file(path)?, None),
            KeySource::BesideDatabase(path) => match read_key_file_if_any(path)? {
                Some(key) => (key, None),
                None => {
                    let key = OperatorKey::generate();
                    match write_key_file(path, &key) {
                        Ok(()) => (key, Some(path.clone())),
                        // Another process made it first: use theirs.
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                            (read_key_file(path)?, None)
                        }
                        Err(e) => {
                            return Err(KeyError(format!(
                                "cannot create the key file {}: {e}",
                                path.display()
                            )));
                        }
                    }
                }
            },
        };
        let mut vault = Vault::new(key);
        let mut unfinished_rotation = None;
        if let Some(path) = self.file() {
            let pending = pending_path(path);
            if let Some(next) = read_key_file_if_any(&pending)? {
                vault = vault.also_opening(next);
                unfinished_rotation = Some(pending);
            }
        }
        Ok(Loaded {
            vault,
            created,
            unfinished_rotation,
        })
    }
}

/// Where a rotation keeps the new key until it has re-sealed everything.
pub fn pending_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

fn read_key_file(path: &Path) -> Result<OperatorKey, KeyError> {
    read_key_file_if_any(path)?
        .ok_or_else(|| KeyError(format!("the key file {} does not exist", path.display())))
}

/// Reads a key file, refusing one that others may read or that holds no key.
pub fn read_key_file_if_any(path: &Path) -> Result<Option<OperatorKey>, KeyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KeyError(format!("cannot read {}: {e}", path.display()))),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| KeyError(format!("cannot read {}: {e}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyError(format!(
                "the key file {} may be read by others (mode {:o}); make it private with \
                 `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    OperatorKey::parse(&text)
        .map(Some)
        .map_err(|e| KeyError(format!("the key file {} {e}", path.display())))
}

/// Writes a new key file with mode 0600, all at once: the key goes to a temporary file that
/// is then linked into place, which fails if the file exists (no key is ever overwritten).
pub fn write_key_file(path: &Path, key: &OperatorKey) -> std::io::Result<()> {
    let temporary = temporary_beside(path, key)?;
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    linked?;
    sync_directory(path);
    Ok(())
}

/// Moves `from` (a finished rotation's key) over the key file `to`, atomically.
pub fn replace_key_file(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    sync_directory(to);
    Ok(())
}

/// A private file beside `path` holding `key`, flushed to disk.
fn temporary_beside(path: &Path, key: &OperatorKey) -> std::io::Result<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp{}", std::process::id()));
    let temporary = PathBuf::from(name);
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    let written = writeln!(file, "{}", key.to_base64()).and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    Ok(temporary)
}

fn sync_directory(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(handle) = std::fs::File::open(dir) {
            let _ = handle.sync_all();
        }
    }
}
