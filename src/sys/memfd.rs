//! Sealed memory files: how a large byte buffer crosses to another process without the sender
//! being able to change it afterwards.
//!
//! The sender writes the bytes into a `memfd` and seals it against writing, shrinking, growing
//! and further sealing; the receiver trusts one only after checking those four seals and its
//! exact size, and then reads it.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// The seals a buffer must carry: its contents and size are frozen for good.
pub const REQUIRED_SEALS: i32 = libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

/// Why a received buffer descriptor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemfdError {
    #[error("the descriptor is not a sealable memory file")]
    NotSealed,
    #[error("the buffer lacks seals {missing:#x} (write, shrink, grow and seal are required)")]
    MissingSeals { missing: i32 },
    #[error("the buffer holds {actual} bytes but the message says {announced}")]
    SizeMismatch { announced: u64, actual: u64 },
    #[error("reading the buffer failed (errno {errno})")]
    Read { errno: i32 },
}

/// A memfd holding `bytes`, sealed with [`REQUIRED_SEALS`].
pub fn sealed(bytes: &[u8]) -> io::Result<OwnedFd> {
    // SAFETY: the name is a NUL-terminated literal that outlives the call; on success the
    // result is a fresh descriptor that nothing else owns.
    let fd = unsafe { libc::memfd_create(c"luacell-buffer".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    fill_and_seal(fd, bytes)
}

/// A memfd holding the program `bytes`, sealed like a buffer and made execute-only (mode
/// 0111): it can be run with `execveat(fd, "", AT_EMPTY_PATH)` by anyone, read by no one without
/// `CAP_DAC_OVERRIDE`, and a process running it is not dumpable (the kernel's rule for a
/// program its user cannot read).
pub fn sealed_program(name: &std::ffi::CStr, bytes: &[u8]) -> io::Result<OwnedFd> {
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: `name` is NUL-terminated and outlives the call; on success the result is a fresh
    // descriptor that nothing else owns. MFD_EXEC (Linux 6.3) says the file is meant to run,
    // which a `vm.memfd_noexec` of 1 would otherwise forbid.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | libc::MFD_EXEC) };
    if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above; older kernels do not know MFD_EXEC and make every memfd executable.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    let fd = fill_and_seal(fd, bytes)?;
    // SAFETY: fchmod takes a live descriptor and a mode.
    if unsafe { libc::fchmod(fd.as_raw_fd(), 0o111) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Takes `fd`, what memfd_create just answered (negative: its error is in errno), writes
/// `bytes` into it and seals it with [`REQUIRED_SEALS`].
fn fill_and_seal(fd: libc::c_int, bytes: &[u8]) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: memfd_create returned a new descriptor owned by no one else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(fd);
    io::Write::write_all(&mut file, bytes)?;
    let fd = OwnedFd::from(file);
    // SAFETY: F_ADD_SEALS takes an integer argument and no pointer; `fd` is live.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, REQUIRED_SEALS) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Checks that `fd` is a memory file sealed with [`REQUIRED_SEALS`] holding exactly
/// `announced` bytes, and reads them (the caller bounds `announced` first).
pub fn read_sealed(fd: BorrowedFd<'_>, announced: u64) -> Result<Vec<u8>, MemfdError> {
    // SAFETY: F_GET_SEALS takes no argument and no pointer; `fd` is live.
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    if seals < 0 {
        return Err(MemfdError::NotSealed);
    }
    let missing = REQUIRED_SEALS & !seals;
    if missing != 0 {
        return Err(MemfdError::MissingSeals { missing });
    }
    let file = std::fs::File::from(
        fd.try_clone_to_owned().map_err(|e| MemfdError::Read { errno: e.raw_os_error().unwrap_or(0) })?,
    );
    let actual = file.metadata().map_err(|e| MemfdError::Read { errno: e.raw_os_error().unwrap_or(0) })?.len();
    if actual != announced {
        return Err(MemfdError::SizeMismatch { announced, actual });
    }
    let len = usize::try_from(announced).map_err(|_| MemfdError::SizeMismatch { announced, actual })?;
    let mut out = vec![0u8; len];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut out, 0)
        .map_err(|e| MemfdError::Read { errno: e.raw_os_error().unwrap_or(0) })?;
    Ok(out)
}
