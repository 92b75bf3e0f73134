//! The outbound-connection policy shared by every place that connects where a tenant says:
//! cameras, RESTful endpoints, webhooks, object stores. An address is refused when it matches
//! the deny list and not the allow list (allow is the exception to deny). The built-in deny list
//! covers link-local and cloud-metadata addresses and `0.0.0.0/8`; loopback and private ranges
//! stay reachable unless the administrator denies them (`--egress-deny`).
//!
//! This module only decides; resolving names is the caller's business (see
//! [`EgressPolicy::check_resolved`]), and the optional `http` feature adds a `reqwest` resolver
//! and redirect policy that apply the decision to every resolved address and every redirect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// Addresses refused unless explicitly allowed: link-local (IPv4 and IPv6, which include the
/// cloud metadata services at 169.254.169.254), AWS's IPv6 metadata address, "this network"
/// (`0.0.0.0/8`, which Linux routes to the local host) and the IPv6 unspecified address.
pub const BUILT_IN_DENY: &[&str] = &[
    "169.254.0.0/16",
    "fe80::/10",
    "fd00:ec2::254/128",
    "0.0.0.0/8",
    "::/128",
];

/// The message tenants see for any refused or failed outbound connection: the same text
/// whatever happened, so error messages cannot be used to scan the server's network.
pub const GENERIC_CONNECT_ERROR: &str = "the address could not be reached or is not allowed";

/// One entry of an allow or deny list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EgressRule {
    /// An address range (a bare address is a /32 or /128).
    Net(IpNet),
    /// A host name, matched case-insensitively; `*.example.com` matches every sub-domain
    /// (not `example.com` itself).
    Host(String),
}

impl EgressRule {
    fn matches(&self, host: Option<&str>, ip: Option<IpAddr>) -> bool {
        match self {
            EgressRule::Net(net) => ip.is_some_and(|ip| net.contains(&canonical(ip))),
            EgressRule::Host(pattern) => host.is_some_and(|h| host_matches(pattern, h)),
        }
    }
}

impl FromStr for EgressRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty entry".into());
        }
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(EgressRule::Net(net.trunc()));
        }
        if let Ok(ip) = s.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return Ok(EgressRule::Net(IpNet::from(ip)));
        }
        let name = s.strip_prefix("*.").unwrap_or(s);
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty() && label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(format!("{s:?} is neither an address range (CIDR) nor a host name"));
        }
        Ok(EgressRule::Host(s.to_ascii_lowercase()))
    }
}

impl fmt::Display for EgressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EgressRule::Net(n) => write!(f, "{n}"),
            EgressRule::Host(h) => f.write_str(h),
        }
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() && host.ends_with(suffix) && host[..host.len() - suffix.len()].ends_with('.')
        }
        None => host == pattern,
    }
}

/// IPv4-mapped and IPv4-compatible IPv6 addresses are judged as the IPv4 address they carry,
/// so `::ffff:169.254.169.254` cannot slip past a rule for `169.254.0.0/16`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Why a connection was refused (for logs; tenants see [`GENERIC_CONNECT_ERROR`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressDenied {
    pub host: String,
    pub ip: Option<IpAddr>,
    pub rule: String,
}

impl fmt::Display for EgressDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            Some(ip) => write!(f, "egress to {} ({ip}) denied by rule {}", self.host, self.rule),
            None => write!(f, "egress to {} denied by rule {}", self.host, self.rule),
        }
    }
}

impl std::error::Error for EgressDenied {}

/// The allow and deny lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPolicy {
    allow: Vec<EgressRule>,
    deny: Vec<EgressRule>,
}

impl Default for EgressPolicy {
    /// The built-in deny list and nothing allowed beyond it.
    fn default() -> Self {
        EgressPolicy::new::<&str>(&[], &[]).expect("the built-in rules parse")
    }
}

impl EgressPolicy {
    /// `allow` and `deny` are administrator settings; the built-in deny list is always added to
    /// `deny` (allow an address explicitly to reach it anyway).
    pub fn new<S: AsRef<str>>(allow: &[S], deny: &[S]) -> Result<Self, String> {
        let parse = |list: &[S], name: &str| -> Result<Vec<EgressRule>, String> {
            list.iter()
                .map(|s| s.as_ref())
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.parse::<EgressRule>().map_err(|e| format!("{name}: {e}")))
                .collect()
        };
        let allow = parse(allow, "egress allow list")?;
        let mut deny_rules: Vec<EgressRule> = BUILT_IN_DENY
            .iter()
            .map(|s| s.parse().expect("built-in rule"))
            .collect();
        deny_rules.extend(parse(deny, "egress deny list")?);
        Ok(EgressPolicy {
            allow,
            deny: deny_rules,
        })
    }

    /// A policy that permits everything (tests of code paths unrelated to egress).
    pub fn allow_all() -> Self {
        EgressPolicy {
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }

    /// Parses comma-separated lists, as given on the command line.
    pub fn from_lists(allow: &str, deny: &str) -> Result<Self, String> {
        let split = |s: &str| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        EgressPolicy::new(&split(allow), &split(deny))
    }

    pub fn allow_rules(&self) -> &[EgressRule] {
        &self.allow
    }

    pub fn deny_rules(&self) -> &[EgressRule] {
        &self.deny
    }

    /// The decision for one connection target: `host` as written in the address (a name or a
    /// literal address) and one `ip` it resolved to.
    pub fn check(&self, host: &str, ip: Option<IpAddr>) -> Result<(), EgressDenied> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = ip.or_else(|| host.parse::<IpAddr>().ok()).map(canonical);
        let name = host.parse::<IpAddr>().is_err().then_some(host);
        if self.allow.iter().any(|r| r.matches(name, ip)) {
            return Ok(());
        }
        match self.deny.iter().find(|r| r.matches(name, ip)) {
            Some(rule) => Err(EgressDenied {
                host: host.to_string(),
                ip,
                rule: rule.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Checks every address `host` resolved to: one denied address refuses the whole target
    /// (a name answering with a public and a metadata address is not half-allowed).
    pub fn check_resolved(&self, host: &str, ips: &[IpAddr]) -> Result<(), EgressDenied> {
        self.check(host, None)?;
        ips.iter().try_for_each(|ip| self.check(host, Some(*ip)))
    }
}

/// Loopback, private, link-local or unique-local: where `--egress-deny` of a multi-tenant
/// deployment usually points (listed in docs/security.md).
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4 == Ipv4Addr::UNSPECIFIED,
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6 == Ipv6Addr::UNSPECIFIED
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(feature = "http")]
pub mod http {
    //! The policy applied to `reqwest`: a resolver that refuses denied addresses (it sees every
    //! name the client connects to, redirects included), a redirect policy that checks literal
    //! addresses (which skip the resolver), and a check for the first URL.

    use std::net::SocketAddr;
    use std::sync::Arc;

    use reqwest::dns::{Addrs, Name, Resolve, Resolving};

    use super::{EgressDenied, EgressPolicy};

    /// Resolves names with the system resolver and refuses any answer with a denied address.
    #[derive(Clone)]
    pub struct PolicyResolver(pub Arc<EgressPolicy>);

    impl Resolve for PolicyResolver {
        fn resolve(&self, name: Name) -> Resolving {
            let policy = self.0.clone();
            Box::pin(async move {
                let host = name.as_str().to_string();
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
                let ips: Vec<_> = addrs.iter().map(|a| a.ip()).collect();
                policy
                    .check_resolved(&host, &ips)
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
                Ok(Box::new(addrs.into_iter()) as Addrs)
            })
        }
    }

    /// Checks a URL's host when it is a literal address or a denied name (names are checked
    /// again, with their addresses, by [`PolicyResolver`]).
    pub fn check_url(policy: &EgressPolicy, url: &reqwest::Url) -> Result<(), EgressDenied> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => policy.check(&ip.to_string(), Some(ip.into())),
            Some(url::Host::Ipv6(ip)) => policy.check(&ip.to_string(), Some(ip.into())),
            Some(url::Host::Domain(d)) => policy.check(d, None),
            None => Ok(()),
        }
    }

    /// Follows up to `max` redirects, each checked against the policy; `max == 0` follows none.
    pub fn redirect_policy(policy: Arc<EgressPolicy>, max: usize) -> reqwest::redirect::Policy {
        if max == 0 {
            return reqwest::redirect::Policy::none();
        }
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max {
                return attempt.error(format!("more than {max} redirects"));
            }
            match check_url(&policy, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        })
    }

    /// A client builder with the policy's resolver and redirect policy installed.
    pub fn client_builder(policy: Arc<EgressPolicy>, max_redirects: usize) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(PolicyResolver(policy.clone())))
            .redirect(redirect_policy(policy, max_redirects))
    }

    /// Whether a request error (or anything it wraps) is an egress refusal.
    pub fn is_denied(e: &(dyn std::error::Error + 'static)) -> bool {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            if err.is::<EgressDenied>() {
                return true;
            }
            cur = err.source();
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn built_in_deny_and_default_reachability() {
        let p = EgressPolicy::default();
        assert!(p.check("169.254.169.254", None).is_err());
        assert!(p.check("metadata.internal", ip("169.254.169.254")).is_err());
        assert!(p.check("::ffff:169.254.169.254", None).is_err());
        assert!(p.check("[fe80::1]", None).is_err());
        assert!(p.check("fd00:ec2::254", None).is_err());
        assert!(p.check("0.0.0.0", None).is_err());
        assert!(p.check("::", None).is_err());
        // Cameras on loopback and private networks stay reachable by default.
        assert!(p.check("127.0.0.1", None).is_ok());
        assert!(p.check("cam.local", ip("192.168.1.20")).is_ok());
        assert!(p.check("::1", None).is_ok());
        assert!(p.check("example.com", ip("93.184.216.34")).is_ok());
    }

    #[test]
    fn allow_is_the_exception_to_deny() {
        let p =
            EgressPolicy::from_lists("10.1.0.0/16, cams.example.net", "10.0.0.0/8,127.0.0.0/8,*.corp.example").unwrap();
        assert!(p.check("10.2.3.4", None).is_err());
        assert!(p.check("10.1.3.4", None).is_ok());
        assert!(p.check("127.0.0.1", None).is_err());
        assert!(p.check("db.corp.example", ip("203.0.113.9")).is_err());
        assert!(p.check("corp.example", ip("203.0.113.9")).is_ok());
        // An allowed name is allowed whatever it resolves to.
        assert!(p.check("cams.example.net", ip("10.9.9.9")).is_ok());
        // One denied answer refuses the target.
        assert!(p
            .check_resolved(
                "mixed.example",
                &["203.0.113.1".parse().unwrap(), "169.254.169.254".parse().unwrap()]
            )
            .is_err());
        // The built-in list stays in force next to the administrator's.
        assert!(p.check("169.254.169.254", None).is_err());
        let opened = EgressPolicy::from_lists("169.254.10.0/24", "").unwrap();
        assert!(opened.check("169.254.10.7", None).is_ok());
        assert!(opened.check("169.254.169.254", None).is_err());
    }

    #[test]
    fn rules_parse_or_explain() {
        assert!(EgressPolicy::from_lists("not a host!", "")
            .unwrap_err()
            .contains("allow"));
        assert!(EgressPolicy::from_lists("", "10.0.0.0/33").is_err());
        assert_eq!("10.1.2.3".parse::<EgressRule>().unwrap().to_string(), "10.1.2.3/32");
        assert_eq!("10.1.2.3/8".parse::<EgressRule>().unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            "Cam.Example".parse::<EgressRule>().unwrap(),
            EgressRule::Host("cam.example".into())
        );
        assert!(is_internal("10.0.0.1".parse().unwrap()));
        assert!(!is_internal("8.8.8.8".parse().unwrap()));
    }
}
