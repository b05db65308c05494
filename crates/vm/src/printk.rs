//! `bpf_trace_printk` / `bpf_trace_vprintk` / `bpf_snprintf` formatting with the
//! kernel's rules (`bpf_bprintf_prepare`, then `bstr_printf`):
//!
//! - the format is printable ASCII (or whitespace) up to its NUL;
//! - conversions: `%d %i %u %x %X` with `l`/`ll` (int, long, long long), `%c`,
//!   `%s` (followed by NUL, whitespace or punctuation), `%p` (`%pK %px %ps %pS
//!   %pB`: the raw address, since bpfbox has no kernel symbols nor pointer
//!   hashing), `%pks`/`%pus` (strings), `%pI4 %pi4 %pI6 %pi6` (addresses read
//!   from the pointer), `%%`; flags `0 + - space` and a width; no precision;
//! - more conversions than arguments is `-EINVAL`;
//! - a string or address that cannot be read prints as empty / zeros.

use crate::maps::Errno;

/// Reads program memory for `%s` and `%pI4`-style conversions.
pub(crate) trait Reader {
    /// The NUL-terminated string at `addr`, at most `max` bytes; `None` on a fault.
    fn string(&mut self, addr: u64, max: usize) -> Option<Vec<u8>>;
    /// `len` bytes at `addr`; `None` on a fault.
    fn bytes(&mut self, addr: u64, len: usize) -> Option<Vec<u8>>;
}

/// `MAX_BPRINTF_BUF`.
pub(crate) const MAX_BUF: usize = 1024;

#[derive(Default, Clone, Copy)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    width: usize,
}

fn pad(out: &mut Vec<u8>, s: &[u8], sp: Spec, numeric: bool) {
    let n = s.len();
    if n >= sp.width {
        out.extend_from_slice(s);
        return;
    }
    let fill = sp.width - n;
    if sp.left {
        out.extend_from_slice(s);
        out.extend(std::iter::repeat_n(b' ', fill));
    } else if sp.zero && numeric {
        // Zeros go after the sign.
        let (sign, digits) = match s.first() {
            Some(b'-' | b'+' | b' ') => s.split_at(1),
            _ => (&s[..0], s),
        };
        out.extend_from_slice(sign);
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend_from_slice(digits);
    } else {
        out.extend(std::iter::repeat_n(b' ', fill));
        out.extend_from_slice(s);
    }
}

fn is_print(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_punct(c: u8) -> bool {
    c.is_ascii_punctuation()
}

/// Format `fmt` (without its NUL) with `args`. Returns the text (not truncated).
pub(crate) fn format(fmt: &[u8], args: &[u64], mem: &mut dyn Reader) -> Result<Vec<u8>, Errno> {
    let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut n = 0usize;
    let mut i = 0usize;
    while i < fmt.len() {
        let c = fmt[i];
        if !(is_print(c) || is_space(c)) {
            return Err(Errno::EINVAL);
        }
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        if at(i + 1) == b'%' {
            out.push(b'%');
            i += 2;
            continue;
        }
        if n >= args.len() {
            return Err(Errno::EINVAL);
        }
        let arg = args[n];
        n += 1;
        i += 1;
        let mut sp = Spec::default();
        loop {
            match at(i) {
                b'0' => sp.zero = true,
                b'+' => sp.plus = true,
                b'-' => sp.left = true,
                b' ' => sp.space = true,
                _ => break,
            }
            i += 1;
        }
        if (b'1'..=b'9').contains(&at(i)) {
            while at(i).is_ascii_digit() {
                sp.width = sp.width.saturating_mul(10).saturating_add((at(i) - b'0') as usize);
                i += 1;
            }
        }
        match at(i) {
            b'p' => {
                let next = at(i + 1);
                if (next == b'k' || next == b'u') && at(i + 2) == b's' {
                    i += 3;
                    let after = at(i);
                    if after != 0 && !is_space(after) && !is_punct(after) {
                        return Err(Errno::EINVAL);
                    }
                    let s = mem.string(arg, MAX_BUF - 1).unwrap_or_default();
                    pad(&mut out, &s, sp, false);
                    continue;
                }
                if next == 0 || is_space(next) || is_punct(next) {
                    // Plain %p: raw address (the kernel prints a hashed value).
                    pad(&mut out, format!("{arg:016x}").as_bytes(), sp, true);
                    i += 1;
                    continue;
                }
                match next {
                    b'K' | b'x' => {
                        pad(&mut out, format!("{arg:016x}").as_bytes(), sp, true);
                        i += 2;
                    }
                    b's' | b'S' | b'B' => {
                        pad(&mut out, format!("{arg:#x}").as_bytes(), sp, false);
                        i += 2;
                    }
                    b'i' | b'I' if matches!(at(i + 2), b'4' | b'6') => {
                        let v4 = at(i + 2) == b'4';
                        let upper = next == b'I';
                        i += 3;
                        let len = if v4 { 4 } else { 16 };
                        let b = mem.bytes(arg, len).unwrap_or_else(|| vec![0; len]);
                        let s = if v4 {
                            if upper {
                                format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
                            } else {
                                format!("{:03}.{:03}.{:03}.{:03}", b[0], b[1], b[2], b[3])
                            }
                        } else if upper {
                            let compressed = at(i) == b'c';
                            if compressed {
                                i += 1;
                                let mut a = [0u8; 16];
                                a.copy_from_slice(&b);
                                std::net::Ipv6Addr::from(a).to_string()
                            } else {
                                b.chunks(2).map(|w| format!("{:02x}{:02x}", w[0], w[1])).collect::<Vec<_>>().join(":")
                            }
                        } else {
                            b.iter().map(|x| format!("{x:02x}")).collect()
                        };
                        pad(&mut out, s.as_bytes(), sp, false);
                    }
                    _ => return Err(Errno::EINVAL),
                }
            }
            b's' => {
                let after = at(i + 1);
                if after != 0 && !is_space(after) && !is_punct(after) {
                    return Err(Errno::EINVAL);
                }
                i += 1;
                let s = mem.string(arg, MAX_BUF - 1).unwrap_or_default();
                pad(&mut out, &s, sp, false);
            }
            b'c' => {
                i += 1;
                pad(&mut out, &[arg as u8], sp, false);
            }
            _ => {
                let mut bits = 32;
                if at(i) == b'l' {
                    bits = 64;
                    i += 1;
                }
                if at(i) == b'l' {
                    i += 1;
                }
                let conv = at(i);
                i += 1;
                let v = if bits == 32 { arg as u32 as u64 } else { arg };
                let s = match conv {
                    b'd' | b'i' => {
                        let x = if bits == 32 { v as u32 as i32 as i64 } else { v as i64 };
                        let sign = if x < 0 {
                            "-"
                        } else if sp.plus {
                            "+"
                        } else if sp.space {
                            " "
                        } else {
                            ""
                        };
                        format!("{sign}{}", x.unsigned_abs())
                    }
                    b'u' => v.to_string(),
                    b'x' => format!("{v:x}"),
                    b'X' => format!("{v:X}"),
                    _ => return Err(Errno::EINVAL),
                };
                pad(&mut out, s.as_bytes(), sp, true);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mem;
    impl Reader for Mem {
        fn string(&mut self, addr: u64, _max: usize) -> Option<Vec<u8>> {
            (addr == 0x1000).then(|| b"hello".to_vec())
        }
        fn bytes(&mut self, addr: u64, len: usize) -> Option<Vec<u8>> {
            (addr == 0x2000).then(|| (1..=len as u8).collect())
        }
    }

    fn f(fmt: &str, args: &[u64]) -> Result<String, Errno> {
        format(fmt.as_bytes(), args, &mut Mem).map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    #[test]
    fn integers() {
        assert_eq!(f("%d %i %u", &[(-5i64) as u64, 7, u64::MAX]).as_deref(), Ok("-5 7 4294967295"));
        assert_eq!(
            f("%ld %lu %llx %lX", &[(-5i64) as u64, u64::MAX, 255, 0xab]).as_deref(),
            Ok("-5 18446744073709551615 ff AB")
        );
        assert_eq!(
            f("[%5d|%-5d|%05d|%+d|% d]", &[42, 42, (-42i64) as u64, 1, 2]).as_deref(),
            Ok("[   42|42   |-0042|+1| 2]")
        );
        assert_eq!(f("%x", &[0x1_0000_00ff]).as_deref(), Ok("ff"), "int truncates");
        assert_eq!(f("100%%", &[]).as_deref(), Ok("100%"));
    }

    #[test]
    fn strings_chars_pointers() {
        assert_eq!(f("%s!", &[0x1000]).as_deref(), Ok("hello!"));
        assert_eq!(f("[%s]", &[0x9999]).as_deref(), Ok("[]"), "fault: empty");
        assert_eq!(f("%c%c", &[b'o' as u64, b'k' as u64]).as_deref(), Ok("ok"));
        assert_eq!(f("%pI4", &[0x2000]).as_deref(), Ok("1.2.3.4"));
        assert_eq!(f("%pi4", &[0x2000]).as_deref(), Ok("001.002.003.004"));
        assert_eq!(f("%pI6", &[0x2000]).as_deref(), Ok("0102:0304:0506:0708:090a:0b0c:0d0e:0f10"));
        assert_eq!(f("%px", &[0xdead]).as_deref(), Ok("000000000000dead"));
        assert_eq!(f("%p.", &[0xdead]).as_deref(), Ok("000000000000dead."));
    }

    #[test]
    fn kernel_refusals() {
        assert_eq!(f("%d %d", &[1]), Err(Errno::EINVAL), "more conversions than arguments");
        assert_eq!(f("%f", &[1]), Err(Errno::EINVAL));
        assert_eq!(f("%.2d", &[1]), Err(Errno::EINVAL), "no precision");
        assert_eq!(f("%hd", &[1]), Err(Errno::EINVAL));
        assert_eq!(f("%sx", &[0x1000]), Err(Errno::EINVAL), "%s must end the word");
        assert_eq!(f("%pZ", &[0]), Err(Errno::EINVAL));
        assert_eq!(f("\x01", &[]), Err(Errno::EINVAL), "unprintable");
    }
}
