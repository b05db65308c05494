//! Bytes the programs leave in maps and send as events, decoded into the values
//! [`crate::output`] prints. Pure: symbols and stacks are resolved through [`Resolver`].

use crate::codegen::{Compiled, EventKind, MapOut};
use crate::output::{Agg, MapDump, MapKind as OutKind, Stack, TextKind, Value};
use crate::types::{round8, MapDecl, MapKind, Ty};

/// Looks up what addresses, stack ids and uids mean (the runtime's job).
pub trait Resolver {
    fn ksym(&self, addr: u64) -> String;
    fn usym(&self, pid: u32, addr: u64) -> String;
    /// The frames of a stack id (`user`: a user stack of process `pid`).
    fn stack(&self, id: u32, user: bool, pid: u32) -> Vec<(u64, String)>;
    fn username(&self, uid: u32) -> String;
}

/// Resolves nothing: addresses print in hex, stacks are empty.
#[derive(Debug, Default)]
pub struct NoResolver;

impl Resolver for NoResolver {
    fn ksym(&self, addr: u64) -> String {
        format!("0x{addr:x}")
    }
    fn usym(&self, _pid: u32, addr: u64) -> String {
        format!("0x{addr:x}")
    }
    fn stack(&self, _id: u32, _user: bool, _pid: u32) -> Vec<(u64, String)> {
        Vec::new()
    }
    fn username(&self, uid: u32) -> String {
        uid.to_string()
    }
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(off..off + 8) {
        w.copy_from_slice(s);
    }
    u64::from_le_bytes(w)
}

/// One value of type `ty` at the start of `b`.
pub fn value(ty: &Ty, b: &[u8], res: &dyn Resolver) -> Value {
    match ty {
        Ty::Int { bits, signed } => {
            let v = u64_at(b, 0);
            if *signed {
                Value::Int(v as i64)
            } else if *bits < 64 {
                Value::UInt(v & ((1u64 << bits) - 1))
            } else {
                Value::UInt(v)
            }
        }
        Ty::Ptr { .. } => Value::UInt(u64_at(b, 0)),
        Ty::Str(n) => {
            let s = b.get(..(*n as usize).min(b.len())).unwrap_or(b);
            let s = &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())];
            Value::Str(String::from_utf8_lossy(s).into_owned())
        }
        Ty::Tuple(elems) => {
            let mut off = 0;
            let mut out = Vec::new();
            for t in elems {
                out.push(value(t, b.get(off..).unwrap_or(&[]), res));
                off += t.size() as usize;
            }
            Value::Tuple(out)
        }
        Ty::Ksym => {
            let a = u64_at(b, 0);
            Value::Ksym { addr: a, name: res.ksym(a) }
        }
        Ty::Usym => {
            let a = u64_at(b, 0);
            Value::Usym { addr: a, name: res.usym(0, a) }
        }
        Ty::Kstack | Ty::Ustack => {
            let v = u64_at(b, 0);
            let user = *ty == Ty::Ustack;
            let (id, pid) = ((v & 0xffff_ffff) as u32, (v >> 32) as u32);
            Value::Stack(Stack { id: v, perf: false, frames: res.stack(id, user, pid) })
        }
        Ty::Username => {
            let uid = u64_at(b, 0) as u32;
            Value::Text { kind: TextKind::Username, text: res.username(uid) }
        }
        Ty::Buf(_) => {
            let len = u64_at(b, 0) as usize;
            Value::Buf(b.get(8..8 + len).unwrap_or(&[]).to_vec())
        }
        Ty::Inet => {
            let af = u64_at(b, 0);
            let a = b.get(8..24).unwrap_or(&[0; 16]);
            let text = match af {
                2 => std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string(),
                10 => {
                    let mut w = [0u8; 16];
                    w.copy_from_slice(&a[..16]);
                    std::net::Ipv6Addr::from(w).to_string()
                }
                _ => String::new(),
            };
            Value::Text { kind: TextKind::Inet, text }
        }
        Ty::Void | Ty::Record { .. } => Value::Str(String::new()),
    }
}

/// A map's key arguments: a tuple key is several arguments (`@x[a, b]`), as bpftrace prints.
fn key_values(decl: &MapDecl, key: &[u8], res: &dyn Resolver) -> Vec<Value> {
    match &decl.key {
        None => Vec::new(),
        Some(Ty::Tuple(elems)) => match value(&Ty::Tuple(elems.clone()), key, res) {
            Value::Tuple(v) => v,
            v => vec![v],
        },
        Some(t) => vec![value(t, key, res)],
    }
}

/// A map's contents: `entries` as the kernel dumps them (per-CPU values concatenated,
/// each rounded to 8 bytes), reduced over CPUs and grouped (hist buckets by key).
pub fn map_dump(decl: &MapDecl, entries: &[(Vec<u8>, Vec<u8>)], res: &dyn Resolver) -> MapDump {
    let vsize = decl.kind.value_size() as usize;
    let stride = round8(vsize as u32) as usize;
    let per_cpu = |v: &[u8]| -> Vec<Vec<u8>> {
        if decl.kind.per_cpu() {
            v.chunks(stride).map(|c| c.to_vec()).collect()
        } else {
            vec![v.to_vec()]
        }
    };
    let mut out: Vec<(Vec<Value>, Agg)> = Vec::new();
    let key_len = decl.key.as_ref().map_or(8, Ty::size) as usize;
    for (k, v) in entries {
        let cpus = per_cpu(v);
        let keys = key_values(decl, k, res);
        let agg = match &decl.kind {
            MapKind::Scalar(t) => Agg::Scalar(value(t, v, res)),
            MapKind::Count => Agg::Count(cpus.iter().map(|c| u64_at(c, 0)).sum()),
            MapKind::Sum => Agg::Sum(cpus.iter().map(|c| u64_at(c, 0) as i64).fold(0i64, i64::wrapping_add)),
            MapKind::Min | MapKind::Max => {
                let set = cpus.iter().filter(|c| u64_at(c, 8) != 0).map(|c| u64_at(c, 0) as i64);
                let v = if decl.kind == MapKind::Min { set.min() } else { set.max() };
                if decl.kind == MapKind::Min {
                    Agg::Min(v.unwrap_or(0))
                } else {
                    Agg::Max(v.unwrap_or(0))
                }
            }
            MapKind::Avg | MapKind::Stats => {
                let count = cpus.iter().map(|c| u64_at(c, 0)).sum();
                let total = cpus.iter().map(|c| u64_at(c, 8) as i64).fold(0i64, i64::wrapping_add);
                if decl.kind == MapKind::Avg {
                    Agg::Avg { count, total }
                } else {
                    Agg::Stats { count, total }
                }
            }
            MapKind::Hist | MapKind::Lhist { .. } => {
                let bucket = u64_at(k, key_len) as i64;
                let n: u64 = cpus.iter().map(|c| u64_at(c, 0)).sum();
                let pos = out.iter().position(|(ok, _)| *ok == keys);
                let pair = (bucket, n);
                match (pos, &decl.kind) {
                    (Some(i), _) => {
                        match &mut out[i].1 {
                            Agg::Hist(c) | Agg::Lhist { counts: c, .. } => c.push(pair),
                            _ => {}
                        }
                        continue;
                    }
                    (None, MapKind::Lhist { min, max, step }) => {
                        Agg::Lhist { min: *min, max: *max, step: *step, counts: vec![pair] }
                    }
                    _ => Agg::Hist(vec![pair]),
                }
            }
        };
        out.push((keys, agg));
    }
    // bpftrace 0.17 prints a keyless count() map that holds nothing (never written, or
    // cleared) as `@x: 0`.
    if out.is_empty() && decl.key.is_none() && decl.kind == MapKind::Count {
        out.push((Vec::new(), Agg::Count(0)));
    }
    let kind = match decl.kind {
        MapKind::Scalar(_) => OutKind::Scalar,
        MapKind::Count => OutKind::Count,
        MapKind::Sum => OutKind::Sum,
        MapKind::Min => OutKind::Min,
        MapKind::Max => OutKind::Max,
        MapKind::Avg => OutKind::Avg,
        MapKind::Stats => OutKind::Stats,
        MapKind::Hist => OutKind::Hist,
        MapKind::Lhist { .. } => OutKind::Lhist,
    };
    MapDump { name: format!("@{}", decl.name), kind, entries: out }
}

/// A ring buffer record's header: (kind, index) and the payload after it.
pub fn event_header(data: &[u8]) -> Option<(u32, usize, &[u8])> {
    if data.len() < 8 {
        return None;
    }
    let h = u64_at(data, 0);
    Some(((h >> 32) as u32, (h & 0xffff_ffff) as usize, &data[8..]))
}

pub fn is_kind(kind: u32, k: EventKind) -> bool {
    kind == k as u32
}

/// The arguments of a printf-like record.
pub fn args(tys: &[Ty], mut payload: &[u8], res: &dyn Resolver) -> Vec<Value> {
    let mut out = Vec::new();
    for t in tys {
        out.push(value(t, payload, res));
        payload = payload.get(t.size() as usize..).unwrap_or(&[]);
    }
    out
}

/// The script's maps (not the internal ones) of a compiled script.
pub fn script_maps(c: &Compiled) -> impl Iterator<Item = (&MapOut, &MapDecl)> {
    c.maps.iter().filter_map(|m| m.decl.as_ref().map(|d| (m, d)))
}
