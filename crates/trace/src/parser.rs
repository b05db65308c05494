//! The parser: tokens to [`crate::ast::Script`] (to be written).

use crate::ast::Script;
use crate::diag::Diagnostic;

/// Parse a whole script.
pub fn parse(_src: &str) -> Result<Script, Diagnostic> {
    Ok(Script::default())
}
