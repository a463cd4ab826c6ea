//! One way to write a file, for every file onboard writes (docs/security.md).
//!
//! Before anything is committed, [`check`] makes sure that each output of a command may
//! be written: never over a file the command reads or keeps (its input, the directory
//! and SQLite's side files, the tenant and mapping files) or another of its outputs, in a
//! folder that exists and takes new files, and over an existing file only with
//! `--force`. Then [`write`] puts the content in a temporary file in the same folder
//! (created 0600, so nobody else can read it even for a moment), syncs it and renames it
//! into place: a symlink at the path is replaced, never followed, and a file that appears
//! at the path meanwhile is never replaced without `--force`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// A file a command is to write.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: PathBuf,
    /// What it is, for messages: `result file`, `summary`, …
    pub what: &'static str,
    /// The option that names it, for messages: `-o`, `--summary`.
    pub option: &'static str,
    /// `--force`: an existing file may be replaced.
    pub force: bool,
    /// Holds personal data or passwords: 0600, else 0644.
    pub private: bool,
}

/// A file that a command reads or keeps, which none of its outputs may replace.
#[derive(Debug, Clone)]
pub struct Kept {
    pub path: PathBuf,
    /// What it is, for messages: `the input file`, `the directory`, …
    pub what: String,
}

impl Kept {
    pub fn new(path: &Path, what: impl Into<String>) -> Kept {
        Kept {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }

    /// The directory file and the files SQLite keeps beside it.
    pub fn directory(path: &Path) -> Vec<Kept> {
        let mut kept = vec![Kept::new(path, "the directory")];
        for side in ["-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(side);
            kept.push(Kept::new(
                Path::new(&name),
                format!("a file of the directory ({side})"),
            ));
        }
        kept
    }
}

/// Checks, before any work is done, that every target may be written (see the module's
/// documentation). The error names the option's file and why.
pub fn check(targets: &[&Target], kept: &[Kept]) -> Result<()> {
    for (i, t) in targets.iter().enumerate() {
        let shown = t.path.display();
        let place = place(&t.path);
        for k in kept {
            if place.is_some() && (place == self::place(&k.path) || place == real(&k.path)) {
                bail!(
                    "{} {shown} is {}; choose another name with {}",
                    t.what,
                    k.what,
                    t.option
                );
            }
        }
        for other in &targets[..i] {
            if place.is_some() && place == self::place(&other.path) {
                bail!(
                    "{} {shown} is also the {}; choose another name with {}",
                    t.what,
                    other.what,
                    t.option
                );
            }
        }
        if t.path.is_dir() {
            bail!("{} {shown} is a folder", t.what);
        }
        if t.path.symlink_metadata().is_ok() && !t.force {
            bail!(
                "{} {shown} already exists; use --force to overwrite it or {} to choose another name",
                t.what,
                t.option
            );
        }
        let folder = folder(&t.path);
        if !folder.is_dir() {
            let given = t.path.parent().unwrap_or(Path::new("."));
            bail!(
                "cannot write {} {shown}: folder {} does not exist",
                t.what,
                given.display()
            );
        }
        // The one sure test that the folder takes a new file is to make one.
        tempfile::Builder::new()
            .prefix(".onboard-check.")
            .tempfile_in(&folder)
            .with_context(|| {
                format!(
                    "cannot write {} {shown}: cannot create a file in {}",
                    t.what,
                    folder.display()
                )
            })?;
    }
    Ok(())
}

/// Writes `target` through a temporary file in its folder, synced and renamed into
/// place. `fill` writes the content.
pub fn write(target: &Target, fill: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let shown = target.path.display();
    let name = target
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(folder(&target.path))
        .with_context(|| format!("cannot write {} {shown}", target.what))?;
    #[cfg(unix)]
    if !target.private {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot write {} {shown}", target.what))?;
    }
    {
        let mut out = BufWriter::new(tmp.as_file_mut());
        fill(&mut out).with_context(|| format!("cannot write {} {shown}", target.what))?;
        out.flush()
            .with_context(|| format!("cannot write {} {shown}", target.what))?;
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("cannot write {} {shown}", target.what))?;
    // After Ctrl-C the file is not put in place; dropping `tmp` removes it.
    crate::interrupt::check()?;
    let persisted = if target.force {
        tmp.persist(&target.path)
    } else {
        tmp.persist_noclobber(&target.path)
    };
    persisted.map_err(|e| {
        anyhow::Error::new(e.error).context(format!("cannot write {} {shown}", target.what))
    })?;
    sync_folder(&target.path);
    Ok(())
}

/// The folder of `path`, absolute, so recorded paths work from any folder.
pub fn folder(path: &Path) -> PathBuf {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::path::absolute(&folder).unwrap_or(folder)
}

/// Syncs the folder of `path`, so that a rename in it survives a crash.
pub fn sync_folder(path: &Path) {
    if let Ok(dir) = File::open(folder(path)) {
        let _ = dir.sync_all();
    }
}

/// Where a name is: its folder with every link resolved, and the name itself (a link
/// there is the name, not what it points to: a rename replaces the link).
fn place(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    Some(folder(path).canonicalize().ok()?.join(name))
}

/// The file a path leads to, links followed, when it exists.
fn real(path: &Path) -> Option<PathBuf> {
    path.canonicalize().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &Path, force: bool) -> Target {
        Target {
            path: path.to_path_buf(),
            what: "result file",
            option: "-o",
            force,
            private: true,
        }
    }

    #[test]
    fn refuses_what_is_kept_other_outputs_and_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("onboard.db");
        std::fs::write(&db, b"x").unwrap();
        let kept = Kept::directory(&db);
        let e = check(&[&target(&db, true)], &kept).unwrap_err();
        assert!(e.to_string().contains("is the directory"), "{e}");
        let wal = dir.path().join("onboard.db-wal");
        let e = check(&[&target(&wal, true)], &kept).unwrap_err();
        assert!(e.to_string().contains("(-wal)"), "{e}");
        // The same name reached through another way of writing it.
        let odd = dir.path().join(".").join("onboard.db");
        assert!(check(&[&target(&odd, true)], &kept).is_err());
        let a = dir.path().join("r.csv");
        let b = Target {
            what: "summary",
            ..target(&a, true)
        };
        let e = check(&[&target(&a, true), &b], &[]).unwrap_err();
        assert!(e.to_string().contains("is also the result file"), "{e}");
        std::fs::write(&a, b"old").unwrap();
        let e = check(&[&target(&a, false)], &[]).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert!(check(&[&target(&a, true)], &[]).is_ok());
        let missing = dir.path().join("no/such/folder/s.json");
        let e = check(&[&target(&missing, true)], &[]).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn writes_replace_a_link_and_never_follow_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let link = dir.path().join("out.csv");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let t = target(&link, false);
        assert!(check(&[&t], &[]).is_err(), "a link is an existing file");
        let t = target(&link, true);
        write(&t, |w| Ok(w.write_all(b"new")?)).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(!std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        let mode = std::fs::metadata(&link).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A dangling link: the file is made at the link's name, not where it points.
        let nowhere = dir.path().join("nowhere");
        let dangling = dir.path().join("d.csv");
        std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
        write(&target(&dangling, true), |w| Ok(w.write_all(b"x")?)).unwrap();
        assert!(!nowhere.exists());
        // Without --force, a file that appeared after the check is left alone.
        let late = dir.path().join("late.csv");
        let t = target(&late, false);
        check(&[&t], &[]).unwrap();
        std::fs::write(&late, b"theirs").unwrap();
        assert!(write(&t, |w| Ok(w.write_all(b"ours")?)).is_err());
        assert_eq!(std::fs::read(&late).unwrap(), b"theirs");
        let public = Target {
            private: false,
            ..target(&dir.path().join("onboard.1"), false)
        };
        write(&public, |w| Ok(w.write_all(b".TH")?)).unwrap();
        let mode = std::fs::metadata(&public.path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o644);
    }
}
