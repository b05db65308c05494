//! Positions in a script and errors pointing at them, printed the way rustc prints.

use std::fmt;

/// A byte range `start..end` in the script's source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// Which stage found the problem (decides the exit code: the kernel's refusals exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Parse,
    Type,
    Codegen,
    Verify,
    Kernel,
}

/// One error about a script: a message, where, and optional notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub stage: Stage,
    pub message: String,
    pub span: Span,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn new(stage: Stage, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { stage, message: message.into(), span, notes: Vec::new() }
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// 1-based line and column (in characters) of `span.start` in `src`.
    pub fn line_col(src: &str, offset: u32) -> (usize, usize) {
        let offset = (offset as usize).min(src.len());
        let before = &src[..floor_char_boundary(src, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// The rustc-style rendering:
    /// ```text
    /// error: unknown function 'foo'
    ///  --> script.bt:3:5
    ///   |
    /// 3 |     foo(1);
    ///   |     ^^^
    /// ```
    pub fn render(&self, file: &str, src: &str) -> String {
        let (line, col) = Diagnostic::line_col(src, self.span.start);
        let text = src.lines().nth(line - 1).unwrap_or("");
        let width = line.to_string().len();
        let pad = " ".repeat(width);
        let line_chars = text.chars().count();
        let caret_len = {
            let (eline, ecol) = Diagnostic::line_col(src, self.span.end);
            if eline == line && ecol > col {
                ecol - col
            } else {
                1
            }
        }
        .min(line_chars.saturating_sub(col - 1).max(1));
        let mut out = format!(
            "error: {}\n{pad}--> {file}:{line}:{col}\n{pad} |\n{line} | {text}\n{pad} | {}{}\n",
            self.message,
            " ".repeat(col - 1),
            "^".repeat(caret_len)
        );
        for n in &self.notes {
            out.push_str(&format!("{pad} = note: {n}\n"));
        }
        out
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Diagnostic {}
