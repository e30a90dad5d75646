//! Any bytes: the parser must not panic, and whatever it accepts must render and read
//! back as the same events, kept detail bytes included.
#![no_main]

use libfuzzer_sys::fuzz_target;
use liaison_cot::{Limits, parse, render_document};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(events) = parse(data, &limits) {
        let again = parse(render_document(&events).as_bytes(), &limits);
        assert_eq!(again, Ok(events));
    }
});
