//! The client IP a request is attributed to (rate limits, logs, audit): the socket
//! peer, unless the peer is a configured trusted proxy, in which case the right-most
//! `X-Forwarded-For` entry that is not itself a trusted proxy. `X-Forwarded-For` from
//! anyone else is ignored, so a client cannot choose its own address.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;

/// The header proxies append the address they received the request from to.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Resolves the client IP of a request from `peer` (the TCP peer).
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    // Several header lines form one list, in order (RFC 9110 §5.3).
    let mut hops = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        let Ok(value) = value.to_str() else {
            return peer;
        };
        hops.extend(value.split(',').map(str::trim));
    }
    // Walk from the nearest hop outwards: entries right of the first untrusted one
    // were written by our own proxies; anything left of it is the client's to forge.
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if trusted_proxies.contains(&ip) => continue,
            Some(ip) => return ip,
            // A garbled entry added by (or passed through) our proxies: attribute the
            // request to the proxy rather than to anything the client wrote.
            None => return peer,
        }
    }
    peer
}

/// An `X-Forwarded-For` entry: an IP, or an IP with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                X_FORWARDED_FOR.parse().unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_cannot_claim_another_address() {
        let h = headers(&["203.0.113.9"]);
        assert_eq!(resolve(ip("198.51.100.1"), &h, &[]), ip("198.51.100.1"));
        assert_eq!(
            resolve(ip("198.51.100.1"), &h, &[ip("10.0.0.1")]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn trusted_proxies_yield_the_right_most_untrusted_entry() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        // The client forged "1.1.1.1"; the outer proxy 10.0.0.2 saw 203.0.113.9.
        let h = headers(&["1.1.1.1, 203.0.113.9", "10.0.0.2"]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &proxies), ip("203.0.113.9"));
        assert_eq!(
            resolve(ip("10.0.0.1"), &headers(&["[2001:db8::1]:443"]), &proxies),
            ip("2001:db8::1")
        );
        // Nothing usable: the proxy itself.
        assert_eq!(
            resolve(ip("10.0.0.1"), &headers(&[]), &proxies),
            ip("10.0.0.1")
        );
        assert_eq!(
            resolve(ip("10.0.0.1"), &headers(&["1.1.1.1, garbage"]), &proxies),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_proxies() {
        let h = headers(&["203.0.113.9"]);
        assert_eq!(
            resolve(ip("::ffff:10.0.0.1"), &h, &[ip("10.0.0.1")]),
            ip("203.0.113.9")
        );
    }
}
