//! Paths on this machine that a caller or the server named: an artifact's
//! `uri`, a memory folder to write or to remove. Each is resolved and must
//! lie inside the folder it belongs to (its root) before anything is read,
//! written or removed there: no `..`, no symlink leading out.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a path was not used.
#[derive(Debug)]
pub(crate) enum Escape {
    /// The path leads outside the root (by `..`, a symlink, or because it
    /// is elsewhere altogether).
    Outside { path: PathBuf, root: PathBuf },
    /// The file system refused (the root missing, no permission, …).
    Io(io::Error),
}

impl std::fmt::Display for Escape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Outside { path, root } => write!(
                f,
                "{} is not inside {} (paths named by a caller or the server must stay inside \
                 the artifact store: no '..', no symlink leading out)",
                path.display(),
                root.display()
            ),
            Self::Io(error) => error.fmt(f),
        }
    }
}

impl From<io::Error> for Escape {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// `path`, resolved (symlinks followed), when it exists and lies inside
/// `root` (resolved too).
pub(crate) fn existing(root: &Path, path: &Path) -> Result<PathBuf, Escape> {
    let root = root.canonicalize()?;
    let resolved = path.canonicalize()?;
    if resolved.starts_with(&root) {
        Ok(resolved)
    } else {
        Err(Escape::Outside {
            path: path.to_owned(),
            root,
        })
    }
}

/// Creates the folder `root/relative` one level at a time, refusing a
/// `relative` that is not a plain downward path (`..`, `.`, absolute) and
/// any level that already exists as something other than a real folder (a
/// symlink could lead out). `root` itself is created if missing. Returns
/// the new folder; it must not exist yet.
pub(crate) fn create_dir(root: &Path, relative: &Path) -> Result<PathBuf, Escape> {
    let outside = || Escape::Outside {
        path: root.join(relative),
        root: root.to_owned(),
    };
    let levels: Vec<&std::ffi::OsStr> = relative
        .components()
        .map(|component| match component {
            Component::Normal(name) => Ok(name),
            _ => Err(outside()),
        })
        .collect::<Result<_, _>>()?;
    if levels.is_empty() {
        return Err(outside());
    }
    std::fs::create_dir_all(root)?;
    let mut dir = root.canonicalize()?;
    let last = levels.len() - 1;
    for (at, name) in levels.into_iter().enumerate() {
        dir.push(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && at < last => {
                if !std::fs::symlink_metadata(&dir)?.file_type().is_dir() {
                    return Err(outside());
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_paths_inside_the_root_resolve_and_others_are_refused() {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("store");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(top.path().join("victim")).unwrap();
        assert!(existing(&root, &root.join("a/b")).is_ok());
        assert!(existing(&root, &root.join("a/../a/b")).is_ok());
        for escape in [
            root.join("a/b/../../../victim"),
            top.path().join("victim"),
            PathBuf::from("/"),
        ] {
            assert!(
                matches!(existing(&root, &escape), Err(Escape::Outside { .. })),
                "{}",
                escape.display()
            );
        }
        std::os::unix::fs::symlink(top.path().join("victim"), root.join("link")).unwrap();
        assert!(matches!(
            existing(&root, &root.join("link")),
            Err(Escape::Outside { .. })
        ));
        assert!(matches!(
            existing(&root, &root.join("missing")),
            Err(Escape::Io(_))
        ));
    }

    #[test]
    fn new_folders_are_made_only_below_the_root() {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("store");
        let made = create_dir(&root, Path::new("x/y:z/1")).unwrap();
        assert!(made.is_dir() && made.starts_with(root.canonicalize().unwrap()));
        assert!(matches!(
            create_dir(&root, Path::new("x/y:z/1")),
            Err(Escape::Io(_))
        ));
        for escape in ["x/../../out", "../out", "/tmp/out", "./x/2", ""] {
            assert!(
                matches!(
                    create_dir(&root, Path::new(escape)),
                    Err(Escape::Outside { .. })
                ),
                "{escape}"
            );
        }
        assert!(!top.path().join("out").exists());
        std::fs::create_dir(top.path().join("victim")).unwrap();
        std::os::unix::fs::symlink(top.path().join("victim"), root.join("link")).unwrap();
        assert!(matches!(
            create_dir(&root, Path::new("link/1")),
            Err(Escape::Outside { .. })
        ));
        assert_eq!(
            std::fs::read_dir(top.path().join("victim"))
                .unwrap()
                .count(),
            0
        );
    }
}
