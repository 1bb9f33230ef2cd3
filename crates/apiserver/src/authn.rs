//! Authentication: a verified client certificate (CN = user, O = groups), a
//! bearer token from the static token file, or a service-account JWT
//! (verified by `satoken`); anything else is 401.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// Upstream's `extra` (service-account tokens name their pod here).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    pub fn new(name: &str, groups: &[&str]) -> Self {
        let mut groups: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        UserInfo {
            name: name.into(),
            uid: String::new(),
            groups,
            extra: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    #[error("reading token file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("token file {path} line {line}: {msg}")]
    Format {
        path: String,
        line: usize,
        msg: String,
    },
}

/// Static bearer tokens.
#[derive(Clone, Debug, Default)]
pub struct Authenticator {
    tokens: HashMap<String, UserInfo>,
}

impl Authenticator {
    /// Load upstream's static token file format: `token,user,uid[,"group1,group2"]`.
    pub fn from_token_file(path: &Path) -> Result<Self, AuthnError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthnError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse_tokens(&text).map_err(|(line, msg)| AuthnError::Format {
            path: path.display().to_string(),
            line,
            msg,
        })
    }

    fn parse_tokens(text: &str) -> Result<Self, (usize, String)> {
        let mut tokens = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields = split_csv(line);
            if fields.len() < 3 {
                return Err((i + 1, "expected token,user,uid[,groups]".into()));
            }
            let groups: Vec<&str> = fields
                .get(3)
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let mut user = UserInfo::new(&fields[1], &groups);
            user.uid = fields[2].clone();
            tokens.insert(fields[0].clone(), user);
        }
        Ok(Authenticator { tokens })
    }

    pub fn add_token(&mut self, token: &str, user: UserInfo) {
        self.tokens.insert(token.into(), user);
    }

    pub fn token(&self, token: &str) -> Option<UserInfo> {
        self.tokens.get(token).cloned()
    }

    /// Identity from the `Authorization` header, if it carries a known token.
    pub fn from_header(&self, header: Option<&str>) -> Option<UserInfo> {
        self.token(bearer_token(header)?)
    }
}

/// The token of a `Bearer` `Authorization` header.
pub fn bearer_token(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Split one CSV line, honouring double quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// The user a client certificate names: CN is the user, each O a group.
pub fn user_from_cert(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let cn = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(String::from))
        .collect();
    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    Some(UserInfo::new(&cn, &refs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_parses_quoted_groups() {
        let a =
            Authenticator::parse_tokens("abc,alice,1,\"dev,ops\"\n# comment\nxyz,bob,2\n").unwrap();
        let u = a.from_header(Some("Bearer abc")).unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(u.groups, vec!["dev", "ops", "system:authenticated"]);
        assert!(a.from_header(Some("Bearer nope")).is_none());
        assert!(a.from_header(Some("Basic abc")).is_none());
        assert!(Authenticator::parse_tokens("onlytoken\n").is_err());
    }
}
