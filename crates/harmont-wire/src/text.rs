//! Rules for text a user sets and others see (passkey names now; device and
//! key names, descriptions later): one check, shared, so every such field
//! refuses the same things with the same words.

use std::fmt;

/// Why a user-set text was refused. Its message names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    pub field: String,
    pub problem: TextProblem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// Longer than the field allows, in characters.
    TooLong { max: usize },
    /// Holds a control character (NUL, tab, newline, escape…) or an invisible
    /// character that reorders or breaks text (bidirectional overrides and
    /// isolates, line and paragraph separators).
    ControlCharacter,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            TextProblem::TooLong { max } => write!(f, "`{}` must be at most {max} characters", self.field),
            TextProblem::ControlCharacter => {
                write!(f, "`{}` must not contain control characters (such as NUL, tab or newline)", self.field)
            }
        }
    }
}

impl std::error::Error for TextError {}

/// Checks a text a user sets for display: at most `max` characters (Unicode
/// scalar values, as the user counts them, not bytes) and no control or
/// text-reordering characters. Trimming and defaults are the caller's.
pub fn validate_display_text(field: &str, value: &str, max: usize) -> Result<(), TextError> {
    let refuse = |problem| Err(TextError { field: field.to_owned(), problem });
    if value.chars().any(is_forbidden) {
        return refuse(TextProblem::ControlCharacter);
    }
    if value.chars().count() > max {
        return refuse(TextProblem::TooLong { max });
    }
    Ok(())
}

fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            // Bidirectional embeddings, overrides and isolates: they make a
            // name read differently from what it is.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            // Line and paragraph separators.
            | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for fine in ["Laptop", "YubiKey 5C", "Ada’s phone 📱", "Ноутбук", "", &"é".repeat(64)] {
            assert_eq!(validate_display_text("name", fine, 64), Ok(()), "{fine:?}");
        }
    }

    #[test]
    fn control_characters_are_refused_naming_the_field() {
        for bad in
            ["a\0b", "tab\there", "new\nline", "\r", "\u{1b}[31mred", "\u{7f}", "\u{85}", "\u{202E}gnp.exe", "\u{2028}"]
        {
            let err = validate_display_text("name", bad, 64).unwrap_err();
            assert_eq!(err.problem, TextProblem::ControlCharacter, "{bad:?}");
            assert_eq!(err.to_string(), "`name` must not contain control characters (such as NUL, tab or newline)");
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(validate_display_text("name", &"é".repeat(64), 64), Ok(()));
        let err = validate_display_text("name", &"a".repeat(65), 64).unwrap_err();
        assert_eq!(err.problem, TextProblem::TooLong { max: 64 });
        assert_eq!(err.to_string(), "`name` must be at most 64 characters");
    }
}
