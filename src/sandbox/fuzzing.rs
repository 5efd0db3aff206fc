//! The entry point of the `profile_parse` fuzz target (`fuzz/`): a profile is operator input, so
//! parsing it, and planning it on a fully featured kernel, must be total: an error value for
//! anything malformed, never a panic.

use super::{Features, Plan, Profile};

/// Parses `data` as a profile and, when it is valid, builds its plan.
pub fn profile(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(profile) = Profile::parse(&text, "fuzz") {
        let _ = Plan::build("fuzz", &profile, &Features::full(), (1000, 1000));
        let _ = Plan::build("fuzz", &profile, &Features::full(), (0, 0));
    }
}
