//! Who made a request: the connection's peer, or — only when that peer is a proxy the
//! application trusts — the client named in `X-Forwarded-For`.
//!
//! The header is written by whoever sends the request, so it is never believed by default: a
//! client would set it to blame someone else. With trusted proxies configured, the header is
//! read from the right (the entry the nearest proxy appended) and the first address that is not
//! a trusted proxy is the client; a malformed entry stops the walk at the last address known.

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// The client address of a request whose connection came from `peer`.
pub(crate) fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?;
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    let mut client = peer;
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>();
    // Entries from every header line, nearest proxy last.
    let entries = forwarded.iter().flat_map(|line| line.split(','));
    for entry in entries.collect::<Vec<_>>().into_iter().rev() {
        match parse_entry(entry) {
            Some(address) => {
                client = address;
                if !is_trusted(address, trusted) {
                    break;
                }
            }
            None => break,
        }
    }
    Some(client)
}

fn is_trusted(address: IpAddr, trusted: &[IpNet]) -> bool {
    let address = canonical(address);
    trusted.iter().any(|net| net.contains(&address))
}

/// An IPv4 address as IPv4 even when it arrived mapped into IPv6 (`::ffff:10.0.0.1`), so
/// that `10.0.0.0/8` covers it.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`203.0.113.7:5122`,
/// `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append("x-forwarded-for", line.parse().unwrap());
        }
        map
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_trusted() {
        let forged = headers(&["198.51.100.9"]);
        assert_eq!(
            client_ip(ip("203.0.113.7"), &forged, &[]),
            ip("203.0.113.7")
        );
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("203.0.113.7"), &forged, &trusted),
            ip("203.0.113.7"),
            "a client outside the trusted proxies cannot name another client"
        );
    }

    #[test]
    fn the_first_untrusted_address_from_the_right_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged the first entry; the trusted proxies appended the rest.
        let chain = headers(&["1.2.3.4, 203.0.113.7", "10.0.0.2"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let trusted = nets(&["10.0.0.0/8"]);
        let chain = headers(&["[2001:db8::1]:443, 10.0.0.3:80"]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &chain, &trusted),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn a_malformed_entry_stops_at_the_last_known_address() {
        let trusted = nets(&["10.0.0.0/8"]);
        for hostile in [
            "unknown",
            "",
            "999.1.1.1",
            "203.0.113.7; DROP",
            "\u{202e}1.1.1.1",
        ] {
            let chain = headers(&[&format!("198.51.100.1, {hostile}")]);
            assert_eq!(
                client_ip(ip("10.0.0.1"), &chain, &trusted),
                ip("10.0.0.1"),
                "{hostile:?}"
            );
        }
    }

    #[test]
    fn only_trusted_proxies_in_the_chain_gives_the_leftmost() {
        let trusted = nets(&["10.0.0.0/8"]);
        let chain = headers(&["10.9.9.9, 10.0.0.2"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &chain, &trusted), ip("10.9.9.9"));
        assert_eq!(client_ip(None, &chain, &trusted), None);
    }
}
