//! Request parameters as the reference reads them: GET keys in the query, any casing; PUT keys
//! in a form-encoded body, exact casing; `true`/`false` any casing; numbers with `.` only.
//! A missing or unparseable required parameter is a 400 with a text body ([`BadRequest`]).

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// A 400 with a text body: the request itself is malformed (reference §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub(crate) String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            self.0,
        )
            .into_response()
    }
}

/// The parameters of one request.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
    /// GET: keys compared without casing; PUT: exactly.
    exact: bool,
}

impl Params {
    /// The query of a GET (`exact` false) or the form body of a PUT (`exact` true).
    pub(crate) fn parse(method: &Method, query: Option<&str>, body: &[u8]) -> Params {
        if method == Method::PUT || method == Method::POST {
            Params {
                pairs: parse_urlencoded(body),
                exact: true,
            }
        } else {
            Params {
                pairs: parse_urlencoded(query.unwrap_or("").as_bytes()),
                exact: false,
            }
        }
    }

    /// The value of `key` (cased as the reference writes it), if present.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| {
                if self.exact {
                    k == key
                } else {
                    k.eq_ignore_ascii_case(key)
                }
            })
            .map(|(_, v)| v.as_str())
    }

    /// `ClientTransactionID`: a u32, 0 when absent or not a number.
    pub(crate) fn client_transaction_id(&self) -> u32 {
        self.get("ClientTransactionID")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(0)
    }

    /// A required parameter, present.
    pub(crate) fn required(&self, key: &str) -> Result<&str, BadRequest> {
        self.get(key).ok_or_else(|| {
            BadRequest(format!(
                "the parameter {key} is missing (PUT parameters are case sensitive)"
            ))
        })
    }

    /// A required boolean: `true` or `false`, any casing.
    pub(crate) fn bool(&self, key: &str) -> Result<bool, BadRequest> {
        let v = self.required(key)?;
        if v.trim().eq_ignore_ascii_case("true") {
            Ok(true)
        } else if v.trim().eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(BadRequest(format!(
                "{key}={v:?} is not a boolean (true or false)"
            )))
        }
    }

    /// A required int32.
    pub(crate) fn int(&self, key: &str) -> Result<i32, BadRequest> {
        let v = self.required(key)?;
        v.trim()
            .parse::<i32>()
            .map_err(|_| BadRequest(format!("{key}={v:?} is not a 32-bit integer")))
    }

    /// A required finite number (`.` as the decimal point, an exponent allowed).
    pub(crate) fn number(&self, key: &str) -> Result<f64, BadRequest> {
        let v = self.required(key)?;
        let t = v.trim();
        let plain = !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
        match t.parse::<f64>() {
            Ok(n) if plain && n.is_finite() => Ok(n),
            _ => Err(BadRequest(format!("{key}={v:?} is not a number"))),
        }
    }
}

/// `a=1&b=x+y%21` → pairs, `+` as a space, `%XX` decoded (invalid UTF-8 replaced), empty
/// pieces skipped. Never fails: a malformed escape is kept as it is.
pub(crate) fn parse_urlencoded(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded() {
        assert_eq!(
            parse_urlencoded(b"A=1&b=x+y%21&&c&d=%zz%4"),
            [
                ("A".into(), "1".into()),
                ("b".into(), "x y!".into()),
                ("c".into(), String::new()),
                ("d".into(), "%zz%4".into()),
            ]
        );
        assert_eq!(
            parse_urlencoded("k=%C3%A9".as_bytes()),
            [("k".into(), "é".into())]
        );
    }

    #[test]
    fn casing_and_values() {
        let get = Params::parse(
            &Method::GET,
            Some("clienttransactionid=7&CONNECTED=TRUE"),
            b"",
        );
        assert_eq!(get.client_transaction_id(), 7);
        assert_eq!(get.bool("Connected"), Ok(true));
        let put = Params::parse(&Method::PUT, None, b"clienttransactionid=7&connected=true");
        assert_eq!(put.client_transaction_id(), 0);
        assert!(put.bool("Connected").is_err());
        let put = Params::parse(&Method::PUT, None, b"Duration=2.5&N=-3&X=1,5&Y=inf&Z=1e2");
        assert_eq!(put.number("Duration"), Ok(2.5));
        assert_eq!(put.int("N"), Ok(-3));
        assert!(put.number("X").is_err());
        assert!(put.number("Y").is_err());
        assert_eq!(put.number("Z"), Ok(100.0));
        let bad = Params::parse(&Method::GET, Some("ClientTransactionID=-1"), b"");
        assert_eq!(bad.client_transaction_id(), 0);
    }
}
