//! Files that hold secrets or plaintext: created new and private, never through a symlink; and bounded reads of
//! files given on the command line.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::Help;

/// Creates `path` for writing with mode 0600 (owner only). Refuses any existing path, a symlink included (even a
/// dangling one): `create_new` is `O_CREAT | O_EXCL`, which never follows a symlink, so the file created is always a
/// new one at `path` itself. An existing path fails with [`io::ErrorKind::AlreadyExists`].
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Creates a private temporary file next to `path` (`<path>.tmp.<16 random hex digits>`, with [`create_private`]),
/// to be renamed over `path` once written. The name cannot be guessed in advance, and a name that exists anyway is
/// never opened: another is tried.
pub fn create_private_beside(path: &Path) -> io::Result<(PathBuf, File)> {
    let rng = SystemRandom::new();
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..8 {
        let mut suffix = [0u8; 8];
        rng.fill(&mut suffix).map_err(|_| {
            io::Error::other("the operating system's random number generator failed")
        })?;
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".tmp.{}", hex::encode(suffix)));
        let tmp = PathBuf::from(name);
        match create_private(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// A file that [`read_bounded`] refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}` is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("`{}` is larger than {max} bytes", path.display())]
    TooLarge { path: PathBuf, max: u64 },
}

impl ReadError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

impl Help for ReadError {
    fn help(&self) -> Option<String> {
        Some(match self {
            ReadError::Io { .. } => "check the path and its permissions".into(),
            ReadError::NotAFile { .. } => "pass the path of a file".into(),
            ReadError::TooLarge { .. } => "pass a smaller file".into(),
        })
    }

    fn is_usage(&self) -> bool {
        true
    }
}

/// Reads a regular file of at most `max` bytes. The size is checked before reading and again while reading, so a
/// file that grows meanwhile is refused too.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile {
            path: path.to_owned(),
        });
    }
    let too_large = || ReadError::TooLarge {
        path: path.to_owned(),
        max,
    };
    if meta.len() > max {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_private_is_0600_and_never_replaces_or_follows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        create_private(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let target = dir.path().join("target");
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let e = create_private(&link).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
            assert!(!target.exists(), "a dangling symlink is not followed");
        }
        let e = create_private(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn temporary_names_are_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.json");
        let (a, _) = create_private_beside(&path).unwrap();
        let (b, _) = create_private_beside(&path).unwrap();
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("ring.json.tmp.") && name.len() == "ring.json.tmp.".len() + 16);
    }

    #[test]
    fn read_bounded_refuses_large_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read_bounded(&path, 4),
            Err(ReadError::TooLarge { max: 4, .. })
        ));
        assert!(matches!(
            read_bounded(dir.path(), 4),
            Err(ReadError::NotAFile { .. })
        ));
        assert!(
            read_bounded(&dir.path().join("none"), 4)
                .unwrap_err()
                .is_not_found()
        );
    }
}
