//! The in-process syntax checker on deeply nested sources: no input crashes
//! it, however deep, and a source the depth scan calls shallow parses within
//! the stack the checking threads get.
//!
//! The first three bytes pick a shape and how often it repeats (up to 65,535
//! times), so that the depths around CPython's limits (200 brackets, 100
//! indentation levels, a few thousand operators) are reached at once; the
//! rest of the input follows the shape as free text. The dictionary
//! (`dictionaries/syntax_checker.dict`) holds the same tokens for mutations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pycache_guard::depth::{self, Depth};

/// Shapes that nest: the text opening one level, and what closes it.
const SHAPES: [(&str, &str); 12] = [
    ("(", ")"),
    ("[", "]"),
    ("{", "}"),
    ("-", ""),
    ("not ", ""),
    ("1+", "1"),
    ("2**", "2"),
    ("lambda: ", "0"),
    ("a.", "b"),
    ("f()", ""),
    ("1 if x else ", "1"),
    ("f'{", "}'"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&[shape, high, low], rest)) = data.split_first_chunk::<3>() else { return };
    let (open, close) = SHAPES[usize::from(shape) % SHAPES.len()];
    let count = usize::from(u16::from_be_bytes([high, low]));
    let tail = String::from_utf8_lossy(rest);
    let source = if shape & 0x80 != 0 {
        // Indentation instead: `count % 200` nested blocks.
        let levels = count % 200;
        let blocks: String = (0..levels).map(|level| format!("{}if 1:\n", " ".repeat(level))).collect();
        format!("{blocks}{}pass{tail}\n", " ".repeat(levels))
    } else {
        format!("x = {}{tail}{}\n", open.repeat(count), close.repeat(count))
    };
    let verdict = depth::classify(&source);
    if verdict == Depth::Shallow {
        let nesting = depth::measure(&source);
        assert!(nesting.brackets <= 200 && nesting.indentation < 100, "{nesting:?}");
    }
    // As `check` runs it: on a thread with the checker's stack.
    std::thread::Builder::new()
        .stack_size(pycache_guard::syntax::STACK_BYTES)
        .spawn(move || pycache_guard::syntax::check(source.as_bytes(), (3, 12)))
        .expect("a checking thread starts")
        .join()
        .expect("the checker does not panic");
});
