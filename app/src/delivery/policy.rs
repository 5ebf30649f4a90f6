//! Which addresses Tocsin may send to. One policy for the worker and for test messages: https
//! only unless http is allowed, no user names or passwords, and no loopback, private, link-local,
//! shared, multicast or reserved addresses, unless an operator allows their subnet.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

/// An IP network, such as `127.0.0.0/8` or `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    address: IpAddr,
    prefix: u8,
}

impl Subnet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_match(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_match(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_match(net: &[u8], ip: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    net[..full] == ip[..full] && (rest == 0 || (net[full] ^ ip[full]) & (0xff << (8 - rest)) == 0)
}

impl FromStr for Subnet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
        let address: IpAddr = address.parse().map_err(|_| format!("{text:?} is not a subnet such as 10.0.0.0/8"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has an invalid prefix length"))?
        };
        Ok(Self { address, prefix })
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// Addresses no webhook may reach, by default.
const BLOCKED: [&str; 27] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// The rules outbound requests follow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Allow `http://` addresses (only `https://` otherwise).
    pub allow_http: bool,
    /// Subnets reachable although blocked by default (e.g. an internal receiver).
    pub allow_subnets: Vec<Subnet>,
}

impl OutboundPolicy {
    /// Why `ip` may not be reached, if it may not.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        if self.allow_subnets.iter().any(|subnet| subnet.contains(ip)) {
            return Ok(());
        }
        // An IPv4 address written as IPv6 (mapped or NAT64) is judged as the IPv4 address, unless
        // the operator allowed that IPv4 subnet.
        if let IpAddr::V6(v6) = ip
            && let Some(v4) = embedded_ipv4(v6)
            && self.allow_subnets.iter().any(|subnet| subnet.contains(IpAddr::V4(v4)))
        {
            return Ok(());
        }
        match BLOCKED.iter().filter_map(|s| s.parse::<Subnet>().ok()).find(|s| s.contains(ip)) {
            Some(subnet) => Err(format!("{ip} is in the blocked range {subnet}")),
            None => Ok(()),
        }
    }

    /// Checks a URL's scheme, credentials and, when its host is an IP address, that address.
    /// Host names are checked when resolved, on the address actually connected to.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => {
                return Err("http:// addresses are not allowed; use https:// (or set TOCSIN_ALLOW_HTTP)".to_owned());
            }
            other => return Err(format!("{other}: addresses are not allowed")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("addresses with a user name or password are not allowed".to_owned());
        }
        match url.host() {
            None => Err("the address has no host".to_owned()),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }
}

fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = ip.segments();
    let mapped = segments[..5] == [0, 0, 0, 0, 0] && segments[5] == 0xffff;
    let nat64 = segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (mapped || nat64).then(|| {
        let o = ip.octets();
        Ipv4Addr::new(o[12], o[13], o[14], o[15])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &OutboundPolicy, url: &str) -> Result<(), String> {
        policy.check_url(&reqwest::Url::parse(url).map_err(|e| e.to_string())?)
    }

    /// Hostile addresses, shared with the HTTP-level SSRF test.
    pub fn hostile() -> Vec<&'static str> {
        include_str!("../../tests/data/hostile-urls.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    }

    #[test]
    fn hostile_addresses_are_refused() {
        let policy = OutboundPolicy::default();
        let hostile = hostile();
        assert!(hostile.len() >= 40);
        for url in hostile {
            assert!(check(&policy, url).is_err(), "{url} was allowed");
        }
    }

    #[test]
    fn public_https_addresses_pass() {
        let policy = OutboundPolicy::default();
        for url in
            ["https://hooks.slack.com/services/T/B/x", "https://93.184.215.14/hook", "https://[2606:4700::1111]/x"]
        {
            assert_eq!(check(&policy, url), Ok(()), "{url}");
        }
    }

    #[test]
    fn operators_can_allow_http_and_subnets() {
        let policy = OutboundPolicy {
            allow_http: true,
            allow_subnets: vec!["127.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()],
        };
        assert_eq!(check(&policy, "http://127.0.0.1:9000/hook"), Ok(()));
        assert_eq!(check(&policy, "https://[::ffff:127.0.0.1]/"), Ok(()), "the mapped form of an allowed address");
        assert_eq!(check(&policy, "https://[fd00::5]/"), Ok(()));
        assert!(check(&policy, "https://10.0.0.1/").is_err());
        assert!(check(&policy, "https://169.254.169.254/").is_err());
    }

    #[test]
    fn subnets_parse_and_match() {
        let net: Subnet = "172.16.0.0/12".parse().unwrap();
        assert!(net.contains("172.31.0.1".parse().unwrap()));
        assert!(!net.contains("172.32.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Subnet>().is_err());
        assert!("nonsense".parse::<Subnet>().is_err());
        assert_eq!("10.1.2.3".parse::<Subnet>().unwrap().to_string(), "10.1.2.3/32");
    }
}
