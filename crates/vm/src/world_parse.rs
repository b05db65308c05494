//! The text format of world files (see [`crate::world`]).

use crate::world::{Interface, Neighbour, Nud, Route, RouteKind, TunnelKey, World, WorldError};
use std::net::IpAddr;

/// Interface indexes stay below the veth peers' (1000000 + index, see `World::host_setup`).
const MAX_IFINDEX: u32 = 999_999;

struct Words<'a> {
    line: usize,
    words: std::iter::Peekable<std::str::SplitWhitespace<'a>>,
}

impl<'a> Words<'a> {
    fn err<T>(&self, reason: impl Into<String>) -> Result<T, WorldError> {
        Err(WorldError { line: self.line, reason: reason.into() })
    }

    fn value(&mut self, key: &str) -> Result<&'a str, WorldError> {
        match self.words.next() {
            Some(v) => Ok(v),
            None => self.err(format!("`{key}` needs a value")),
        }
    }

    fn number<T: std::str::FromStr>(&mut self, key: &str) -> Result<T, WorldError> {
        let v = self.value(key)?;
        let parsed = match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok().and_then(|n| n.to_string().parse().ok()),
            None => v.parse().ok(),
        };
        match parsed {
            Some(n) => Ok(n),
            None => self.err(format!("`{key} {v}`: not a number in range")),
        }
    }

    fn addr(&mut self, key: &str) -> Result<IpAddr, WorldError> {
        let v = self.value(key)?;
        match v.parse() {
            Ok(a) => Ok(a),
            Err(_) => self.err(format!("`{key} {v}`: not an IPv4 or IPv6 address")),
        }
    }

    fn mac(&mut self, key: &str) -> Result<[u8; 6], WorldError> {
        let v = self.value(key)?;
        let parts: Vec<Option<u8>> = v.split(':').map(|p| u8::from_str_radix(p, 16).ok()).collect();
        match parts.iter().copied().collect::<Option<Vec<u8>>>() {
            Some(b) if b.len() == 6 && v.split(':').all(|p| p.len() == 2) => {
                let mut m = [0; 6];
                m.copy_from_slice(&b);
                Ok(m)
            }
            _ => self.err(format!("`{key} {v}`: not a MAC address (aa:bb:cc:dd:ee:ff)")),
        }
    }
}

/// `10.0.0.0/8`, `fd00::/64`, `default` (needs the family from elsewhere: `None`).
fn prefix(w: &Words<'_>, v: &str) -> Result<(IpAddr, u8), WorldError> {
    let (a, p) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let Ok(addr) = a.parse::<IpAddr>() else {
        return w.err(format!("`{v}`: not an address or prefix"));
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let p = match p.map(str::parse::<u8>) {
        None => max,
        Some(Ok(p)) if p <= max => p,
        Some(_) => return w.err(format!("`{v}`: prefix length above {max}")),
    };
    Ok((addr, p))
}

fn dev_index(w: &Words<'_>, ifaces: &[Interface], name: &str) -> Result<u32, WorldError> {
    match ifaces.iter().find(|i| i.name == name) {
        Some(i) => Ok(i.ifindex),
        None if name == "lo" => Ok(1),
        None => w.err(format!("no interface `{name}` (declare it on an earlier line)")),
    }
}

fn interface(w: &mut Words<'_>, ifaces: &[Interface]) -> Result<Interface, WorldError> {
    let name = w.value("interface")?.to_string();
    if name == "lo" || ifaces.iter().any(|i| i.name == name) {
        return w.err(format!("interface `{name}` declared twice (lo always exists)"));
    }
    if name.len() > 15 || name.contains('/') || name.contains(':') {
        return w.err(format!("interface name `{name}`: at most 15 bytes, no `/` or `:`"));
    }
    let n = ifaces.len() as u32;
    let mut i = Interface {
        ifindex: n + 2,
        name,
        mac: [2, 0, 0, 0, n as u8, 1],
        mtu: 1500,
        addrs: Vec::new(),
        forwarding: true,
    };
    while let Some(k) = w.words.next() {
        match k {
            "index" => i.ifindex = w.number(k)?,
            "mac" | "address" => i.mac = w.mac(k)?,
            "mtu" => i.mtu = w.number(k)?,
            "addr" => {
                let v = w.value(k)?;
                i.addrs.push(prefix(w, v)?);
            }
            "forwarding" => {
                i.forwarding = match w.value(k)? {
                    "on" => true,
                    "off" => false,
                    v => return w.err(format!("`forwarding {v}`: on or off")),
                }
            }
            _ => return w.err(format!("interface: unknown word `{k}`")),
        }
    }
    if i.ifindex < 2 || ifaces.iter().any(|o| o.ifindex == i.ifindex) {
        return w.err(format!("interface `{}`: index {} is taken (1 is lo)", i.name, i.ifindex));
    }
    if i.ifindex > MAX_IFINDEX {
        return w.err(format!("interface `{}`: index {} above {MAX_IFINDEX}", i.name, i.ifindex));
    }
    if !(68..=65535).contains(&i.mtu) {
        return w.err(format!("interface `{}`: MTU {} outside 68..=65535", i.name, i.mtu));
    }
    Ok(i)
}

fn route(w: &mut Words<'_>, ifaces: &[Interface]) -> Result<Route, WorldError> {
    let mut kind = RouteKind::Unicast;
    let mut first = w.value("route")?;
    for (word, k) in [
        ("blackhole", RouteKind::Blackhole),
        ("unreachable", RouteKind::Unreachable),
        ("prohibit", RouteKind::Prohibit),
    ] {
        if first == word {
            kind = k;
            first = w.value(word)?;
        }
    }
    let dst = if first == "default" { None } else { Some(prefix(w, first)?) };
    let (mut via, mut dev, mut metric) = (None, None, None);
    while let Some(k) = w.words.next() {
        match k {
            "via" => via = Some(w.addr(k)?),
            "dev" => {
                let name = w.value(k)?;
                dev = Some(dev_index(w, ifaces, name)?);
            }
            "metric" => metric = Some(w.number(k)?),
            _ => return w.err(format!("route: unknown word `{k}`")),
        }
    }
    let (dst, prefix) = match (dst, via) {
        (Some(d), _) => d,
        (None, Some(IpAddr::V6(_))) => (IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), 0),
        (None, _) => (IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0),
    };
    if via.is_some_and(|v| v.is_ipv4() != dst.is_ipv4()) {
        return w.err("route: the gateway's family differs from the destination's");
    }
    if kind == RouteKind::Unicast && via.is_none() && dev.is_none() {
        return w.err("route: needs `via ADDR` or `dev NAME`");
    }
    let metric = metric.unwrap_or(if dst.is_ipv4() { 0 } else { 1024 });
    Ok(Route { kind, dst, prefix, via, dev, metric })
}

fn neighbour(w: &mut Words<'_>, ifaces: &[Interface]) -> Result<Neighbour, WorldError> {
    let addr = w.addr("neighbour")?;
    let (mut mac, mut dev, mut nud) = (None, None, Nud::Permanent);
    while let Some(k) = w.words.next() {
        match k {
            "lladdr" => mac = Some(w.mac(k)?),
            "dev" => {
                let name = w.value(k)?;
                dev = Some(dev_index(w, ifaces, name)?);
            }
            "nud" => {
                let v = w.value(k)?;
                nud = match v {
                    "permanent" => Nud::Permanent,
                    "reachable" => Nud::Reachable,
                    "stale" => Nud::Stale,
                    "delay" => Nud::Delay,
                    "probe" => Nud::Probe,
                    "noarp" => Nud::Noarp,
                    "failed" => Nud::Failed,
                    "incomplete" => Nud::Incomplete,
                    _ => return w.err(format!("neighbour: unknown state `{v}`")),
                }
            }
            _ => return w.err(format!("neighbour: unknown word `{k}`")),
        }
    }
    let Some(dev) = dev else { return w.err("neighbour: needs `dev NAME`") };
    let mac = match (mac, nud.valid()) {
        (Some(m), _) => m,
        (None, false) => [0; 6],
        (None, true) => return w.err("neighbour: needs `lladdr MAC`"),
    };
    Ok(Neighbour { addr, mac, dev, nud })
}

fn tunnel(w: &mut Words<'_>) -> Result<TunnelKey, WorldError> {
    let (mut id, mut remote, mut local, mut tos, mut ttl, mut label) = (0, None, None, 0, 64, 0);
    while let Some(k) = w.words.next() {
        match k {
            "id" => id = w.number(k)?,
            "remote" => remote = Some(w.addr(k)?),
            "local" => local = Some(w.addr(k)?),
            "tos" => tos = w.number(k)?,
            "ttl" => ttl = w.number(k)?,
            "label" => label = w.number(k)?,
            _ => return w.err(format!("tunnel: unknown word `{k}`")),
        }
    }
    let (Some(remote), Some(local)) = (remote, local) else { return w.err("tunnel: needs `remote` and `local`") };
    if remote.is_ipv4() != local.is_ipv4() {
        return w.err("tunnel: `remote` and `local` of different families");
    }
    Ok(TunnelKey { id, remote, local, tos, ttl, label })
}

pub(crate) fn parse(text: &str) -> Result<World, WorldError> {
    let (mut ifaces, mut routes, mut neighs, mut tun) = (Vec::new(), Vec::new(), Vec::new(), None);
    for (n, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or("");
        let mut w = Words { line: n + 1, words: content.split_whitespace().peekable() };
        let Some(first) = w.words.next() else { continue };
        match first {
            "interface" => {
                let i = interface(&mut w, &ifaces)?;
                ifaces.push(i);
            }
            "route" => routes.push(route(&mut w, &ifaces)?),
            "neighbour" | "neighbor" => neighs.push(neighbour(&mut w, &ifaces)?),
            "tunnel" if tun.is_none() => tun = Some(tunnel(&mut w)?),
            "tunnel" => return w.err("a second `tunnel` line (a packet has one tunnel key)"),
            _ => return w.err(format!("unknown statement `{first}` (interface, route, neighbour, tunnel)")),
        }
    }
    Ok(World::from_parts(ifaces, routes, neighs, tun))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_statement() {
        let w = World::parse(
            "# a router\n\
             interface eth0 index 4 mac 02:aa:00:00:00:01 mtu 9000 addr 10.0.0.1/24 addr fd00::1/64\n\
             interface eth1 forwarding off\n\
             route 192.168.0.0/16 via 10.0.0.2 dev eth0 metric 7\n\
             route default via fd00::2\n\
             route unreachable 10.9.0.0/16\n\
             neighbour 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0 nud stale\n\
             neighbor fd00::3 dev eth0 nud failed\n\
             tunnel id 42 remote 192.0.2.1 local 192.0.2.2 ttl 9",
        )
        .unwrap();
        assert_eq!(w.interfaces.len(), 3);
        let e0 = w.interface_named("eth0").unwrap();
        assert_eq!((e0.ifindex, e0.mtu, e0.mac[1]), (4, 9000, 0xaa));
        let e1 = w.interface_named("eth1").unwrap();
        assert_eq!((e1.ifindex, e1.forwarding), (3, false));
        assert_eq!(w.routes[0].metric, 7);
        assert_eq!((w.routes[1].prefix, w.routes[1].metric), (0, 1024));
        assert!(w.routes[1].dst.is_ipv6());
        assert_eq!(w.routes[2].kind, RouteKind::Unreachable);
        assert_eq!(w.neighbours[0].nud, Nud::Stale);
        assert!(!w.neighbours[1].nud.valid());
        assert_eq!(w.tunnel.as_ref().map(|t| (t.id, t.ttl)), Some((42, 9)));
    }

    #[test]
    fn errors_name_the_line() {
        let bad = [
            ("interface eth0\ninterface eth0", 2, "twice"),
            ("route 10.0.0.0/8", 1, "needs `via"),
            ("route 10.0.0.0/40 dev lo", 1, "prefix length"),
            ("neighbour 10.0.0.2 lladdr 02:00 dev lo", 1, "MAC"),
            ("neighbour 10.0.0.2 lladdr 02:00:00:00:00:01 dev nope", 1, "no interface"),
            ("interface eth0 index 1", 1, "taken"),
            ("frobnicate", 1, "unknown statement"),
            ("interface eth0 mtu 12", 1, "MTU"),
            ("interface eth0 index 4294967295", 1, "above"),
            ("interface a/b", 1, "no `/`"),
            ("route default via fd00::1 dev lo\nroute 10.0.0.0/8 via fd00::1", 2, "family"),
        ];
        for (text, line, what) in bad {
            let e = World::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}");
            assert!(e.reason.contains(what), "{text}: {}", e.reason);
        }
    }
}
