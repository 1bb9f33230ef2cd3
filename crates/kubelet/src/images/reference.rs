//! Image references as the kubelet reads them (the distribution reference
//! grammar): which registry an image comes from, its tag or digest, the
//! default `:latest` tag, and the default pull policy that follows from it.

/// A parsed image reference. `domain` is empty when the image names none
/// (Docker Hub is meant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

pub const DOCKER_HUB: &str = "docker.io";

fn is_path_component(s: &str) -> bool {
    // [a-z0-9]+ separated by `.`, `_`, `__` or runs of `-`.
    if s.is_empty() {
        return false;
    }
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_domain(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || s.starts_with('[') => (h, Some(p)),
        _ => (s, None),
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        // `[::1]` without a port splits inside the brackets.
        return s.starts_with('[') && s.ends_with(']');
    }
    if host.starts_with('[') && host.ends_with(']') {
        return host[1..host.len() - 1]
            .bytes()
            .all(|c| c.is_ascii_hexdigit() || c == b':');
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_tag(s: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !s.is_empty()
        && s.len() <= 128
        && word(s.as_bytes()[0])
        && s.bytes().all(|c| word(c) || c == b'.' || c == b'-')
}

fn is_digest(s: &str) -> bool {
    match s.split_once(':') {
        Some(("sha256", hex)) => {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }
        Some((alg, enc)) => {
            !alg.is_empty()
                && alg
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+._-".contains(&c))
                && enc.len() >= 32
                && enc
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"=_-".contains(&c))
        }
        None => false,
    }
}

/// Parse `image`; the error says why it is not a valid reference.
pub fn parse(image: &str) -> Result<ImageRef, String> {
    if image.is_empty() {
        return Err("invalid reference format: empty image name".into());
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => {
            if !is_digest(d) {
                return Err(format!("invalid reference format: bad digest {d:?}"));
            }
            (r, Some(d.to_string()))
        }
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let t = &rest[last_slash + i + 1..];
            if !is_tag(t) {
                return Err(format!("invalid reference format: bad tag {t:?}"));
            }
            (&rest[..last_slash + i], Some(t.to_string()))
        }
        None => (rest, None),
    };
    if name.len() > 255 {
        return Err(
            "invalid reference format: repository name must not be more than 255 characters".into(),
        );
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, path))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            if !is_domain(first) {
                return Err(format!("invalid reference format: bad registry {first:?}"));
            }
            (first.to_string(), path)
        }
        _ => (String::new(), name),
    };
    if path.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("invalid reference format: repository name must be lowercase".into());
    }
    if !path.split('/').all(is_path_component) {
        return Err(format!(
            "invalid reference format: bad repository name {path:?}"
        ));
    }
    Ok(ImageRef {
        domain,
        path: path.to_string(),
        tag,
        digest,
    })
}

impl ImageRef {
    /// The registry to pull from (`docker.io` when the image names none).
    pub fn registry(&self) -> &str {
        if self.domain.is_empty() {
            DOCKER_HUB
        } else {
            &self.domain
        }
    }

    /// `registry/path`, Docker Hub's one-part names under `library/`, for
    /// matching against credential keys.
    pub fn registry_path(&self) -> String {
        if self.domain.is_empty() && !self.path.contains('/') {
            format!("{DOCKER_HUB}/library/{}", self.path)
        } else {
            format!("{}/{}", self.registry(), self.path)
        }
    }

    /// The tag in effect: `latest` when neither a tag nor a digest is given.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }
}

/// `image` with `:latest` appended when it has neither tag nor digest (the
/// name itself is kept as written: no `docker.io/` is added).
pub fn with_default_tag(image: &str) -> Result<String, String> {
    let r = parse(image)?;
    Ok(if r.tag.is_none() && r.digest.is_none() {
        format!("{image}:latest")
    } else {
        image.to_string()
    })
}

/// The API server's default imagePullPolicy: `Always` for `:latest` (or no
/// tag), else `IfNotPresent`.
pub fn default_pull_policy(image: &str) -> &'static str {
    match parse(image) {
        Ok(r) if r.effective_tag() == Some("latest") => "Always",
        Ok(_) => "IfNotPresent",
        Err(_) => "IfNotPresent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_shapes() {
        let r = parse("busybox").unwrap();
        assert_eq!(
            (r.registry(), r.path.as_str(), r.tag.as_deref()),
            ("docker.io", "busybox", None)
        );
        assert_eq!(r.registry_path(), "docker.io/library/busybox");
        let r = parse("rkube.local/busybox:1").unwrap();
        assert_eq!(
            (r.registry(), r.path.as_str(), r.tag.as_deref()),
            ("rkube.local", "busybox", Some("1"))
        );
        let r = parse("127.0.0.1:5000/team/app:v1.2-rc_3").unwrap();
        assert_eq!(r.domain, "127.0.0.1:5000");
        assert_eq!(r.registry_path(), "127.0.0.1:5000/team/app");
        let r = parse("localhost/app").unwrap();
        assert_eq!(r.domain, "localhost");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("quay.io/x/y@{d}")).unwrap();
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some(d.as_str())));
        let r = parse("library/nginx:1.27").unwrap();
        assert_eq!(r.registry_path(), "docker.io/library/nginx");
    }

    #[test]
    fn rejects_invalid_names() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox:bad tag",
            "busy//box",
            "-busybox",
            "busybox@sha256:abc",
            "registry.example.com:port/app",
            "a/b__c__/d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn default_tag_and_policy() {
        assert_eq!(with_default_tag("busybox").unwrap(), "busybox:latest");
        assert_eq!(
            with_default_tag("rkube.local/busybox:1").unwrap(),
            "rkube.local/busybox:1"
        );
        let d = format!("x@sha256:{}", "0".repeat(64));
        assert_eq!(with_default_tag(&d).unwrap(), d);
        assert_eq!(default_pull_policy("busybox"), "Always");
        assert_eq!(default_pull_policy("busybox:latest"), "Always");
        assert_eq!(default_pull_policy("rkube.local/busybox:1"), "IfNotPresent");
        assert_eq!(default_pull_policy(&d), "IfNotPresent");
    }
}
