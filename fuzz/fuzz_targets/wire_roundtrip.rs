#![no_main]
libfuzzer_sys::fuzz_target!(|spec: luacell::ipc::fuzzing::ValueSpec| luacell::ipc::fuzzing::roundtrip(&spec));
