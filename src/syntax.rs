//! In-process syntax checking, as a fast filter in front of the interpreter.
//!
//! A file passes when it decodes (see [`crate::encoding`]), when the parser of
//! `rustpython-compiler` accepts it for the interpreter's version (reporting
//! syntax that version does not have), when the compile-time checks a CPython
//! compiler makes after parsing find nothing (`return` or `await` outside a
//! function, `break` outside a loop, a late `__future__` import, an unknown
//! future feature, misplaced starred expressions, ...), and when the symbol
//! table builds (`nonlocal` and `global` misuse).
//!
//! Whatever is rejected is only a suspicion: the parser has false positives
//! (it rejected `test_super.py`, `test_grammar.py` and `test_patma.py` of 3.11's
//! standard library, which CPython compiles), so every rejected file goes to the
//! interpreter, whose verdict is the one reported. Full bytecode generation is
//! skipped: it would cost three quarters of the time and CPython, not
//! RustPython, writes our bytecode.

use std::cell::RefCell;
use std::collections::HashMap;

use ruff_text_size::{Ranged, TextRange};
use rustpython_compiler::ast::{self, Expr, Stmt, visitor::Visitor};
use rustpython_compiler::parser::semantic_errors::{SemanticSyntaxChecker, SemanticSyntaxContext, SemanticSyntaxError};
use rustpython_compiler::parser::{self, ParseOptions};

use crate::depth::{self, Depth};
use crate::encoding::{self, Decoded};

/// The stack a thread running [`check`] should have. The scan of
/// [`crate::depth`] keeps the parser's recursion to a few hundred levels, a
/// few MiB even in a debug build; the rest is margin. Only the pages used are
/// ever touched.
pub const STACK_BYTES: usize = 64 << 20;

/// The verdict on one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It compiles.
    Accepted,
    /// It may not compile: ask the interpreter. The location and message are
    /// this checker's, to report only when no interpreter can confirm.
    Suspect(Problem),
}

/// Where and why a file was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line (0 for the whole file, as CPython reports encoding errors).
    pub line: u32,
    /// 1-based column in characters (0 when unknown).
    pub column: u32,
    /// The message.
    pub message: String,
    /// Whether this checker found an error or could not judge the file.
    pub certainty: Certainty,
}

/// How sure the in-process checker is of a [`Problem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Certainty {
    /// It found an error (which the interpreter confirms or overrules).
    Rejected,
    /// It could not judge the file (an encoding only Python's codecs know, a
    /// nesting or a size beyond the in-process parser): only the interpreter can.
    Undecided,
}

impl Problem {
    /// An error this checker found.
    pub fn rejected(line: u32, column: u32, message: String) -> Problem {
        Problem { line, column, message, certainty: Certainty::Rejected }
    }

    /// A file this checker cannot judge, with the reason.
    pub fn undecided(message: String) -> Problem {
        Problem { line: 0, column: 0, message, certainty: Certainty::Undecided }
    }
}

/// Checks source bytes for an interpreter of `version` (`(major, minor)`).
pub fn check(source: &[u8], version: (u32, u32)) -> Verdict {
    let text = match encoding::decode(source) {
        Decoded::Text(text) => text,
        Decoded::Invalid(message) => {
            let (line, column) = unplaced_position(source);
            return Verdict::Suspect(Problem::rejected(line, column, message));
        }
        Decoded::NeedsInterpreter { encoding, best_effort } => {
            // Python's codec registry decides; the best-effort text gives a verdict without an interpreter.
            let Some(text) = best_effort else {
                // CPython says line 0; the cookie's own line is where to look.
                return Verdict::Suspect(Problem::rejected(
                    encoding::cookie_line(source).unwrap_or(1),
                    1,
                    format!("unknown encoding: {encoding}"),
                ));
            };
            return match check_text(&text, version) {
                Some(problem) => Verdict::Suspect(problem),
                None => Verdict::Suspect(Problem::undecided(format!("encoding `{encoding}` needs the interpreter"))),
            };
        }
    };
    match check_text(&text, version) {
        Some(problem) => Verdict::Suspect(problem),
        None => Verdict::Accepted,
    }
}

/// Where to show an error CPython places at line 0, one it finds before
/// reading any line (a BOM that contradicts the cookie, an unknown encoding):
/// the cookie's line, else line 1, at column 1. Never `:0:0`.
pub fn unplaced_position(source: &[u8]) -> (u32, u32) {
    (encoding::cookie_line(source).unwrap_or(1), 1)
}

/// The first problem in decoded source, if any.
pub fn check_text(text: &str, version: (u32, u32)) -> Option<Problem> {
    if let Some(at) = text.find('\0') {
        return Some(problem_at(text, at, "source code cannot contain null bytes".into()));
    }
    // Before parsing: the parser recurses as deep as the source nests.
    match depth::classify(text) {
        Depth::Shallow => {}
        Depth::Refused(message) => return Some(Problem::rejected(0, 0, message.into())),
        Depth::Deep => {
            return Some(Problem::undecided(
                "it nests too deeply for the in-process parser, so it needs the interpreter".into(),
            ));
        }
    }
    if let Some(why) = beyond_the_parser(text, version) {
        return Some(Problem::undecided(why.into()));
    }
    let target = ast::PythonVersion { major: 3, minor: u8::try_from(version.1.max(7)).unwrap_or(u8::MAX) };
    let options = ParseOptions::from(parser::Mode::Module).with_target_version(target);
    let parsed = parser::parse_unchecked(text, options);
    if let Some(error) = parsed.errors().first() {
        return Some(problem_at(text, error.location.start().to_usize(), error.error.to_string()));
    }
    if let Some(error) = parsed.unsupported_syntax_errors().first() {
        return Some(problem_at(text, error.range().start().to_usize(), error.to_string()));
    }
    let ast::Mod::Module(module) = parsed.into_syntax() else { return None };
    if let Some(error) = semantic_errors(text, &module, target) {
        return Some(problem_at(text, error.range.start().to_usize(), error.to_string()));
    }
    let source_file = rustpython_compiler::core::SourceFileBuilder::new("<check>", text).finish();
    if let Err(error) = rustpython_compiler::codegen::symboltable::SymbolTable::scan_program(&module, source_file) {
        let error = error.into_codegen_error(String::new());
        let (line, column) =
            error.location.map_or((0, 0), |at| (at.line.get() as u32, at.character_offset.get() as u32));
        return Some(Problem::rejected(line, column, error.to_string()));
    }
    None
}

/// CPython's integer-literal limit (`sys.int_info.default_max_str_digits`,
/// 3.11 and the security releases of 3.7 to 3.10): a longer decimal literal
/// does not compile.
const MAX_INT_DIGITS: usize = 4300;

/// What the in-process parser accepts but an interpreter may refuse, so the
/// interpreter decides: a run of more digits than CPython converts (the
/// parser has no such limit), and, before 3.8, `continue` in a `finally`
/// block (the parser only knows 3.7 and later's grammar). Both are rare; a
/// false alarm costs one question to the interpreter, never a finding.
fn beyond_the_parser(text: &str, version: (u32, u32)) -> Option<&'static str> {
    let mut run = 0usize;
    for byte in text.bytes() {
        run = if byte.is_ascii_digit() {
            run + 1
        } else if byte == b'_' && run > 0 {
            run
        } else {
            0
        };
        if run > MAX_INT_DIGITS {
            return Some("it holds a number longer than the interpreter may convert, so it needs the interpreter");
        }
    }
    if version < (3, 8) && text.contains("finally") && text.contains("continue") {
        return Some("`continue` near `finally` is refused before Python 3.8, so it needs the interpreter");
    }
    None
}

/// A byte offset as a 1-based line and character column.
fn problem_at(text: &str, offset: usize, message: String) -> Problem {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before[line_start..].chars().count() + 1;
    Problem::rejected(line as u32, column as u32, message)
}

/// The compile-time checks, driven by a walk that tracks scopes.
fn semantic_errors(text: &str, module: &ast::ModModule, version: ast::PythonVersion) -> Option<SemanticSyntaxError> {
    let mut walker = Walker {
        checker: SemanticSyntaxChecker::new(),
        context: Context {
            text,
            version,
            scopes: vec![Scope::new(ScopeKind::Module, &module.body, None)],
            errors: RefCell::default(),
            future_annotations: false,
        },
    };
    walker.visit_body(&module.body);
    walker.context.errors.into_inner().into_iter().min_by_key(|error| error.range.start())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScopeKind {
    Module,
    Class,
    Function { is_async: bool },
    Lambda,
    Comprehension { is_async: bool, is_generator: bool },
}

#[derive(Debug)]
struct Scope {
    kind: ScopeKind,
    /// `global` declarations of this scope, found before walking it.
    globals: HashMap<String, TextRange>,
    parameters: Vec<String>,
    loops: usize,
}

impl Scope {
    fn new(kind: ScopeKind, body: &[Stmt], parameters: Option<&ast::Parameters>) -> Scope {
        let mut globals = HashMap::new();
        collect_globals(body, &mut globals);
        let parameters =
            parameters.map(|p| p.iter().map(|parameter| parameter.name().to_string()).collect()).unwrap_or_default();
        Scope { kind, globals, parameters, loops: 0 }
    }
}

/// `global` statements of one scope, not of nested functions or classes.
fn collect_globals(body: &[Stmt], globals: &mut HashMap<String, TextRange>) {
    struct Globals<'g>(&'g mut HashMap<String, TextRange>);
    impl<'a> Visitor<'a> for Globals<'_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::Global(global) => {
                    for name in &global.names {
                        self.0.entry(name.to_string()).or_insert(global.range);
                    }
                }
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                _ => ast::visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, _: &'a Expr) {}
    }
    Globals(globals).visit_body(body);
}

struct Context<'t> {
    text: &'t str,
    version: ast::PythonVersion,
    scopes: Vec<Scope>,
    errors: RefCell<Vec<SemanticSyntaxError>>,
    future_annotations: bool,
}

impl Context<'_> {
    fn innermost(&self) -> &Scope {
        &self.scopes[self.scopes.len() - 1]
    }
}

impl SemanticSyntaxContext for Context<'_> {
    fn future_annotations_or_stub(&self) -> bool {
        self.future_annotations
    }
    fn lazy_import_context(&self) -> Option<parser::semantic_errors::LazyImportContext> {
        None
    }
    fn python_version(&self) -> ast::PythonVersion {
        self.version
    }
    fn source(&self) -> &str {
        self.text
    }
    fn global(&self, name: &str) -> Option<TextRange> {
        self.innermost().globals.get(name).copied()
    }
    fn has_nonlocal_binding(&self, _name: &str) -> bool {
        // The symbol table checks `nonlocal` bindings.
        true
    }
    fn in_async_context(&self) -> bool {
        for scope in self.scopes.iter().rev() {
            match scope.kind {
                ScopeKind::Comprehension { .. } => continue,
                ScopeKind::Function { is_async } => return is_async,
                _ => return false,
            }
        }
        false
    }
    fn in_await_allowed_context(&self) -> bool {
        for scope in self.scopes.iter().rev() {
            match scope.kind {
                ScopeKind::Comprehension { .. } => continue,
                ScopeKind::Function { .. } | ScopeKind::Lambda => return true,
                ScopeKind::Class | ScopeKind::Module => return false,
            }
        }
        false
    }
    fn in_yield_allowed_context(&self) -> bool {
        matches!(self.innermost().kind, ScopeKind::Function { .. } | ScopeKind::Lambda)
    }
    fn in_sync_comprehension(&self) -> bool {
        self.scopes.iter().any(|scope| matches!(scope.kind, ScopeKind::Comprehension { is_async: false, .. }))
    }
    fn in_module_scope(&self) -> bool {
        self.innermost().kind == ScopeKind::Module
    }
    fn in_function_scope(&self) -> bool {
        matches!(self.innermost().kind, ScopeKind::Function { .. } | ScopeKind::Lambda)
    }
    fn in_generator_context(&self) -> bool {
        matches!(self.innermost().kind, ScopeKind::Comprehension { is_generator: true, .. })
    }
    fn in_notebook(&self) -> bool {
        false
    }
    fn report_semantic_error(&self, error: SemanticSyntaxError) {
        self.errors.borrow_mut().push(error);
    }
    fn in_loop_context(&self) -> bool {
        self.innermost().loops > 0
    }
    fn is_bound_parameter(&self, name: &str) -> bool {
        self.innermost().parameters.iter().any(|parameter| parameter == name)
    }
}

struct Walker<'t> {
    checker: SemanticSyntaxChecker,
    context: Context<'t>,
}

impl Walker<'_> {
    fn in_scope(&mut self, scope: Scope, walk: impl FnOnce(&mut Self)) {
        self.context.scopes.push(scope);
        walk(self);
        self.context.scopes.pop();
    }

    fn with_loop(&mut self, walk: impl FnOnce(&mut Self)) {
        let last = self.context.scopes.len() - 1;
        self.context.scopes[last].loops += 1;
        walk(self);
        self.context.scopes[last].loops -= 1;
    }

    fn visit_parameter_defaults(&mut self, parameters: &ast::Parameters) {
        for parameter in parameters.iter() {
            if let Some(default) = parameter.default() {
                self.visit_expr(default);
            }
        }
    }
}

impl<'a> Visitor<'a> for Walker<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        self.checker.visit_stmt(stmt, &self.context);
        match stmt {
            Stmt::ImportFrom(import)
                if import.module.as_deref() == Some("__future__")
                    && import.names.iter().any(|alias| alias.name.as_str() == "annotations") =>
            {
                self.context.future_annotations = true;
            }
            Stmt::FunctionDef(function) => {
                for decorator in &function.decorator_list {
                    self.visit_decorator(decorator);
                }
                self.visit_parameter_defaults(&function.parameters);
                let scope = Scope::new(
                    ScopeKind::Function { is_async: function.is_async },
                    &function.body,
                    Some(&function.parameters),
                );
                self.in_scope(scope, |walker| {
                    if let Some(type_params) = &function.type_params {
                        walker.visit_type_params(type_params);
                    }
                    for parameter in function.parameters.iter() {
                        if let Some(annotation) = parameter.annotation() {
                            walker.visit_annotation(annotation);
                        }
                    }
                    if let Some(returns) = &function.returns {
                        walker.visit_annotation(returns);
                    }
                    walker.visit_body(&function.body);
                });
                return;
            }
            Stmt::ClassDef(class) => {
                for decorator in &class.decorator_list {
                    self.visit_decorator(decorator);
                }
                if let Some(arguments) = &class.arguments {
                    self.visit_arguments(arguments);
                }
                self.in_scope(Scope::new(ScopeKind::Class, &class.body, None), |walker| {
                    if let Some(type_params) = &class.type_params {
                        walker.visit_type_params(type_params);
                    }
                    walker.visit_body(&class.body);
                });
                return;
            }
            Stmt::For(for_) => {
                self.visit_expr(&for_.target);
                self.visit_expr(&for_.iter);
                self.with_loop(|walker| walker.visit_body(&for_.body));
                self.visit_body(&for_.orelse);
                return;
            }
            Stmt::While(while_) => {
                self.visit_expr(&while_.test);
                self.with_loop(|walker| walker.visit_body(&while_.body));
                self.visit_body(&while_.orelse);
                return;
            }
            _ => {}
        }
        ast::visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        self.checker.visit_expr(expr, &self.context);
        let (generators, is_generator) = match expr {
            Expr::Lambda(lambda) => {
                if let Some(parameters) = &lambda.parameters {
                    self.visit_parameter_defaults(parameters);
                }
                let scope = Scope::new(ScopeKind::Lambda, &[], lambda.parameters.as_deref());
                self.in_scope(scope, |walker| walker.visit_expr(&lambda.body));
                return;
            }
            Expr::ListComp(comp) => (&comp.generators, false),
            Expr::SetComp(comp) => (&comp.generators, false),
            Expr::DictComp(comp) => (&comp.generators, false),
            Expr::Generator(comp) => (&comp.generators, true),
            _ => return ast::visitor::walk_expr(self, expr),
        };
        // The first iterable is evaluated in the enclosing scope; the rest in the comprehension's own.
        if let Some(first) = generators.first() {
            self.visit_expr(&first.iter);
        }
        let is_async = generators.iter().any(|generator| generator.is_async);
        let scope = Scope::new(ScopeKind::Comprehension { is_async, is_generator }, &[], None);
        self.in_scope(scope, |walker| {
            for (position, generator) in generators.iter().enumerate() {
                walker.visit_expr(&generator.target);
                if position > 0 {
                    walker.visit_expr(&generator.iter);
                }
                for condition in &generator.ifs {
                    walker.visit_expr(condition);
                }
            }
            match expr {
                Expr::ListComp(comp) => walker.visit_expr(&comp.elt),
                Expr::SetComp(comp) => walker.visit_expr(&comp.elt),
                Expr::Generator(comp) => walker.visit_expr(&comp.elt),
                Expr::DictComp(comp) => {
                    walker.visit_expr(&comp.key);
                    walker.visit_expr(&comp.value);
                }
                _ => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejects(source: &str) -> bool {
        check_text(source, (3, 12)).is_some()
    }

    #[test]
    fn whether_a_problem_is_undecided_is_a_type_not_its_message() {
        let certainty = |source: &str| check_text(source, (3, 12)).map(|problem| problem.certainty);
        assert_eq!(certainty("def f(:\n    pass\n"), Some(Certainty::Rejected));
        assert_eq!(certainty("x = 1\n"), None);
        // Deeper than the in-process parser goes, but valid: only the interpreter can say.
        let deep = format!("x = {}1{}\n", "(".repeat(190), ")".repeat(190));
        assert_eq!(certainty(&deep), Some(Certainty::Undecided));
        let undecided = Problem::undecided("a reason that says nothing about interpreters".into());
        assert_eq!(undecided.certainty, Certainty::Undecided);
    }

    #[test]
    fn compile_time_errors_beyond_the_parser_are_caught() {
        let bad = [
            "return 1\n",
            "break\n",
            "for x in y:\n    pass\nelse:\n    break\n",
            "def f():\n    class C:\n        return 1\n",
            "await x\n",
            "class C:\n    yield 1\n",
            "def f():\n    [(yield x) for x in y]\n",
            "\"\"\"doc\"\"\"\n\"not a doc\"\nfrom __future__ import nested_scopes\n",
            "from __future__ import braces\n",
            "import os\nfrom __future__ import annotations\n",
            "def f():\n    from os import *\n",
            "def f(a, a):\n    pass\n",
            "nonlocal x\n",
            "def f():\n    nonlocal x\n",
            "def f(x):\n    global x\n",
            "def f():\n    x = 1\n    global x\n",
            "x = 1\x00\n",
            "*a = b\n",
            "async def f():\n    yield from x\n",
            "def f():\n    return [x async for x in y]\n",
        ];
        for source in bad {
            assert!(rejects(source), "accepted: {source:?}");
        }
    }

    #[test]
    fn valid_code_is_accepted() {
        let good = [
            "def f():\n    return (x async for x in y)\n",
            "async def f():\n    return [await x for x in y]\n",
            "for x in y:\n    if x:\n        break\n    continue\n",
            "\"\"\"doc\"\"\"\nfrom __future__ import annotations\nimport os\n",
            "def f():\n    def g():\n        nonlocal x\n    x = 1\n",
            "lambda: (yield)\n",
            "class C:\n    def f(self):\n        return super().f()\n",
            "match x:\n    case {1: y}:\n        pass\n",
        ];
        for source in good {
            assert_eq!(check_text(source, (3, 12)), None, "{source:?}");
        }
    }

    #[test]
    fn version_specific_syntax_is_judged_for_the_target() {
        let walrus = "if (n := 10) > 5:\n    pass\n";
        assert!(check_text(walrus, (3, 7)).is_some());
        assert!(check_text(walrus, (3, 8)).is_none());
        let match_statement = "match x:\n    case 1:\n        pass\n";
        assert!(check_text(match_statement, (3, 9)).is_some());
        assert!(check_text(match_statement, (3, 10)).is_none());
        let type_alias = "type X = int\n";
        assert!(check_text(type_alias, (3, 11)).is_some());
        assert!(check_text(type_alias, (3, 12)).is_none());
    }

    #[test]
    fn locations_are_lines_and_character_columns() {
        let problem = check_text("x = 1\ny = 'é' +\n", (3, 12)).unwrap();
        assert_eq!(problem.line, 2);
    }
}
