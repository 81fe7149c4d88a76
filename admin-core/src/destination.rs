//! Where webhooks may be sent. A webhook URL is chosen by any organization's admin and
//! requested by the admin service from inside its own network, so by default it must
//! name a public destination: `http` or `https`, no user-info, and a host whose every
//! address is public — not loopback, unspecified, private, shared (CGNAT), link-local
//! (which holds cloud metadata at `169.254.169.254`), unique-local, multicast,
//! reserved or documentation space. A self-hoster whose receivers live on such a
//! network allows its ranges in `webhooks.allowed_networks`.
//!
//! The URL is checked when a webhook is created or changed ([`Destinations::check`])
//! and again on every delivery: the deliverer's HTTP client resolves names through
//! [`Destinations`] itself (a `reqwest` resolver), which refuses a name when any of its
//! addresses is not permitted, so the address connected to is the address checked and
//! a name that changes its answer after creation (DNS rebinding) is caught.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

/// Why a destination is refused. Its text is short and our own: it goes into the
/// delivery log that every member of the organization can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("is not a URL")]
    NotAUrl,
    #[error("must use http or https")]
    Scheme,
    #[error("must not carry a user name or password")]
    UserInfo,
    #[error("has no host")]
    NoHost,
    #[error(
        "resolves to {address} ({kind}); only public addresses are allowed unless webhooks.allowed_networks lists them"
    )]
    NotPublic { address: IpAddr, kind: &'static str },
    #[error("could not be resolved")]
    Unresolved,
}

/// The destinations webhooks may reach: public addresses, plus the allowed networks.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    allowed: Arc<[IpNet]>,
}

impl Destinations {
    /// Public addresses and the addresses in `allowed`.
    pub fn new(allowed: &[IpNet]) -> Self {
        Self {
            allowed: allowed.into(),
        }
    }

    /// Whether an address may be reached: allowed explicitly, or public.
    pub fn permits(&self, address: IpAddr) -> Result<(), Refusal> {
        let address = address.to_canonical();
        if self.allowed.iter().any(|net| net.contains(&address)) {
            return Ok(());
        }
        match non_public(address) {
            None => Ok(()),
            Some(kind) => Err(Refusal::NotPublic { address, kind }),
        }
    }

    /// The checks that need no resolution: scheme, user-info, host, and the address of
    /// a host written as an IP address.
    pub fn check_url(&self, url: &str) -> Result<Url, Refusal> {
        let url = Url::parse(url).map_err(|_| Refusal::NotAUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::UserInfo);
        }
        match url.host() {
            None => Err(Refusal::NoHost),
            Some(url::Host::Ipv4(ip)) => self.permits(IpAddr::V4(ip)).map(|()| url),
            Some(url::Host::Ipv6(ip)) => self.permits(IpAddr::V6(ip)).map(|()| url),
            Some(url::Host::Domain(_)) => Ok(url),
        }
    }

    /// [`Self::check_url`], then every address the host resolves to now. A name that
    /// does not resolve is accepted (the receiver may not exist yet); delivery checks
    /// it again.
    pub async fn check(&self, url: &str) -> Result<Url, Refusal> {
        let parsed = self.check_url(url)?;
        if let (Some(url::Host::Domain(host)), Some(port)) =
            (parsed.host(), parsed.port_or_known_default())
            && let Ok(addresses) = tokio::net::lookup_host((host, port)).await
        {
            for address in addresses {
                self.permits(address.ip())?;
            }
        }
        Ok(parsed)
    }

    /// Resolves `host` and checks every address; refuses the name if any is not
    /// permitted.
    async fn resolve_checked(&self, host: &str) -> Result<Vec<SocketAddr>, Refusal> {
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|_| Refusal::Unresolved)?
            .collect();
        if addresses.is_empty() {
            return Err(Refusal::Unresolved);
        }
        for address in &addresses {
            self.permits(address.ip())?;
        }
        Ok(addresses)
    }
}

/// The deliverer's resolver: the addresses it returns are the ones checked.
impl Resolve for Destinations {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addresses = this.resolve_checked(name.as_str()).await?;
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// What kind of non-public address this is, or `None` for a public one.
fn non_public(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(ip) => non_public_v4(ip),
        IpAddr::V6(ip) => non_public_v6(ip),
    }
}

/// IPv4 special-purpose ranges (IANA's registry) that are not globally reachable.
const V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "unspecified"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "shared (CGNAT)"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "protocol-assignment"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4-relay"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "documentation"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "documentation"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved"),
];

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4.iter()
        .find(|(base, len, _)| Ipv4Net::new(*base, *len).is_ok_and(|net| net.contains(&ip)))
        .map(|(_, _, kind)| *kind)
}

/// IPv6 special-purpose ranges that are not globally reachable. IPv4-mapped addresses
/// were made IPv4 by `to_canonical`; NAT64 addresses are judged by the IPv4 address
/// they carry.
const V6: &[(Ipv6Addr, u8, &str)] = &[
    (
        Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),
        96,
        "unspecified, loopback or IPv4-compatible",
    ),
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        "local NAT64",
    ),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64, "discard"),
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        "protocol-assignment",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation",
    ),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, "6to4"),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation",
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        "unique-local",
    ),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "site-local"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast"),
];

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let nat64 = Ipv6Net::new(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
    if nat64.is_ok_and(|net| net.contains(&ip)) {
        let [.., a, b, c, d] = ip.octets();
        return non_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    V6.iter()
        .find(|(base, len, _)| Ipv6Net::new(*base, *len).is_ok_and(|net| net.contains(&ip)))
        .map(|(_, _, kind)| *kind)
}

impl fmt::Display for Destinations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("public addresses")?;
        for net in self.allowed.iter() {
            write!(f, ", {net}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(d: &Destinations, url: &str) -> Refusal {
        d.check_url(url).unwrap_err()
    }

    #[test]
    fn non_public_literals_are_refused() {
        let d = Destinations::default();
        for url in [
            "http://127.0.0.1/",
            "http://127.1.2.3:8080/hook",
            "http://0.0.0.0/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[64:ff9b::a00:1]/",
            "http://[fc00::1]/",
            "http://[fd12:3456::1]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
            // The URL parser reads these as IPv4 addresses.
            "http://2130706433/",
            "http://0x7f.1/",
            "http://017700000001/",
        ] {
            assert!(
                matches!(refused(&d, url), Refusal::NotPublic { .. }),
                "{url} must be refused"
            );
        }
    }

    #[test]
    fn schemes_user_info_and_garbage_are_refused() {
        let d = Destinations::default();
        assert_eq!(refused(&d, "ftp://example.com/"), Refusal::Scheme);
        assert_eq!(refused(&d, "file:///etc/passwd"), Refusal::Scheme);
        assert_eq!(refused(&d, "gopher://example.com/"), Refusal::Scheme);
        assert_eq!(refused(&d, "http://user@example.com/"), Refusal::UserInfo);
        assert_eq!(refused(&d, "https://u:p@example.com/"), Refusal::UserInfo);
        assert_eq!(refused(&d, "not a url"), Refusal::NotAUrl);
    }

    #[test]
    fn public_addresses_and_names_pass() {
        let d = Destinations::default();
        for url in [
            "https://hooks.example.com/edgeflag",
            "http://93.184.215.14/",
            "http://[2606:4700::1111]/",
            "http://[64:ff9b::5db8:d70e]/",
            "http://172.32.0.1/",
            "http://100.128.0.1/",
        ] {
            assert!(d.check_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn allowed_networks_open_exactly_their_ranges() {
        let d = Destinations::new(&["127.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]);
        assert!(d.check_url("http://127.0.0.1:9/hook").is_ok());
        assert!(d.check_url("http://[::ffff:127.0.0.1]/").is_ok());
        assert!(d.check_url("http://[fd00::1]/").is_ok());
        assert!(d.check_url("http://10.0.0.1/").is_err());
        assert!(d.check_url("http://[::1]/").is_err());
    }

    #[tokio::test]
    async fn names_are_checked_by_what_they_resolve_to() {
        let d = Destinations::default();
        let refusal = d.check("http://localhost:9/hook").await.unwrap_err();
        assert!(
            matches!(
                refusal,
                Refusal::NotPublic {
                    kind: "loopback",
                    ..
                }
            ),
            "{refusal:?}"
        );
        assert!(d.resolve_checked("localhost").await.is_err());
        let allowed =
            Destinations::new(&["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        assert!(allowed.check("http://localhost:9/hook").await.is_ok());
        assert!(
            !allowed
                .resolve_checked("localhost")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
