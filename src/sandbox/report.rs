//! The report pipe: how a sandbox child tells its parent what happened during setup and how its
//! payload ended. Fixed 16-byte records (atomic on a pipe), parsed totally: a short or unknown
//! record is an error value, never a panic.
//!
//! Trust zone: written by the child before and just after lockdown (the pid-1 reaper keeps it;
//! the payload never holds it once it runs untrusted code), read by the spawning process.

/// One step of the child's setup, named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    Descriptors = 1,
    UidMap,
    GidMap,
    Setgroups,
    DeathSignal,
    Stdio,
    MakePrivate,
    OpenBindSource,
    SetBindAttributes,
    StageRoot,
    CreateMountPoint,
    AttachBind,
    Tmpfs,
    Dev,
    Proc,
    RootReadOnly,
    PivotRoot,
    DetachOldRoot,
    Hostname,
    Rlimit,
    CloseDescriptors,
    Environment,
    Setsid,
    Capabilities,
    NoNewPrivs,
    NotDumpable,
    DropIds,
    Landlock,
    Fork,
    Seccomp,
    Exec,
    ParentGone,
}

impl Step {
    const ALL: [Step; 32] = [
        Step::Descriptors,
        Step::UidMap,
        Step::GidMap,
        Step::Setgroups,
        Step::DeathSignal,
        Step::Stdio,
        Step::MakePrivate,
        Step::OpenBindSource,
        Step::SetBindAttributes,
        Step::StageRoot,
        Step::CreateMountPoint,
        Step::AttachBind,
        Step::Tmpfs,
        Step::Dev,
        Step::Proc,
        Step::RootReadOnly,
        Step::PivotRoot,
        Step::DetachOldRoot,
        Step::Hostname,
        Step::Rlimit,
        Step::CloseDescriptors,
        Step::Environment,
        Step::Setsid,
        Step::Capabilities,
        Step::NoNewPrivs,
        Step::NotDumpable,
        Step::DropIds,
        Step::Landlock,
        Step::Fork,
        Step::Seccomp,
        Step::Exec,
        Step::ParentGone,
    ];

    fn from_u32(v: u32) -> Option<Step> {
        Step::ALL.iter().copied().find(|s| *s as u32 == v)
    }

    /// What the step does, for error lines.
    pub fn describe(self) -> &'static str {
        match self {
            Step::Descriptors => "arranging descriptors",
            Step::UidMap => "writing the uid map",
            Step::GidMap => "writing the gid map",
            Step::Setgroups => "denying setgroups",
            Step::DeathSignal => "setting the parent-death signal",
            Step::Stdio => "connecting stdio to /dev/null",
            Step::MakePrivate => "making the mount tree private",
            Step::OpenBindSource => "opening bind source",
            Step::SetBindAttributes => "making bind read-only/nosuid",
            Step::StageRoot => "mounting the new root tmpfs",
            Step::CreateMountPoint => "creating mount point",
            Step::AttachBind => "attaching bind",
            Step::Tmpfs => "mounting tmpfs",
            Step::Dev => "building /dev",
            Step::Proc => "mounting /proc",
            Step::RootReadOnly => "making the new root read-only",
            Step::PivotRoot => "pivot_root into the new root",
            Step::DetachOldRoot => "detaching the old root",
            Step::Hostname => "setting the host name",
            Step::Rlimit => "setting resource limit",
            Step::CloseDescriptors => "closing inherited descriptors",
            Step::Environment => "setting the profile's environment",
            Step::Setsid => "starting a new session",
            Step::Capabilities => "dropping capabilities",
            Step::NoNewPrivs => "setting no_new_privs",
            Step::NotDumpable => "making the process non-dumpable",
            Step::DropIds => "switching to the unprivileged host ids",
            Step::Landlock => "enforcing Landlock",
            Step::Fork => "forking the payload under the pid-1 reaper",
            Step::Seccomp => "installing the seccomp filter",
            Step::Exec => "executing the command",
            Step::ParentGone => "checking the parent is alive",
        }
    }
}

/// A record from the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A setup step failed: which, on which plan item (index), with which errno.
    Failed { step: Step, index: u32, errno: i32 },
    /// Setup is complete; Landlock's status (0 off, 1 fully, 2 partially, 3 not enforced).
    Ready { landlock: u32 },
    /// The payload under the pid-1 reaper ended with this raw wait status, after using this much
    /// CPU time (milliseconds).
    PayloadStatus { wait_status: i32, cpu_ms: u32 },
}

pub const RECORD_LEN: usize = 16;

const FAILED: u32 = 1;
const READY: u32 = 2;
const PAYLOAD: u32 = 3;

impl Record {
    pub fn encode(self) -> [u8; RECORD_LEN] {
        let (kind, a, b, c) = match self {
            Record::Failed { step, index, errno } => (FAILED, step as u32, index, errno as u32),
            Record::Ready { landlock } => (READY, landlock, 0, 0),
            Record::PayloadStatus { wait_status, cpu_ms } => (PAYLOAD, wait_status as u32, cpu_ms, 0),
        };
        let mut out = [0u8; RECORD_LEN];
        for (i, v) in [kind, a, b, c].into_iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
        }
        out
    }

    /// Decodes one record; `None` for anything malformed.
    pub fn decode(bytes: &[u8]) -> Option<Record> {
        if bytes.len() != RECORD_LEN {
            return None;
        }
        let word =
            |i: usize| -> Option<u32> { Some(u32::from_ne_bytes(bytes.get(i * 4..i * 4 + 4)?.try_into().ok()?)) };
        let (kind, a, b, c) = (word(0)?, word(1)?, word(2)?, word(3)?);
        match kind {
            FAILED => Some(Record::Failed { step: Step::from_u32(a)?, index: b, errno: c as i32 }),
            READY if a <= 3 && b == 0 && c == 0 => Some(Record::Ready { landlock: a }),
            PAYLOAD if c == 0 => Some(Record::PayloadStatus { wait_status: a as i32, cpu_ms: b }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_garbage_is_rejected() {
        for r in [
            Record::Failed { step: Step::PivotRoot, index: 3, errno: libc::EPERM },
            Record::Ready { landlock: 2 },
            Record::PayloadStatus { wait_status: 0x0b, cpu_ms: 4012 },
        ] {
            assert_eq!(Record::decode(&r.encode()), Some(r));
        }
        assert_eq!(Record::decode(&[0u8; 16]), None);
        assert_eq!(Record::decode(&[1u8; 15]), None);
        let mut bad = Record::Ready { landlock: 1 }.encode();
        bad[4] = 9;
        assert_eq!(Record::decode(&bad), None);
        let mut bad_step = Record::Failed { step: Step::Exec, index: 0, errno: 1 }.encode();
        bad_step[4..8].copy_from_slice(&999u32.to_ne_bytes());
        assert_eq!(Record::decode(&bad_step), None);
    }
}
