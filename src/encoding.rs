//! Decoding Python source as CPython does (PEP 263 and PEP 3120).
//!
//! The default is UTF-8. A UTF-8 BOM, or a coding cookie
//! (`^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)`) on the first line, or on the
//! second when the first holds only a comment or whitespace, chooses another
//! encoding. With a BOM the cookie must name UTF-8. Names are normalised as
//! the C tokenizer's `get_normal_name` does: only the UTF-8 and Latin-1
//! spellings are folded, everything else is kept as written.
//!
//! UTF-8, Latin-1 and ASCII are decoded exactly. Any other codec belongs to
//! Python's codec registry, which is the interpreter's business: such files
//! are decoded on a best-effort basis and marked for the interpreter's verdict.

/// What decoding found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Decoded exactly as CPython would.
    Text(String),
    /// CPython would refuse the file, with this message.
    Invalid(String),
    /// Another codec: the interpreter must judge. `best_effort` is a decoding
    /// for when no interpreter is available.
    NeedsInterpreter {
        /// The encoding as named by the cookie.
        encoding: String,
        /// Decoded with the closest WHATWG encoding, if there is one.
        best_effort: Option<String>,
    },
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// The first two lines, each with its line ending.
fn first_lines(data: &[u8]) -> (&[u8], &[u8]) {
    let split = |data: &'_ [u8]| -> usize { data.iter().position(|&b| b == b'\n').map_or(data.len(), |at| at + 1) };
    let first_end = split(data);
    let second_end = first_end + split(&data[first_end..]);
    (&data[..first_end], &data[first_end..second_end])
}

/// The cookie of one line, if it has one.
fn cookie(line: &[u8]) -> Option<String> {
    let mut rest = line;
    while let Some((&first, tail)) = rest.split_first() {
        if matches!(first, b' ' | b'\t' | b'\x0c') {
            rest = tail;
        } else {
            break;
        }
    }
    let comment = rest.strip_prefix(b"#")?;
    // `.*?coding[:=]`: the first `coding` followed by `:` or `=`.
    let mut at = 0;
    while let Some(found) = memchr::memmem::find(&comment[at..], b"coding") {
        let after = at + found + b"coding".len();
        if matches!(comment.get(after), Some(b':' | b'=')) {
            let value = &comment[after + 1..];
            let value = value
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t'))
                .map_or(&value[value.len()..], |start| &value[start..]);
            let end = value
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
                .unwrap_or(value.len());
            return (end > 0).then(|| String::from_utf8_lossy(&value[..end]).into_owned());
        }
        at = after;
    }
    None
}

/// True for a line of only whitespace and perhaps a comment.
fn is_blank_or_comment(line: &[u8]) -> bool {
    let rest: &[u8] = line.trim_ascii_start();
    rest.is_empty() || rest.starts_with(b"#")
}

/// `get_normal_name` of CPython's tokenizer.
pub fn normal_name(name: &str) -> String {
    let folded: String = name.chars().take(12).collect::<String>().to_ascii_lowercase().replace('_', "-");
    let is = |base: &str| folded == base || folded.starts_with(&format!("{base}-"));
    if is("utf-8") {
        "utf-8".into()
    } else if is("latin-1") || is("iso-8859-1") || is("iso-latin-1") {
        "iso-8859-1".into()
    } else {
        name.to_string()
    }
}

/// The declared encoding: from the cookie on line 1, or on line 2 after a blank or comment line.
pub fn declared_encoding(data: &[u8]) -> Option<String> {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let (first, second) = first_lines(data);
    cookie(first).or_else(|| if is_blank_or_comment(first) { cookie(second) } else { None })
}

/// The line (1 or 2) that holds the encoding cookie, where one is declared.
/// CPython reports an unknown encoding at line 0; this is the line to show.
pub fn cookie_line(data: &[u8]) -> Option<u32> {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let (first, second) = first_lines(data);
    if cookie(first).is_some() {
        Some(1)
    } else if is_blank_or_comment(first) && cookie(second).is_some() {
        Some(2)
    } else {
        None
    }
}

/// Decodes source bytes.
pub fn decode(data: &[u8]) -> Decoded {
    let has_bom = data.starts_with(BOM);
    let body = if has_bom { &data[BOM.len()..] } else { data };
    let declared = declared_encoding(data).map(|name| (normal_name(&name), name));
    match declared.as_ref().map(|(normal, written)| (normal.as_str(), written.as_str())) {
        Some((normal, _)) if has_bom && normal != "utf-8" => {
            Decoded::Invalid(format!("encoding problem: {normal} with BOM"))
        }
        None | Some(("utf-8", _)) => match std::str::from_utf8(body) {
            Ok(text) => Decoded::Text(text.to_string()),
            Err(error) => Decoded::Invalid(utf8_message(body, &error)),
        },
        Some(("iso-8859-1", _)) => Decoded::Text(body.iter().map(|&b| char::from(b)).collect()),
        Some((_, written)) if matches!(written.to_ascii_lowercase().as_str(), "ascii" | "us-ascii" | "646") => {
            match body.iter().position(|b| !b.is_ascii()) {
                None => Decoded::Text(String::from_utf8_lossy(body).into_owned()),
                Some(at) => Decoded::Invalid(format!(
                    "'ascii' codec can't decode byte {:#04x} in position {at}: ordinal not in range(128)",
                    body[at]
                )),
            }
        }
        Some((_, written)) => {
            let best_effort = encoding_rs::Encoding::for_label(written.as_bytes())
                .map(|encoding| encoding.decode_without_bom_handling(body).0.into_owned());
            Decoded::NeedsInterpreter { encoding: written.to_string(), best_effort }
        }
    }
}

/// CPython's message for invalid UTF-8 without a cookie.
fn utf8_message(data: &[u8], error: &std::str::Utf8Error) -> String {
    let at = error.valid_up_to();
    let reason = match error.error_len() {
        None => "unexpected end of data",
        Some(_) if (0x80..0xc2).contains(&data[at]) || data[at] >= 0xf5 => "invalid start byte",
        Some(_) => "invalid continuation byte",
    };
    format!("(unicode error) 'utf-8' codec can't decode byte {:#04x} in position {at}: {reason}", data[at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_line_is_the_line_cpython_read_it_from() {
        let cases: [(&[u8], Option<u32>); 5] = [
            (b"# coding: nope\nx = 1\n", Some(1)),
            (b"#!/usr/bin/env python\n# -*- coding: nope -*-\n", Some(2)),
            (b"x = 1\n# coding: nope\n", None),
            (b"\xef\xbb\xbf# coding: utf-8\n", Some(1)),
            (b"x = 1\n", None),
        ];
        for (source, line) in cases {
            assert_eq!(cookie_line(source), line, "{:?}", String::from_utf8_lossy(source));
        }
    }

    #[test]
    fn cookies_are_found_where_cpython_looks() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"# -*- coding: latin-1 -*-\n", Some("latin-1")),
            (b"#!/usr/bin/python\n# vim: set fileencoding=koi8-r :\n", Some("koi8-r")),
            (b"\n# coding: ascii\n", Some("ascii")),
            (b"\x0c# coding: ascii\n", Some("ascii")),
            (b"x = 1\n# coding: ascii\n", None),
            (b"x = 1 # coding: ascii\n", None),
            (b"# no cookie\n# still none\n# coding: ascii\n", None),
            (b"#coding:utf-8", Some("utf-8")),
            (b"# encoding = cp1252\n", None),
            (b"# encoding=cp1252\n", Some("cp1252")),
            (b"# coding:\n", None),
        ];
        for (source, expected) in cases {
            assert_eq!(declared_encoding(source).as_deref(), *expected, "{}", String::from_utf8_lossy(source));
        }
    }

    #[test]
    fn names_are_normalised_like_the_c_tokenizer() {
        for (name, normal) in [
            ("UTF-8", "utf-8"),
            ("utf_8", "utf-8"),
            ("utf-8-sig", "utf-8"),
            ("utf8", "utf8"),
            ("Latin-1", "iso-8859-1"),
            ("iso_8859_1", "iso-8859-1"),
            ("koi8-r", "koi8-r"),
        ] {
            assert_eq!(normal_name(name), normal);
        }
    }

    #[test]
    fn decoding_follows_cpython() {
        assert_eq!(decode(b"x = 1\n"), Decoded::Text("x = 1\n".into()));
        assert_eq!(decode(b"\xef\xbb\xbfx = 1\n"), Decoded::Text("x = 1\n".into()));
        assert_eq!(
            decode(b"# coding: latin-1\nx = '\xe9'\n"),
            Decoded::Text("# coding: latin-1\nx = '\u{e9}'\n".into())
        );
        assert_eq!(decode(b"\xef\xbb\xbf# coding: utf8\n"), Decoded::Invalid("encoding problem: utf8 with BOM".into()));
        assert_eq!(decode(b"\xef\xbb\xbf# coding: UTF-8\n"), Decoded::Text("# coding: UTF-8\n".into()));
        assert_eq!(
            decode(b"y = '\xf6'\n"),
            Decoded::Invalid(
                "(unicode error) 'utf-8' codec can't decode byte 0xf6 in position 5: invalid start byte".into()
            )
        );
        assert_eq!(
            decode(b"# coding: ascii\ny = '\xc3\xa9'\n"),
            Decoded::Invalid("'ascii' codec can't decode byte 0xc3 in position 21: ordinal not in range(128)".into())
        );
        match decode(b"# coding: koi8-r\nx = '\xc1'\n") {
            Decoded::NeedsInterpreter { encoding, best_effort } => {
                assert_eq!(encoding, "koi8-r");
                assert!(best_effort.unwrap().contains('\u{430}'));
            }
            other => panic!("{other:?}"),
        }
    }
}
