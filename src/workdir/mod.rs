//! Every path of the work directory in one place, the lock that keeps two runs apart,
//! and the permissions: directories 0700, files 0600 (they hold customer data).

pub mod manifest;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct WorkDir {
    root: PathBuf,
}

/// Held for the whole command: a second my2pg on the same directory is refused.
pub struct WorkDirLock {
    _file: File,
}

impl WorkDir {
    /// Creates the directory (0700) if needed.
    pub fn create(root: &Path) -> Result<WorkDir> {
        not_a_directory(root)?;
        // An existing directory keeps its mode: it may be a shared one (/var/tmp, a team
        // folder) that others need (the pretalx trial: 1777 and 2775 became 0700 without
        // a word). What my2pg writes in it is private anyway: table directories 0700,
        // files 0600.
        if !root.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root)
                .map_err(|e| unusable(root, e))?;
            fs::set_permissions(root, fs::Permissions::from_mode(0o700))
                .map_err(|e| unusable(root, e))?;
        }
        Ok(WorkDir {
            root: root.to_path_buf(),
        })
    }

    /// Opens an existing work directory (import, status): it must exist.
    pub fn open_existing(root: &Path) -> Result<WorkDir> {
        not_a_directory(root)?;
        if !root.is_dir() {
            // A wrong path or a missing export: the operator's to fix, like a bad config.
            return Err(Error::config(format!(
                "work directory {}{} does not exist: run `my2pg export` first, or point \
                 run.workdir (or --workdir) at the export's directory",
                root.display(),
                link_note(root)
            )));
        }
        Ok(WorkDir {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn lock(&self, run_id: &str) -> Result<WorkDirLock> {
        let path = self.root.join("my2pg.lock");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| unusable(&self.root, e))?;
        // flock is released by the kernel when the process dies, so a crash never
        // leaves a stale lock behind.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let holder = fs::read_to_string(&path).unwrap_or_default();
            return Err(Error::workdir(format!(
                "{} is in use by another my2pg process ({}); wait for it or stop it",
                self.root.display(),
                holder.trim()
            )));
        }
        file.set_len(0).map_err(|e| Error::io(&path, e))?;
        let _ = writeln!(file, "pid {} run {run_id}", std::process::id());
        Ok(WorkDirLock { _file: file })
    }

    pub fn table_dir(&self, dir: &str) -> PathBuf {
        self.root.join(dir)
    }

    pub fn chunk_file(&self, dir: &str, chunk: u32) -> PathBuf {
        self.root.join(dir).join(chunk_file_name(chunk))
    }

    pub fn manifest_path(&self, dir: &str) -> PathBuf {
        self.root.join(dir).join("manifest.json")
    }

    /// Run metadata lives apart from the data files so they stay byte-identical.
    pub fn run_file(&self) -> PathBuf {
        self.root.join("run.json")
    }

    /// Written when an `import` or `run` from these files finished: they were loaded
    /// into a target, which a later `run` against a target holding none of them tells.
    pub fn loaded_file(&self) -> PathBuf {
        self.root.join("loaded.json")
    }
}

pub fn chunk_file_name(chunk: u32) -> String {
    format!("{chunk:06}.csv")
}

/// Whether `name` is a file my2pg writes in a table directory: chunks (`000001.csv`),
/// their temp files, and the manifest with its temp file. Nothing else there is removed.
pub fn is_own_file(name: &str) -> bool {
    let chunk = |n: &str| {
        n.strip_suffix(".csv")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    };
    name == "manifest.json"
        || name == "manifest.json.tmp"
        || chunk(name)
        || name.strip_suffix(".tmp").is_some_and(chunk)
}

/// Removes a table directory's own files, and the directory once empty; returns how
/// many it removed and the names of what it kept (an operator's files: the h19 attack saw
/// `--fresh` delete them without a word).
pub fn remove_table_files(dir: &Path) -> Result<(usize, Vec<String>)> {
    let mut kept = Vec::new();
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        // A dangling link is refused here, before `--fresh` empties the target.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && fs::read_link(dir).is_err() => {
            return Ok((0, kept))
        }
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOTDIR | libc::ELOOP | libc::ENOENT)
            ) =>
        {
            return Err(Error::refused(format!(
                "{}: {e}{}: a table directory must be a directory (or a symbolic link to one); \
                 fix or remove it",
                dir.display(),
                link_note(dir)
            )))
        }
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_own_file(&name) {
            // Under my2pg's own name it is taken as its own, whatever it is (a directory
            // named manifest.json is refused as damaged, and --fresh is the way out).
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                fs::remove_dir_all(entry.path())
            } else {
                fs::remove_file(entry.path())
            }
            .map_err(|e| Error::io(entry.path(), e))?;
            removed += 1;
        } else {
            kept.push(name);
        }
    }
    // A table directory that is a symlink (a big table put on another disk) stays, so
    // the next export writes there again.
    let linked = fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
    if kept.is_empty() && !linked {
        fs::remove_dir(dir).map_err(|e| Error::io(dir, e))?;
    }
    kept.sort();
    Ok((removed, kept))
}

/// A work directory path that names a file (or a symlink to one) is a config mistake;
/// left to mkdir it would surface as a bare "File exists (os error 17)".
fn not_a_directory(root: &Path) -> Result<()> {
    match fs::metadata(root) {
        Ok(m) if !m.is_dir() => Err(Error::config(format!(
            "work directory {} is not a directory: point run.workdir (or --workdir) at a directory, or remove the file",
            root.display()
        ))),
        // A symlink loop (the h19 attack: exit 1, "File exists" from mkdir).
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(unusable(root, e)),
        _ => Ok(()),
    }
}

/// A work directory this user may not create, own or write (another user's, a read-only
/// filesystem, a path through a file or through /proc) is the operator's to fix, like a
/// bad path: exit 2 naming it (the operator-night trial got a bare "Operation not
/// permitted (os error 1)", the h16 attack "Not a directory (os error 20)", exit 1).
fn unusable(root: &Path, e: std::io::Error) -> Error {
    let denied = e.kind() == std::io::ErrorKind::PermissionDenied
        || matches!(
            e.raw_os_error(),
            Some(
                libc::EPERM
                    | libc::EROFS
                    | libc::EACCES
                    | libc::ENOTDIR
                    | libc::ENOENT
                    | libc::ELOOP
                    // A dangling symlink: mkdir finds the name taken.
                    | libc::EEXIST
            )
        );
    if !denied {
        return Error::io(root, e);
    }
    Error::config(format!(
        "work directory {}: {e}{}: my2pg creates it (mode 0700, its files hold the source's \
         data) and writes to it: use a directory this user owns on a writable filesystem \
         (run.workdir or --workdir)",
        root.display(),
        link_note(root)
    ))
}

/// ` (a symbolic link to X)` when `path` is one: a link to a disk not mounted reads as
/// "File exists" or "does not exist" otherwise (the h22 attack).
fn link_note(path: &Path) -> String {
    match fs::read_link(path) {
        Ok(to) => format!(" (a symbolic link to {})", to.display()),
        Err(_) => String::new(),
    }
}

pub fn create_dir_private(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| match e.raw_os_error() {
            // A table directory that is a broken symlink, a link to a file or a loop (a
            // disk not mounted): the operator's to fix, named (the h22 attack: exit 1,
            // "File exists (os error 17)").
            Some(libc::EEXIST | libc::ENOTDIR | libc::ELOOP) => Error::refused(format!(
                "{}: {e}{}: a table directory must be a directory (or a symbolic link to one); \
                 fix or remove it",
                path.display(),
                link_note(path)
            )),
            _ => Error::io(path, e),
        })?;
    // An existing directory keeps its mode on create: tighten it.
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(|e| Error::io(path, e))
}

/// Creates (truncating) a private file.
pub fn create_private(path: &Path) -> Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    // The mode only applies to a new file; an old one with a wider mode is narrowed.
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(path, e))?;
    Ok(f)
}

/// Writes a file atomically: temp name, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = create_private(&tmp)?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_parent(path)
}

pub fn sync_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        let d = File::open(parent).map_err(|e| Error::io(parent, e))?;
        d.sync_all().map_err(|e| Error::io(parent, e))?;
    }
    Ok(())
}

/// Bytes available to this user on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::workdir(format!("{} contains a NUL byte", path.display())))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(Error::io(path, std::io::Error::last_os_error()));
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}
