//! The host a program runs on: interfaces, routes, neighbours, the tunnel metadata
//! of the received packet and a connection-tracking table, which `bpf_fib_lookup`,
//! `bpf_check_mtu`, `bpf_skb_get_tunnel_key` and the conntrack kfuncs read. [`World::parse`] reads the text format below; the kernel
//! backend (`bpfbox-kernel`'s `netns`) builds a network namespace from the same
//! [`World`], so both sides answer from one host.
//!
//! # Format
//! One statement per line, `#` starts a comment; words as `ip(8)` writes them:
//!
//! ```text
//! interface eth0 index 2 mac 02:00:00:00:00:01 mtu 1500 addr 10.0.0.1/24 addr fd00::1/64
//! interface eth1 index 3 mac 02:00:00:00:01:01 addr 10.1.0.1/24 forwarding off
//! route 192.168.0.0/16 via 10.0.0.2 dev eth0 metric 5
//! route default via fd00::2 dev eth0
//! route blackhole 10.66.0.0/16      # also: unreachable, prohibit
//! neighbour 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent
//! tunnel id 42 remote 192.0.2.1 local 192.0.2.2 tos 0 ttl 64
//! ```
//!
//! `lo` (index 1, `127.0.0.1/8`, `::1/128`, MTU 65536) always exists. Without any
//! `interface` line the world has `eth0`: index 2, `02:00:00:00:00:01`, MTU 1500,
//! `10.0.0.1/24`, `fd00::1/64`. Interfaces are up and forward (IPv4 and IPv6) unless
//! `forwarding off`; an interface address gives the kernel's connected route (metric 0
//! for IPv4, 256 for IPv6) and local route. Routes default to metric 0 (IPv4) or 1024
//! (IPv6); `nud` is one of `permanent` (the default), `reachable`, `stale`, `delay`,
//! `probe`, `noarp`, `failed`, `incomplete`. `tunnel` is the tunnel key the received
//! packet came with (what `bpf_skb_get_tunnel_key` reads before the program sets one);
//! the kernel's test run cannot give a packet one, so it is bpfbox-only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;

/// A described host. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// `lo` first, then in file order.
    pub interfaces: Vec<Interface>,
    /// Routes of the main table, as written (connected routes are implied by addresses).
    pub routes: Vec<Route>,
    pub neighbours: Vec<Neighbour>,
    /// The received packet's tunnel metadata.
    pub tunnel: Option<TunnelKey>,
    /// The connection tracking table the conntrack kfuncs read and fill; it starts
    /// empty and keeps what programs insert across the runs of one runtime.
    pub conntrack: Conntrack,
}

/// A conntrack entry: its original-direction tuple as `struct bpf_sock_tuple` holds it
/// (addresses and ports in network order: 12 bytes for IPv4, 36 for IPv6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    pub l4proto: u8,
    pub zone: u16,
    pub tuple: Vec<u8>,
    pub timeout_ms: u32,
    /// In the table (`bpf_ct_insert_entry` succeeded); else allocated only.
    pub confirmed: bool,
}

impl Conn {
    /// The reply direction's tuple (addresses and ports swapped).
    pub fn reply(&self) -> Vec<u8> {
        reply_tuple(&self.tuple)
    }
}

/// `tuple` with source and destination swapped.
pub fn reply_tuple(tuple: &[u8]) -> Vec<u8> {
    let a = (tuple.len() - 4) / 2;
    [&tuple[a..2 * a], &tuple[..a], &tuple[2 * a + 2..], &tuple[2 * a..2 * a + 2]].concat()
}

/// Entries by handle (index); see [`World::conntrack`].
#[derive(Debug, Default)]
pub struct Conntrack {
    pub conns: Mutex<Vec<Conn>>,
}

impl Conntrack {
    pub fn snapshot(&self) -> Vec<Conn> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Clone for Conntrack {
    fn clone(&self) -> Self {
        Conntrack { conns: Mutex::new(self.snapshot()) }
    }
}

impl PartialEq for Conntrack {
    fn eq(&self, other: &Self) -> bool {
        self.snapshot() == other.snapshot()
    }
}

impl Eq for Conntrack {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub ifindex: u32,
    pub name: String,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub addrs: Vec<(IpAddr, u8)>,
    /// `net.ipv4.conf.<if>.forwarding` and `net.ipv6.conf.<if>.forwarding`.
    pub forwarding: bool,
}

/// `RTN_*` route types the lookups distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteKind,
    pub dst: IpAddr,
    pub prefix: u8,
    pub via: Option<IpAddr>,
    /// Output interface index (`dev`); for a gateway route without `dev`, the
    /// interface whose connected prefix holds the gateway.
    pub dev: Option<u32>,
    pub metric: u32,
}

/// `NUD_*` neighbour states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nud {
    Permanent,
    Reachable,
    Stale,
    Delay,
    Probe,
    Noarp,
    Failed,
    Incomplete,
}

impl Nud {
    /// `NUD_VALID`: the entry's address can be used.
    pub fn valid(self) -> bool {
        !matches!(self, Nud::Failed | Nud::Incomplete)
    }

    /// The word `ip neigh` uses.
    pub fn name(self) -> &'static str {
        match self {
            Nud::Permanent => "permanent",
            Nud::Reachable => "reachable",
            Nud::Stale => "stale",
            Nud::Delay => "delay",
            Nud::Probe => "probe",
            Nud::Noarp => "noarp",
            Nud::Failed => "failed",
            Nud::Incomplete => "incomplete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub addr: IpAddr,
    pub mac: [u8; 6],
    pub dev: u32,
    pub nud: Nud,
}

/// A received packet's tunnel key (`struct ip_tunnel_key`, as a collect_md tunnel
/// device fills it): `remote` is the outer source, `local` the outer destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelKey {
    pub id: u64,
    pub remote: IpAddr,
    pub local: IpAddr,
    pub tos: u8,
    pub ttl: u8,
    /// IPv6 flow label.
    pub label: u32,
}

/// A line of a world file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct WorldError {
    pub line: usize,
    pub reason: String,
}

/// What a route lookup found (`struct fib_result`, reduced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibResult {
    /// A unicast route: output interface, gateway, metric.
    Unicast {
        dev: u32,
        via: Option<IpAddr>,
        metric: u32,
    },
    Blackhole,
    Unreachable,
    Prohibit,
    /// A local or broadcast destination, or no route: not forwarded.
    NotForwarded,
}

impl Default for World {
    fn default() -> Self {
        World::with(Vec::new(), Vec::new(), Vec::new(), None)
    }
}

fn lo() -> Interface {
    Interface {
        ifindex: 1,
        name: "lo".into(),
        mac: [0; 6],
        mtu: 65536,
        addrs: vec![(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 8), (IpAddr::V6(Ipv6Addr::LOCALHOST), 128)],
        forwarding: true,
    }
}

fn eth0() -> Interface {
    Interface {
        ifindex: 2,
        name: "eth0".into(),
        mac: [2, 0, 0, 0, 0, 1],
        mtu: 1500,
        addrs: vec![
            (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24),
            (IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)), 64),
        ],
        forwarding: true,
    }
}

fn bits(a: IpAddr) -> (u128, u8) {
    match a {
        IpAddr::V4(v) => (u32::from(v) as u128, 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

/// Whether `a` is inside `net/prefix` (same family).
pub fn in_prefix(a: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let ((x, w), (n, w2)) = (bits(a), bits(net));
    if w != w2 || prefix > w {
        return false;
    }
    let shift = w - prefix;
    if shift >= w {
        return true;
    }
    (x >> shift) == (n >> shift)
}

impl World {
    fn with(
        mut interfaces: Vec<Interface>,
        routes: Vec<Route>,
        neighbours: Vec<Neighbour>,
        tunnel: Option<TunnelKey>,
    ) -> World {
        if interfaces.is_empty() {
            interfaces.push(eth0());
        }
        interfaces.insert(0, lo());
        World { interfaces, routes, neighbours, tunnel, conntrack: Conntrack::default() }
    }

    /// Parse the text format of the module documentation.
    pub fn parse(text: &str) -> Result<World, WorldError> {
        crate::world_parse::parse(text)
    }

    pub(crate) fn from_parts(
        interfaces: Vec<Interface>,
        routes: Vec<Route>,
        neighbours: Vec<Neighbour>,
        tunnel: Option<TunnelKey>,
    ) -> World {
        World::with(interfaces, routes, neighbours, tunnel)
    }

    pub fn interface(&self, ifindex: u32) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.ifindex == ifindex)
    }

    pub fn interface_named(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// The neighbour entry for `addr` on `dev`.
    pub fn neighbour(&self, dev: u32, addr: IpAddr) -> Option<&Neighbour> {
        self.neighbours.iter().find(|n| n.dev == dev && n.addr == addr)
    }

    /// Whether `addr` is a local or broadcast address (the local table).
    fn is_local(&self, addr: IpAddr) -> bool {
        self.interfaces.iter().any(|i| {
            i.addrs.iter().any(|&(a, p)| {
                if a == addr || (i.ifindex == 1 && in_prefix(addr, a, p)) {
                    return true;
                }
                // The kernel adds a broadcast route for the last address of an
                // IPv4 prefix shorter than /31.
                match (a, addr) {
                    (IpAddr::V4(a), IpAddr::V4(x)) if p < 31 => {
                        let host = u32::MAX >> p;
                        u32::from(x) == (u32::from(a) | host)
                    }
                    _ => false,
                }
            })
        }) || matches!(addr, IpAddr::V4(v) if v.is_multicast() || v.is_broadcast())
            || matches!(addr, IpAddr::V6(v) if v.is_multicast())
    }

    /// Routes of the main table: the connected prefixes of the interfaces' addresses,
    /// then the written ones.
    pub fn main_table(&self) -> Vec<Route> {
        let mut out = Vec::new();
        for i in self.interfaces.iter().filter(|i| i.ifindex != 1) {
            for &(a, p) in &i.addrs {
                let (x, w) = bits(a);
                let net = if p >= w { x } else { x & !(u128::MAX >> (128 - w as u32 + p as u32)) };
                let dst = match a {
                    IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(net as u32)),
                    IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(net)),
                };
                let metric = if a.is_ipv4() { 0 } else { 256 };
                out.push(Route { kind: RouteKind::Unicast, dst, prefix: p, via: None, dev: Some(i.ifindex), metric });
            }
        }
        out.extend(self.routes.iter().cloned());
        out
    }

    /// A route lookup for `dst`: the local table, then main; `direct`
    /// (`BPF_FIB_LOOKUP_DIRECT`): main only — which for IPv4 answers the same, as
    /// the kernel keeps IPv4's local table merged into main while there are no
    /// policy rules. `oif` restricts the routes to those leaving through that
    /// interface (IPv4's `BPF_FIB_LOOKUP_OUTPUT`).
    pub fn lookup(&self, dst: IpAddr, direct: bool, oif: Option<u32>) -> FibResult {
        if (!direct || dst.is_ipv4()) && self.is_local(dst) {
            return FibResult::NotForwarded;
        }
        let table = self.main_table();
        let best = table
            .iter()
            .filter(|r| in_prefix(dst, r.dst, r.prefix))
            .filter(|r| oif.is_none() || r.kind != RouteKind::Unicast || self.route_dev(r) == oif)
            .max_by(|a, b| a.prefix.cmp(&b.prefix).then(b.metric.cmp(&a.metric)));
        let Some(r) = best else { return FibResult::NotForwarded };
        match r.kind {
            RouteKind::Blackhole => FibResult::Blackhole,
            RouteKind::Unreachable => FibResult::Unreachable,
            RouteKind::Prohibit => FibResult::Prohibit,
            RouteKind::Unicast => match self.route_dev(r) {
                Some(dev) => FibResult::Unicast { dev, via: r.via, metric: r.metric },
                None => FibResult::NotForwarded,
            },
        }
    }

    /// The output interface of a route: its `dev`, or the interface whose
    /// connected prefix holds its gateway.
    pub fn route_dev(&self, r: &Route) -> Option<u32> {
        if r.dev.is_some() {
            return r.dev;
        }
        let gw = r.via?;
        self.interfaces.iter().find(|i| i.addrs.iter().any(|&(a, p)| in_prefix(gw, a, p))).map(|i| i.ifindex)
    }

    /// The preferred source address on `dev` for `family_v6`: its first address of
    /// that family (what `BPF_FIB_LOOKUP_SRC` reports).
    pub fn source_addr(&self, dev: u32, v6: bool) -> Option<IpAddr> {
        self.interface(dev)?.addrs.iter().map(|&(a, _)| a).find(|a| a.is_ipv6() == v6)
    }
}

/// One step of building a world in a network namespace (see [`World::host_setup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostStep {
    /// `ip ARGS...` run inside the namespace.
    Ip(Vec<String>),
    /// A sysctl of the namespace as its path under /proc/sys
    /// (`net/ipv4/conf/all/forwarding`: interface names may hold dots), and its value.
    Sysctl(String, String),
}

impl World {
    /// The `ip(8)` commands and sysctls that make a fresh network namespace this
    /// world: forwarding, `lo` up, each interface a veth (its peer `bbxpN`, index
    /// 1000000 + N, up so the link has carrier) with its index, MAC, MTU and
    /// addresses (IPv6 without DAD), then the routes and neighbours. The tunnel
    /// metadata has no equivalent (a test run cannot give a packet one).
    pub fn host_setup(&self) -> Vec<HostStep> {
        let ip = |args: Vec<String>| HostStep::Ip(args);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let sysctl = |k: String, v: &str| HostStep::Sysctl(k, v.to_string());
        let mut out = Vec::new();
        for fam in ["ipv4", "ipv6"] {
            for scope in ["all", "default"] {
                out.push(sysctl(format!("net/{fam}/conf/{scope}/forwarding"), "1"));
            }
        }
        out.push(ip(s(&["link", "set", "lo", "up"])));
        for i in self.interfaces.iter().filter(|i| i.ifindex != 1) {
            let (idx, peer, mac, mtu) =
                (i.ifindex.to_string(), format!("bbxp{}", i.ifindex), format_mac(&i.mac), i.mtu.to_string());
            let peer_idx = (1_000_000 + i.ifindex).to_string();
            out.push(ip(s(&[
                "link", "add", &i.name, "index", &idx, "address", &mac, "mtu", &mtu, "type", "veth", "peer", "name",
                &peer, "index", &peer_idx,
            ])));
            out.push(ip(s(&["link", "set", &peer, "up"])));
            out.push(ip(s(&["link", "set", &i.name, "up"])));
            if !i.forwarding {
                for fam in ["ipv4", "ipv6"] {
                    out.push(sysctl(format!("net/{fam}/conf/{}/forwarding", i.name), "0"));
                }
            }
            for &(a, p) in &i.addrs {
                let mut v = s(&["addr", "add", &format!("{a}/{p}"), "dev", &i.name]);
                if a.is_ipv6() {
                    v.push("nodad".into());
                }
                out.push(ip(v));
            }
        }
        let name = |ifindex: u32| self.interface(ifindex).map_or("lo".to_string(), |i| i.name.clone());
        for r in &self.routes {
            let mut v = s(&["route", "add"]);
            match r.kind {
                RouteKind::Unicast => {}
                RouteKind::Blackhole => v.push("blackhole".into()),
                RouteKind::Unreachable => v.push("unreachable".into()),
                RouteKind::Prohibit => v.push("prohibit".into()),
            }
            v.push(format!("{}/{}", r.dst, r.prefix));
            if let Some(g) = r.via {
                v.extend(["via".to_string(), g.to_string()]);
            }
            if let Some(d) = r.dev {
                v.extend(["dev".to_string(), name(d)]);
            }
            v.extend(["metric".to_string(), r.metric.to_string()]);
            out.push(ip(v));
        }
        for n in &self.neighbours {
            let mut v = s(&["neigh", "replace", &n.addr.to_string()]);
            if n.nud.valid() {
                v.extend(["lladdr".to_string(), format_mac(&n.mac)]);
            }
            v.extend(["dev".to_string(), name(n.dev), "nud".to_string(), n.nud.name().to_string()]);
            out.push(ip(v));
        }
        out
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(m: &[u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_are_lo_and_eth0() {
        let w = World::default();
        assert_eq!(w.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["lo", "eth0"]);
        assert_eq!(w.lookup(ip("10.0.0.7"), false, None), FibResult::Unicast { dev: 2, via: None, metric: 0 });
        assert_eq!(w.lookup(ip("10.0.0.1"), false, None), FibResult::NotForwarded);
        assert_eq!(w.lookup(ip("10.0.0.255"), false, None), FibResult::NotForwarded);
        assert_eq!(w.lookup(ip("8.8.8.8"), false, None), FibResult::NotForwarded);
        assert_eq!(w.lookup(ip("fd00::9"), false, None), FibResult::Unicast { dev: 2, via: None, metric: 256 });
        assert_eq!(w.lookup(ip("10.0.0.1"), true, None), FibResult::NotForwarded);
        assert_eq!(w.lookup(ip("fd00::1"), false, None), FibResult::NotForwarded);
        assert_eq!(w.lookup(ip("fd00::1"), true, None), FibResult::Unicast { dev: 2, via: None, metric: 256 });
    }

    #[test]
    fn host_setup_builds_the_same_host() {
        let w = World::parse(
            "interface eth0.5 index 7 mac 02:00:00:00:00:07 mtu 1400 addr 10.0.0.1/24 addr fd00::1/64 forwarding off\n\
             route blackhole 10.6.0.0/16\n\
             neighbour 10.0.0.2 dev eth0.5 nud failed",
        )
        .unwrap();
        let steps = w.host_setup();
        let ip = |s: &str| HostStep::Ip(s.split(' ').map(str::to_string).collect());
        let sysctl = |k: &str, v: &str| HostStep::Sysctl(k.into(), v.into());
        for want in [
            sysctl("net/ipv4/conf/all/forwarding", "1"),
            ip("link add eth0.5 index 7 address 02:00:00:00:00:07 mtu 1400 type veth peer name bbxp7 index 1000007"),
            sysctl("net/ipv4/conf/eth0.5/forwarding", "0"),
            ip("addr add fd00::1/64 dev eth0.5 nodad"),
            ip("route add blackhole 10.6.0.0/16 metric 0"),
            ip("neigh replace 10.0.0.2 dev eth0.5 nud failed"),
        ] {
            assert!(steps.contains(&want), "{want:?} not in {steps:?}");
        }
    }

    #[test]
    fn longest_prefix_then_lowest_metric() {
        let w = World::parse(
            "interface eth0 index 2 addr 10.0.0.1/24\n\
             route 10.5.0.0/16 via 10.0.0.2 metric 10\n\
             route 10.5.0.0/16 via 10.0.0.3 metric 5\n\
             route 10.5.5.0/24 via 10.0.0.4\n\
             route blackhole 10.6.0.0/16\n\
             route default via 10.0.0.254",
        )
        .unwrap();
        let uni = |via: &str, metric| FibResult::Unicast { dev: 2, via: Some(ip(via)), metric };
        assert_eq!(w.lookup(ip("10.5.1.1"), false, None), uni("10.0.0.3", 5));
        assert_eq!(w.lookup(ip("10.5.5.1"), false, None), uni("10.0.0.4", 0));
        assert_eq!(w.lookup(ip("10.6.0.1"), false, None), FibResult::Blackhole);
        assert_eq!(w.lookup(ip("1.2.3.4"), false, None), uni("10.0.0.254", 0));
        assert_eq!(w.lookup(ip("1.2.3.4"), false, Some(3)), FibResult::NotForwarded);
        assert!(in_prefix(ip("1.2.3.4"), ip("0.0.0.0"), 0));
        assert!(!in_prefix(ip("1.2.3.4"), ip("::"), 0));
    }
}
