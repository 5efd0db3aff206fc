#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| luacell::sandbox::fuzzing::profile(data));
