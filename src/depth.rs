//! How deeply a source nests, measured by a light scan before it is parsed.
//!
//! The in-process parser recurses once per level of nesting, so a 2 KB file
//! of 1,000 nested parentheses overflowed its stack, and CPython refuses
//! nesting that the parser accepts. CPython's limits, measured with
//! `compile()` on every interpreter from 3.6 to 3.13 (`x = ((…1…))`,
//! `x = ---…1`, `1+1+…`, `lambda: lambda: …`, `2**2**…`, nested `if`):
//!
//! | version  | brackets | indentation | expression depth (smallest shape)          |
//! |----------|----------|-------------|--------------------------------------------|
//! | 3.6–3.8  | 92–99    | 99          | 739 `lambda`, 740 `**`, 1,479 unary `-`    |
//! | 3.9–3.12 | 200      | 99          | 2,983 `lambda`, 2,984 `**`, 2,992 others   |
//! | 3.13     | 200      | 99          | 2,983 `lambda`, 2,984 `**`, 5,966 unary    |
//!
//! Brackets past 200 are the tokenizer's "too many nested parentheses"
//! (`MAXLEVEL`), 100 levels of indentation its "too many levels of
//! indentation" (`MAXINDENT`), in every version; before 3.9 the old parser's
//! stack of 1,500 frames ran out first (about 16 frames per bracket, 2 per
//! `lambda` or `**`, 1 per unary operator). The scan therefore measures three
//! things, each an upper bound of what the parser will see: bracket nesting,
//! indentation levels, and per statement the operators that can nest (a comma
//! at the same bracket level ends an operand, so a long flat list stays
//! shallow). A source counts as shallow when the old parser's cost of those
//! stays well below its 1,500 frames; anything deeper is the interpreter's to
//! judge, which also keeps the in-process parser's recursion bounded.

/// What the scan concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Shallow enough for the in-process parser and for every CPython.
    Shallow,
    /// Every CPython refuses it, with this message.
    Refused(&'static str),
    /// Deeper than the in-process parser takes: only the interpreter can judge.
    Deep,
}

/// The nesting the scan found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nesting {
    /// Most brackets open at once (`(`, `[`, `{`, also inside f-strings).
    pub brackets: usize,
    /// Most indentation levels open at once, beyond the first column.
    pub indentation: usize,
    /// Most nestable operators on one path of one statement.
    pub expression: usize,
}

/// CPython's `MAXLEVEL`: brackets open at once.
const MAX_BRACKETS: usize = 200;
/// CPython's `MAXINDENT`: indentation levels beyond the first column (99 pass, 100 fail).
const MAX_INDENTATION: usize = 100;
/// The shallow budget, in frames of the pre-3.9 parser, below its 1,500.
const SHALLOW_FRAMES: usize = 1_200;

impl Nesting {
    /// An upper bound of the frames the pre-3.9 parser needs (see the module table).
    fn frames(self) -> usize {
        17 * self.brackets + 3 * self.expression + 5 * self.indentation
    }
}

/// Classifies `text` by its nesting.
pub fn classify(text: &str) -> Depth {
    let nesting = measure(text);
    if nesting.brackets > MAX_BRACKETS {
        Depth::Refused("too many nested parentheses")
    } else if nesting.indentation >= MAX_INDENTATION {
        Depth::Refused("too many levels of indentation")
    } else if nesting.frames() > SHALLOW_FRAMES {
        Depth::Deep
    } else {
        Depth::Shallow
    }
}

/// Keywords that nest an operand below them.
const NESTING_KEYWORDS: [&[u8]; 10] =
    [b"not", b"lambda", b"if", b"else", b"await", b"and", b"or", b"in", b"is", b"yield"];

/// The scanner's state for one pass.
#[derive(Default)]
struct Scan {
    nesting: Nesting,
    /// Operators per open bracket level (index 0: outside brackets).
    operators: Vec<usize>,
    /// Their sum: the operators on the path to the current position.
    on_path: usize,
    /// `lambda`s of this statement, which commas of their parameters do not end.
    lambdas: usize,
    /// Indentation columns open, innermost last.
    indents: Vec<usize>,
}

impl Scan {
    fn operator(&mut self, count: usize) {
        if let Some(top) = self.operators.last_mut() {
            *top += count;
        }
        self.on_path += count;
        self.nesting.expression = self.nesting.expression.max(self.on_path + self.lambdas);
    }

    fn open(&mut self) {
        self.operator(1);
        self.operators.push(0);
        self.nesting.brackets = self.nesting.brackets.max(self.operators.len() - 1);
    }

    fn close(&mut self) {
        if self.operators.len() > 1 {
            self.on_path -= self.operators.pop().unwrap_or(0);
        }
    }

    fn end_operand(&mut self) {
        if let Some(top) = self.operators.last_mut() {
            self.on_path -= *top;
            *top = 0;
        }
    }

    fn end_statement(&mut self) {
        self.operators.truncate(1);
        self.operators[0] = 0;
        self.on_path = 0;
        self.lambdas = 0;
    }

    fn in_brackets(&self) -> bool {
        self.operators.len() > 1
    }

    /// A logical line starts at `column`.
    fn indent(&mut self, column: usize) {
        while self.indents.last().is_some_and(|&open| open > column) {
            self.indents.pop();
        }
        if self.indents.last().is_none_or(|&open| open < column) {
            self.indents.push(column);
        }
        self.nesting.indentation = self.nesting.indentation.max(self.indents.len() - 1);
    }
}

/// Measures the nesting of `text` (not necessarily valid Python).
pub fn measure(text: &str) -> Nesting {
    let bytes = text.as_bytes();
    let mut scan = Scan { operators: vec![0], indents: vec![0], ..Scan::default() };
    let mut at = 0;
    let mut line_start = true;
    while at < bytes.len() {
        if line_start {
            line_start = false;
            let (column, next) = indentation(bytes, at);
            at = next;
            // Blank and comment-only lines, and lines inside brackets, do not indent.
            if !scan.in_brackets() && !matches!(bytes.get(at), None | Some(b'\n' | b'\r' | b'#' | b'\x0c')) {
                scan.indent(column);
            }
            continue;
        }
        let byte = bytes[at];
        match byte {
            b'#' => at = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |end| at + end),
            b'\n' => {
                at += 1;
                if !scan.in_brackets() {
                    scan.end_statement();
                    line_start = true;
                }
            }
            b'\\' => at += 2,
            b'\'' | b'"' => at = skip_string(bytes, at, false, &mut scan),
            b'(' | b'[' | b'{' => {
                scan.open();
                at += 1;
            }
            b')' | b']' | b'}' => {
                scan.close();
                at += 1;
            }
            b',' => {
                scan.end_operand();
                at += 1;
            }
            b';' => {
                scan.end_statement();
                at += 1;
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'^' | b'~' | b'<' | b'>' | b'.' | b'!' => {
                scan.operator(1);
                at += 1;
            }
            _ if byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80 => at = word(bytes, at, &mut scan),
            _ => at += 1,
        }
    }
    scan.nesting
}

/// The column a line's indentation reaches (tabs to the next multiple of 8), and where it ends.
fn indentation(bytes: &[u8], mut at: usize) -> (usize, usize) {
    let mut column = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b' ' => column += 1,
            b'\t' => column = (column / 8 + 1) * 8,
            _ => break,
        }
        at += 1;
    }
    (column, at)
}

/// A name, keyword or number; a string prefix followed by a quote starts a string.
fn word(bytes: &[u8], start: usize, scan: &mut Scan) -> usize {
    let mut end = start;
    while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] >= 0x80) {
        end += 1;
    }
    let word = &bytes[start..end];
    if matches!(bytes.get(end), Some(b'\'' | b'"'))
        && word.len() <= 3
        && word.iter().all(|byte| b"rRbBuUfFtT".contains(byte))
    {
        let formatted = word.iter().any(|byte| b"fFtT".contains(byte));
        return skip_string(bytes, end, formatted, scan);
    }
    if NESTING_KEYWORDS.contains(&word) {
        scan.operator(1);
        if word == b"lambda" {
            scan.lambdas += 1;
        }
    }
    end
}

/// Skips a string literal starting at its quote. Brackets in an f-string's
/// text count as nesting, as they may be replacement fields (3.12 tokenizes them).
fn skip_string(bytes: &[u8], start: usize, formatted: bool, scan: &mut Scan) -> usize {
    let quote = bytes[start];
    let triple = bytes.get(start..start + 3) == Some(&[quote, quote, quote][..]);
    let mut at = start + if triple { 3 } else { 1 };
    let opened = scan.operators.len();
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\\' => at += 1,
            b'\n' if !triple => break,
            _ if byte == quote && (!triple || bytes.get(at..at + 3) == Some(&[quote, quote, quote][..])) => {
                at += if triple { 3 } else { 1 };
                break;
            }
            b'{' | b'(' | b'[' if formatted => scan.open(),
            b'}' | b')' | b']' if formatted && scan.operators.len() > opened => scan.close(),
            _ => {}
        }
        at += 1;
    }
    while scan.operators.len() > opened {
        scan.close();
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_measured() {
        let parens = format!("x = {}1{}\n", "(".repeat(300), ")".repeat(300));
        assert_eq!(measure(&parens).brackets, 300);
        assert_eq!(classify(&parens), Depth::Refused("too many nested parentheses"));
        let minus = format!("x = {}1\n", "-".repeat(3000));
        assert_eq!(measure(&minus).expression, 3000);
        assert_eq!(classify(&minus), Depth::Deep);
        let terms = format!("x = {}\n", vec!["1"; 5000].join("+"));
        assert_eq!(classify(&terms), Depth::Deep);
        let indented: String = (0..100).map(|level| format!("{}if 1:\n", " ".repeat(level))).collect();
        let indented = format!("{indented}{}pass\n", " ".repeat(100));
        assert_eq!(measure(&indented).indentation, 100);
        assert_eq!(classify(&indented), Depth::Refused("too many levels of indentation"));
    }

    #[test]
    fn flat_data_and_strings_stay_shallow() {
        let list = format!("x = [{}]\n", vec!["-1"; 20_000].join(", "));
        assert_eq!(measure(&list).expression, 2);
        let strings = format!("x = '{}' + \"\"\"{}\"\"\"  # {}\n", "(".repeat(500), "[".repeat(500), "-".repeat(900));
        assert_eq!(measure(&strings), Nesting { brackets: 0, indentation: 0, expression: 1 });
        let many_lines = "y = a + b\n".repeat(10_000);
        assert_eq!(classify(&many_lines), Depth::Shallow);
    }

    #[test]
    fn brackets_inside_f_strings_count() {
        let nested = format!("x = f'{{{}1{}}}'\n", "(".repeat(250), ")".repeat(250));
        assert!(measure(&nested).brackets > 250);
    }

    #[test]
    fn lambdas_are_not_reset_by_their_parameters() {
        let chain = format!("f = {}0\n", "lambda a, b: ".repeat(500));
        assert!(measure(&chain).expression >= 500);
    }
}
