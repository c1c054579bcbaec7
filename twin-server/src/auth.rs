//! Who may do what: bearer tokens with roles, read from a tokens file, compared in
//! constant time, rate-limited per token.
//!
//! A tokens file holds one token per line, `TOKEN ROLE [NAME]`; blank lines and lines
//! starting with `#` are skipped. Roles are ordered: a `viewer` reads, an `operator`
//! also acknowledges alerts (and later dispatches), an `admin` also changes rules and
//! data. A token is at least [`MIN_TOKEN_LEN`] characters of printable ASCII without
//! spaces; the name (default `line-N`) is what logs and counters show — a token itself
//! is never printed.

use std::fmt;
use std::num::NonZeroU32;
use std::path::Path;
use std::str::FromStr;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use subtle::ConstantTimeEq;

/// Shortest token accepted (guessing 24 characters of base64 is out of reach).
pub const MIN_TOKEN_LEN: usize = 24;

/// What a caller may do; each role may do everything the roles below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads: assets, state, history, vital signs, alerts, rules.
    Viewer,
    /// Also acknowledges alerts.
    Operator,
    /// Also changes rules and data.
    Admin,
}

impl Role {
    /// The role's name as written in a tokens file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role `{other}` (viewer, operator or admin)"
            )),
        }
    }
}

/// Why a tokens file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line is wrong.
    #[error("{file}:{line}: {why}")]
    Line {
        /// The file.
        file: String,
        /// One-based line number.
        line: usize,
        /// What is wrong (never the token itself).
        why: String,
    },
    /// No token at all.
    #[error("{file}: no tokens (lines are `TOKEN ROLE [NAME]`)")]
    Empty {
        /// The file.
        file: String,
    },
}

/// One token of the file.
struct Token {
    secret: Vec<u8>,
    role: Role,
    name: String,
}

/// Someone the server let in: the token's name and role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's name (`loopback` when the server runs without tokens).
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// The tokens the server accepts.
pub struct Tokens {
    tokens: Vec<Token>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names and roles only: a token must not reach a log through Debug.
        f.debug_list()
            .entries(self.tokens.iter().map(|t| (&t.name, t.role)))
            .finish()
    }
}

impl Tokens {
    /// Reads a tokens file.
    pub fn load(path: &Path) -> Result<Tokens, TokensError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            file: file.clone(),
            source,
        })?;
        Tokens::parse(&text, &file)
    }

    /// Parses the text of a tokens file (`file` names it in errors).
    pub fn parse(text: &str, file: &str) -> Result<Tokens, TokensError> {
        let mut tokens: Vec<Token> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: String| TokensError::Line {
                file: file.to_string(),
                line: i + 1,
                why,
            };
            let mut parts = line.split_whitespace();
            let (Some(secret), Some(role)) = (parts.next(), parts.next()) else {
                return Err(bad("expected `TOKEN ROLE [NAME]`".into()));
            };
            let name = parts
                .next()
                .map_or_else(|| format!("line-{}", i + 1), str::to_string);
            if parts.next().is_some() {
                return Err(bad(
                    "expected `TOKEN ROLE [NAME]` (a name has no spaces)".into()
                ));
            }
            if secret.len() < MIN_TOKEN_LEN {
                return Err(bad(format!(
                    "token of `{name}` is {} characters; at least {MIN_TOKEN_LEN} are needed",
                    secret.len()
                )));
            }
            if !secret.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(bad(format!("token of `{name}` must be printable ASCII")));
            }
            let role: Role = role.parse().map_err(bad)?;
            if tokens.iter().any(|t| t.secret == secret.as_bytes()) {
                return Err(bad(format!("token of `{name}` is given twice")));
            }
            if tokens.iter().any(|t| t.name == name) {
                return Err(bad(format!("name `{name}` is given twice")));
            }
            tokens.push(Token {
                secret: secret.as_bytes().to_vec(),
                role,
                name,
            });
        }
        if tokens.is_empty() {
            return Err(TokensError::Empty {
                file: file.to_string(),
            });
        }
        Ok(Tokens { tokens })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether there are none (never true for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The caller holding `presented`, if any. Every token is compared, each in
    /// constant time, so the time taken does not say which token or how much of one
    /// matched.
    pub fn find(&self, presented: &str) -> Option<Caller> {
        let mut found = None;
        for t in &self.tokens {
            if bool::from(t.secret.as_slice().ct_eq(presented.as_bytes())) {
                found = Some(Caller {
                    name: t.name.clone(),
                    role: t.role,
                });
            }
        }
        found
    }
}

/// Request rates: per token, and for requests that fail authentication (all together,
/// so that guessing tokens is slow whatever the source).
pub struct RateLimits {
    per_token: DefaultKeyedRateLimiter<String>,
    failures: DefaultDirectRateLimiter,
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RateLimits")
    }
}

impl RateLimits {
    /// `per_second` requests a second per token (bursts up to twice that), and
    /// `failures_per_second` refused authentications a second in all.
    pub fn new(per_second: u32, failures_per_second: u32) -> RateLimits {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(per_second.max(1).saturating_mul(2)).unwrap_or(rate);
        let fail = NonZeroU32::new(failures_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        RateLimits {
            per_token: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            failures: DefaultDirectRateLimiter::direct(Quota::per_second(fail)),
        }
    }

    /// Whether the caller may make one more request now. The keyed store holds one
    /// entry per token name (a fixed set from the tokens file), so it cannot grow.
    pub fn allow(&self, caller: &Caller) -> bool {
        self.per_token.check_key(&caller.name).is_ok()
    }

    /// Whether one more failed authentication may be answered now (else 429).
    pub fn allow_failure(&self) -> bool {
        self.failures.check().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn parses_roles_names_and_comments() {
        let t = Tokens::parse(
            &format!("# ops centre\n\n{A} viewer wall\n{B} operator\n"),
            "t",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.find(A),
            Some(Caller {
                name: "wall".into(),
                role: Role::Viewer
            })
        );
        assert_eq!(t.find(B).unwrap().name, "line-4");
        assert_eq!(t.find(B).unwrap().role, Role::Operator);
        assert_eq!(t.find("aaaa"), None);
        assert_eq!(t.find(&A[1..]), None);
        assert_eq!(t.find(""), None);
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
    }

    #[test]
    fn refuses_bad_lines_without_printing_tokens() {
        let cases = [
            (format!("{A}\n"), "t:1: expected `TOKEN ROLE [NAME]`"),
            (
                "short viewer\n".to_string(),
                "t:1: token of `line-1` is 5 characters",
            ),
            (format!("{A} boss\n"), "t:1: unknown role `boss`"),
            (
                format!("{A} viewer x\n{A} admin y\n"),
                "t:2: token of `y` is given twice",
            ),
            (
                format!("{A} viewer x\n{B} admin x\n"),
                "t:2: name `x` is given twice",
            ),
            ("# nothing\n".to_string(), "t: no tokens"),
        ];
        for (text, want) in cases {
            let e = Tokens::parse(&text, "t").unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
            assert!(!e.contains(A) && !e.contains(B), "{e}");
        }
        let t = Tokens::parse(&format!("{A} admin root\n"), "t").unwrap();
        assert_eq!(format!("{t:?}"), "[(\"root\", Admin)]");
    }

    #[test]
    fn rate_limits_per_token() {
        let limits = RateLimits::new(5, 1);
        let a = Caller {
            name: "a".into(),
            role: Role::Viewer,
        };
        let b = Caller {
            name: "b".into(),
            role: Role::Viewer,
        };
        // A burst of twice the rate, then refusals; another token is not affected.
        let allowed = (0..40).filter(|_| limits.allow(&a)).count();
        assert!((10..=11).contains(&allowed), "{allowed}");
        assert!(limits.allow(&b));
        assert!(limits.allow_failure());
        assert!(!limits.allow_failure());
    }
}
