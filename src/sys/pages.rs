//! Receive buffers backed by their own anonymous mapping.
//!
//! A datagram buffer must be as large as the largest message a channel admits (1 MiB under the
//! default profile) although most messages are a few dozen bytes. A zeroed heap allocation of
//! that size is only free when the allocator knows its memory is fresh from the kernel; in a
//! forked child (every sandboxed actor) it is not, and the allocator then writes every page: a
//! megabyte of page faults and copies before the first message, on the spawn path. A private
//! anonymous mapping is zero by the kernel's guarantee and costs a page only once a datagram
//! reaches it.

use std::io;
use std::ptr::NonNull;

/// `len` bytes of zero-initialised memory, mapped on demand; unmapped on drop.
pub struct Pages {
    ptr: NonNull<u8>,
    len: usize,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages").field("len", &self.len).finish_non_exhaustive()
    }
}

// SAFETY: a `Pages` owns its mapping alone, as a `Box<[u8]>` owns its allocation: moving it to
// another thread moves that ownership, and shared references only read.
unsafe impl Send for Pages {}
// SAFETY: as above; `&Pages` gives only `&[u8]`.
unsafe impl Sync for Pages {}

impl Pages {
    /// An empty buffer (maps nothing).
    pub const fn empty() -> Pages {
        Pages { ptr: NonNull::dangling(), len: 0 }
    }

    /// Maps `len` bytes (rounded up to whole pages by the kernel).
    pub fn new(len: usize) -> io::Result<Pages> {
        if len == 0 {
            return Ok(Pages::empty());
        }
        // SAFETY: a fresh private anonymous mapping at an address the kernel picks: it aliases
        // nothing, and the kernel returns either MAP_FAILED or the start of `len` readable,
        // writable bytes that read as zero until written.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
        Ok(Pages { ptr, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Pages {
    fn default() -> Pages {
        Pages::empty()
    }
}

impl std::ops::Deref for Pages {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` is the start of `len` mapped bytes that this value owns for its whole
        // life (or dangling with `len` 0); anonymous pages are initialised (zero) by the kernel.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for Pages {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference to the bytes.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmaps exactly the mapping `new` made, which no reference outlives (every
            // slice borrows `self`).
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_read_zero_and_keep_what_is_written() {
        let mut p = Pages::new(3 * 4096 + 5).expect("mmap");
        assert_eq!(p.len(), 3 * 4096 + 5);
        assert!(p.iter().all(|&b| b == 0));
        p[4096 * 3 + 4] = 7;
        p[0] = 1;
        assert_eq!((p[0], p[4096 * 3 + 4], p[1]), (1, 7, 0));
        let e = Pages::new(0).expect("empty");
        assert!(e.is_empty());
    }
}
