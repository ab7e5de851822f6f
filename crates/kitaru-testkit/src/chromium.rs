//! The Chromium the browser tests drive, provided the way the harness
//! provides its Python: found if it is there, installed (Debian's package)
//! when the user may install packages, and otherwise one line on the
//! terminal, at the first browser test, naming the command that installs
//! it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The variable naming a Chromium (or Chrome) binary to use instead.
pub const CHROMIUM_VAR: &str = "KITARU_TEST_CHROMIUM";

/// What installs it on Debian and Ubuntu.
const INSTALL: &str = "sudo apt-get install -y --no-install-recommends chromium";

/// The Chromium binary: `$KITARU_TEST_CHROMIUM`, else `chromium` on `PATH`
/// (or `/usr/bin/chromium`), else Debian's package installed now, as root
/// or through passwordless `sudo`. Asked once per process; when none can be
/// had, the reason (with the command to run) is written to the terminal
/// once, past the test harness's capture, and returned.
pub fn chromium() -> Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let named = std::env::var_os(CHROMIUM_VAR).filter(|v| !v.is_empty());
            let found = resolve(named.map(PathBuf::from), on_path, install);
            if let Err(why) = &found {
                // Not captured: the line shows before the long run ends.
                let _ = writeln!(std::io::stderr(), "kitaru-testkit: {why}");
            }
            found
        })
        .clone()
}

/// The binary `named` by the variable, if it names one (and then only
/// it); else one on `PATH`, else one `install` provides.
fn resolve(
    named: Option<PathBuf>,
    on_path: impl Fn() -> Option<PathBuf>,
    install: impl FnOnce() -> Result<(), ()>,
) -> Result<PathBuf, String> {
    if let Some(named) = named {
        return if named.is_file() {
            Ok(named)
        } else {
            Err(format!(
                "${CHROMIUM_VAR} names {}, which is not a file: point it at a Chromium or \
                 Chrome binary, or unset it",
                named.display()
            ))
        };
    }
    on_path()
        .or_else(|| install().ok().and_then(|()| on_path()))
        .ok_or_else(|| {
            format!(
                "the browser tests need Chromium, and it could not be installed here (that \
                 needs root or passwordless sudo): install it with `{INSTALL}` (Debian/Ubuntu), \
                 or point ${CHROMIUM_VAR} at a Chromium or Chrome binary"
            )
        })
}

/// `chromium` (or `chromium-browser`) on `PATH`, or `/usr/bin/chromium`.
fn on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .chain([PathBuf::from("/usr/bin/chromium")])
        .find(|candidate| candidate.is_file())
}

/// Installs Debian's `chromium` with apt-get, as root or through `sudo -n`.
fn install() -> Result<(), ()> {
    let as_root: &[&str] = if is_root() {
        &[]
    } else if quiet(Command::new("sudo").args(["-n", "true"])) {
        &["sudo", "-n"]
    } else {
        return Err(());
    };
    let _ = writeln!(
        std::io::stderr(),
        "kitaru-testkit: installing chromium for the browser tests (apt-get)"
    );
    let apt = |args: &[&str]| {
        let mut command = match as_root.split_first() {
            Some((sudo, rest)) => {
                let mut command = Command::new(sudo);
                command.args(rest).arg("apt-get");
                command
            }
            None => Command::new("apt-get"),
        };
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        quiet(&mut command)
    };
    (apt(&["update", "-qq"])
        && apt(&[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "chromium",
        ]))
    .then_some(())
    .ok_or(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn quiet(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder for one test.
    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("kitaru-testkit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_named_binary_wins_and_must_be_there() {
        let dir = folder("named");
        let binary = dir.join("chrome");
        std::fs::write(&binary, "").unwrap();
        let never = || panic!("not looked for");
        assert_eq!(
            resolve(Some(binary.clone()), never, || panic!()),
            Ok(binary)
        );
        let missing = dir.join("nope");
        let why = resolve(Some(missing), never, || panic!()).unwrap_err();
        assert!(why.contains("KITARU_TEST_CHROMIUM names"), "{why}");
    }

    #[test]
    fn a_missing_chromium_is_installed_else_the_command_is_named() {
        let dir = folder("installed");
        let binary = dir.join("chromium");
        let installed = std::cell::Cell::new(false);
        let on_path = || installed.get().then(|| binary.clone());
        let found = resolve(None, on_path, || {
            std::fs::write(&binary, "").unwrap();
            installed.set(true);
            Ok(())
        });
        assert_eq!(found, Ok(binary.clone()));
        let why = resolve(None, || None, || Err(())).unwrap_err();
        assert!(why.contains(INSTALL), "{why}");
        assert!(why.contains("KITARU_TEST_CHROMIUM"), "{why}");
    }
}
