//! `info verifier`: what bpfbox's verifier proved about the registers at the current
//! pc (from its level-2 log, the kernel's format), beside the concrete values, and a
//! warning when a concrete scalar falls outside every state the verifier recorded
//! there: a verifier bug, or a run the verifier did not consider.

use std::collections::HashMap;

/// A register's abstract value, as far as it is checked here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abstract {
    /// A known constant.
    Const(u64),
    /// A scalar with bounds and a tnum (`None`: unbounded on that side).
    Scalar { umin: u64, umax: u64, smin: i64, smax: i64, tnum: Option<(u64, u64)> },
    /// A pointer or anything else: not checked.
    Other(String),
}

impl Abstract {
    /// Whether the concrete 64-bit value `v` fits this abstract value.
    pub fn admits(&self, v: u64) -> bool {
        match self {
            Abstract::Const(c) => *c == v,
            Abstract::Scalar { umin, umax, smin, smax, tnum } => {
                let s = v as i64;
                (*umin..=*umax).contains(&v)
                    && (*smin..=*smax).contains(&s)
                    && tnum.is_none_or(|(value, mask)| v & !mask == value)
            }
            Abstract::Other(_) => true,
        }
    }
}

fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => s.parse::<u64>().ok()?,
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parse one `Rn=...` value.
pub fn parse_value(text: &str) -> Abstract {
    if let Some(c) = number(text) {
        return Abstract::Const(c);
    }
    let Some(inner) = text.strip_prefix("scalar(").and_then(|r| r.strip_suffix(')')) else {
        return Abstract::Other(text.to_string());
    };
    let (mut umin, mut umax, mut smin, mut smax) = (0u64, u64::MAX, i64::MIN, i64::MAX);
    let mut tnum = None;
    // `var_off=(v; m)` holds a comma-free pair; split the rest on commas.
    let (fields, var_off) = match inner.split_once("var_off=(") {
        Some((a, b)) => (a.to_string(), b.split(')').next().map(str::to_string)),
        None => (inner.to_string(), None),
    };
    if let Some(vo) = var_off {
        if let Some((v, m)) = vo.split_once(';') {
            if let (Some(v), Some(m)) = (number(v), number(m)) {
                tnum = Some((v, m));
            }
        }
    }
    for f in fields.split(',') {
        // `smin=smin32=0`: every name before the value gets it.
        let parts: Vec<&str> = f.split('=').collect();
        let Some(v) = parts.last().and_then(|v| number(v)) else { continue };
        for name in &parts[..parts.len().saturating_sub(1)] {
            match *name {
                "umin" => umin = v,
                "umax" => umax = v,
                "smin" => smin = v as i64,
                "smax" => smax = v as i64,
                _ => {}
            }
        }
    }
    Abstract::Scalar { umin, umax, smin, smax, tnum }
}

/// A recorded state: the frame and its registers' values as the log writes them.
pub type State = (usize, HashMap<u8, String>);

/// The register states of a log line's state part: `R1=... R7=pkt(r=34) fp-8=...`,
/// optionally after `frameN: `. Returns (frame, register -> text).
fn parse_state(s: &str) -> State {
    let mut frame = 0;
    let mut regs = HashMap::new();
    let mut rest = s.trim();
    if let Some(r) = rest.strip_prefix("frame") {
        if let Some((n, r)) = r.split_once(": ") {
            frame = n.parse().unwrap_or(0);
            rest = r;
        }
    }
    // Tokens separated by spaces outside parentheses.
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = rest.as_bytes();
    let mut tokens = Vec::new();
    for (i, c) in bytes.iter().enumerate() {
        match c {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b' ' if depth == 0 => {
                tokens.push(&rest[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    tokens.push(&rest[start..]);
    for t in tokens {
        let Some((name, value)) = t.split_once('=') else { continue };
        let name = name.trim_end_matches("_w");
        if let Some(n) = name.strip_prefix('R').and_then(|n| n.parse::<u8>().ok()) {
            regs.insert(n, value.to_string());
        }
    }
    (frame, regs)
}

/// The states the log records *before* instruction `pc`: full states printed at `pc`
/// (`pc: R1=...`), those branches and returns bring (`from X to pc: ...`; pruned ones
/// are within a state printed at `pc`) and the state after instruction `pc - 1` (its
/// `; R1=...` note; `lddw` is two slots). Each as (frame, registers); the lines too.
pub fn states_before(log: &str, pc: usize) -> (Vec<String>, Vec<State>) {
    let mut lines = Vec::new();
    let mut states = Vec::new();
    for line in log.lines() {
        // `from 50 to 29: R0=...`: the state a branch or a return brings to 29.
        if let Some((from, rest)) = line.strip_prefix("from ").and_then(|r| r.split_once(": ")) {
            let to = from.split_once(" to ").and_then(|(_, t)| t.trim().parse::<usize>().ok());
            if to == Some(pc) && rest != "safe" {
                lines.push(line.to_string());
                states.push(parse_state(rest));
            }
            continue;
        }
        let Some((n, rest)) = line.split_once(": ") else { continue };
        let Ok(n) = n.trim().parse::<usize>() else { continue };
        if n == pc && (rest.starts_with('R') || rest.starts_with("frame")) {
            lines.push(line.to_string());
            states.push(parse_state(rest));
        } else if (n + 1 == pc || n + 2 == pc) && rest.starts_with('(') {
            if n + 2 == pc && !rest.starts_with("(18)") {
                continue;
            }
            if let Some((_, st)) = rest.split_once("; ") {
                lines.push(line.to_string());
                states.push(parse_state(st));
            }
        } else if n == pc && rest.starts_with('(') {
            lines.push(line.to_string());
        }
    }
    (lines, states)
}

/// For each register the states mention at this depth: the concrete values that fall
/// outside every recorded state for it.
pub fn violations(states: &[State], frame: usize, regs: &[u64; 11]) -> Vec<(u8, u64, String)> {
    let mut by_reg: HashMap<u8, Vec<&String>> = HashMap::new();
    for (f, st) in states {
        if *f != frame {
            continue;
        }
        for (r, v) in st {
            by_reg.entry(*r).or_default().push(v);
        }
    }
    let mut out = Vec::new();
    for (r, vals) in by_reg {
        let Some(&v) = regs.get(usize::from(r)) else { continue };
        let abs: Vec<Abstract> = vals.iter().map(|t| parse_value(t)).collect();
        if abs.iter().all(|a| !matches!(a, Abstract::Other(_))) && !abs.iter().any(|a| a.admits(v)) {
            out.push((r, v, vals.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" | ")));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernels_scalar_notation() {
        let a = parse_value("scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))");
        assert_eq!(a, Abstract::Scalar { umin: 0, umax: 255, smin: 0, smax: 255, tnum: Some((0, 0xff)) });
        assert!(a.admits(17) && !a.admits(256));
        assert_eq!(parse_value("0xffffff80"), Abstract::Const(0xffff_ff80));
        assert_eq!(parse_value("-4"), Abstract::Const((-4i64) as u64));
        assert!(parse_value("pkt(r=34)").admits(12345));
        let even = parse_value("scalar(var_off=(0x0; 0xfe))");
        assert!(even.admits(4) && !even.admits(5));
        let (frame, regs) =
            parse_state("frame1: R1_w=scalar(id=3,smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0");
        assert_eq!(frame, 1);
        assert_eq!(regs[&10], "fp0");
        assert!(regs[&1].starts_with("scalar(id=3,"));
    }

    #[test]
    fn flags_values_outside_every_state() {
        let log = "12: (2d) if r1 > r9 goto pc+28     ; R1=pkt(r=34) R9=pkt_end()\n\
                   13: (71) r1 = *(u8 *)(r7 +23)       ; R1=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)) R7=pkt(r=34)\n\
                   14: R1=scalar(umax=3,var_off=(0x0; 0x3)) R10=fp0\n\
                   from 9 to 14: safe\n";
        let (lines, states) = states_before(log, 14);
        assert_eq!(lines.len(), 2);
        let (_, from) = states_before("from 50 to 29: R0=7 R10=fp0\n", 29);
        assert_eq!(from[0].1[&0], "7");
        let mut regs = [0u64; 11];
        regs[1] = 17;
        // 17 fits the fallthrough state (<= 255), not the other: no violation.
        assert!(violations(&states, 0, &regs).is_empty());
        regs[1] = 300;
        assert_eq!(violations(&states, 0, &regs).len(), 1);
        assert_eq!(violations(&states, 0, &regs)[0].0, 1);
    }
}
