//! Reading hex dumps in the format of the project's test vectors and bug reports: pairs of hex
//! digits separated by any white space, line breaks anywhere, lines starting with `#` ignored.

/// Why a hex dump could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// A character that is not a hex digit, white space or part of a comment.
    #[error("line {line}, column {column}: {found:?} is not a hex digit")]
    NotHex {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The character.
        found: char,
    },
    /// An odd number of digits: the last byte is incomplete.
    #[error("odd number of hex digits: the last byte is incomplete")]
    OddDigits,
}

/// Parses a hex dump into bytes.
pub fn parse(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::with_capacity(text.len() / 3 + 1);
    let mut pending: Option<u8> = None;
    for (li, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for (ci, c) in line.chars().enumerate() {
            if c.is_whitespace() {
                continue;
            }
            let Some(d) = c.to_digit(16) else {
                return Err(HexError::NotHex {
                    line: li + 1,
                    column: ci + 1,
                    found: c,
                });
            };
            let d = d as u8;
            match pending.take() {
                Some(hi) => out.push(hi << 4 | d),
                None => pending = Some(d),
            }
        }
    }
    if pending.is_some() {
        return Err(HexError::OddDigits);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vector_format() {
        assert_eq!(parse("# c\n0c 00\n  01 0A\n\n").unwrap(), [0x0c, 0, 1, 10]);
        assert_eq!(parse("0c000101").unwrap(), [0x0c, 0, 1, 1]);
        assert!(matches!(
            parse("0g"),
            Err(HexError::NotHex {
                line: 1,
                column: 2,
                ..
            })
        ));
        assert_eq!(parse("abc"), Err(HexError::OddDigits));
        assert_eq!(parse("# only a comment\n").unwrap(), []);
    }
}
