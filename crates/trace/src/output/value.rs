//! One value as bpftrace prints it: in text, in JSON, as a map key, and the orders bpftrace
//! sorts map keys in.

use std::cmp::Ordering;

use super::printf::ArgKind;

/// A value decoded from map or event bytes. Symbols, stacks and the like arrive resolved:
/// the runtime does the lookups, this module only lays them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A signed integer of any width, sign-extended (`int8`..`int64`, pointers print as this too).
    Int(i64),
    /// An unsigned integer of any width (`uint8`..`uint64`).
    UInt(u64),
    /// A string, cut at its first NUL (invalid UTF-8 replaced by the runtime).
    Str(String),
    /// `buf()` bytes: printed with non-printable bytes as `\xNN`.
    Buf(Vec<u8>),
    /// A tuple: `(1, a)` in text, `[1,"a"]` in JSON.
    Tuple(Vec<Value>),
    /// `ksym()`: the address (orders hist keys) and the resolved text (`do_nanosleep`, `0x1`).
    Ksym { addr: u64, name: String },
    /// `usym()`: as [`Value::Ksym`].
    Usym { addr: u64, name: String },
    /// `kstack`/`ustack`.
    Stack(Stack),
    /// Other values the runtime resolves to text (`ntop()`, `username`, `probe`...).
    Text { kind: TextKind, text: String },
}

/// Which resolved-to-text type a [`Value::Text`] is: decides JSON quoting, the separator
/// between map entries and the type name in `printf` errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// `ntop()`: quoted in JSON; map entries are not separated by newlines (as bpftrace).
    Inet,
    /// `username`: quoted in JSON.
    Username,
    /// `probe`: quoted in JSON.
    Probe,
    /// `cgroup_path()`: quoted in JSON.
    CgroupPath,
    /// `strftime()`: NOT quoted in JSON (bpftrace 0.17 prints it bare).
    Timestamp,
    /// `macaddr()`: not quoted in JSON.
    MacAddress,
    /// `strerror()`: not quoted in JSON.
    Strerror,
}

/// A resolved stack. `id` is the stack id in the key (hist maps keyed by stacks are ordered
/// by it); `frames` are `(address, symbol with offset)`, innermost first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stack {
    pub id: u64,
    /// `kstack(perf)`: frames print as `\t<hex addr> <sym>`.
    pub perf: bool,
    pub frames: Vec<(u64, String)>,
}

/// Indentation of stack frames in a map value (bpftrace's `get_stack(..., 8)`).
pub(crate) const VALUE_STACK_INDENT: usize = 8;
/// Indentation of stack frames in a map key.
pub(crate) const KEY_STACK_INDENT: usize = 4;

impl Value {
    /// The text form of a map value, integers divided by `div` (1 for none).
    pub fn text(&self, div: u64) -> String {
        self.text_indent(div, VALUE_STACK_INDENT)
    }

    /// The text form of one map key argument (stacks indented by 4, as bpftrace does).
    pub fn key_text(&self) -> String {
        self.text_indent(1, KEY_STACK_INDENT)
    }

    fn text_indent(&self, div: u64, indent: usize) -> String {
        let div = div.max(1);
        match self {
            Value::Int(v) => v.wrapping_div(i64::try_from(div).unwrap_or(i64::MAX)).to_string(),
            Value::UInt(v) => (v / div).to_string(),
            Value::Str(s) => s.clone(),
            Value::Buf(b) => hex_format(b, true),
            Value::Tuple(items) => {
                let parts: Vec<String> = items.iter().map(|v| v.text_indent(div, indent)).collect();
                format!("({})", parts.join(", "))
            }
            Value::Ksym { name, .. } | Value::Usym { name, .. } => name.clone(),
            Value::Stack(stack) => stack.text(indent),
            Value::Text { text, .. } => text.clone(),
        }
    }

    /// The JSON form: numbers bare, strings and symbols quoted, tuples as arrays.
    pub fn json(&self, div: u64) -> String {
        match self {
            Value::Int(_) | Value::UInt(_) => self.text(div),
            Value::Tuple(items) => {
                let parts: Vec<String> = items.iter().map(|v| v.json(div)).collect();
                format!("[{}]", parts.join(","))
            }
            Value::Text { kind, text } if !kind.quoted_in_json() => text.clone(),
            _ => format!("\"{}\"", json_escape(&self.text(div))),
        }
    }

    /// What goes between two entries of a map of these values: bpftrace prints stacks,
    /// symbols and `ntop()` values with nothing between them (stacks end in a newline).
    pub(crate) fn entry_delimiter(&self) -> &'static str {
        match self {
            Value::Stack(_) | Value::Ksym { .. } | Value::Usym { .. } | Value::Text { kind: TextKind::Inet, .. } => "",
            _ => "\n",
        }
    }

    /// The kind the type checker calls this value, for `printf`.
    pub fn arg_kind(&self) -> ArgKind {
        match self {
            Value::Int(_) | Value::UInt(_) => ArgKind::Integer,
            Value::Str(_) => ArgKind::String,
            Value::Buf(_) => ArgKind::Buffer,
            Value::Tuple(_) => ArgKind::Tuple,
            Value::Ksym { .. } => ArgKind::Ksym,
            Value::Usym { .. } => ArgKind::Usym,
            Value::Stack(_) => ArgKind::Kstack,
            Value::Text { kind, .. } => match kind {
                TextKind::Inet => ArgKind::Inet,
                TextKind::Username => ArgKind::Username,
                TextKind::Probe => ArgKind::Probe,
                TextKind::CgroupPath => ArgKind::CgroupPath,
                TextKind::Timestamp => ArgKind::Timestamp,
                TextKind::MacAddress => ArgKind::MacAddress,
                TextKind::Strerror => ArgKind::Strerror,
            },
        }
    }

    fn variant_rank(&self) -> u8 {
        match self {
            Value::Int(_) | Value::UInt(_) => 0,
            Value::Str(_) => 1,
            Value::Buf(_) => 2,
            Value::Tuple(_) => 3,
            Value::Ksym { .. } => 4,
            Value::Usym { .. } => 5,
            Value::Stack(_) => 6,
            Value::Text { .. } => 7,
        }
    }

    /// The order of the key's bytes in the BPF map (little-endian integers compared byte by
    /// byte, strings NUL-padded): bpftrace walks hist/lhist/avg/stats maps in this order
    /// (a `std::map` keyed by the raw bytes) before sorting them by their totals.
    pub(crate) fn raw_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Tuple(a), Value::Tuple(b)) => cmp_lists(a, b, Value::raw_cmp),
            (Value::Str(a), Value::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::Buf(a), Value::Buf(b)) => (a.len() as u8, a).cmp(&(b.len() as u8, b)),
            (Value::Text { text: a, .. }, Value::Text { text: b, .. }) => a.cmp(b),
            _ => match (self.raw_word(), other.raw_word()) {
                (Some(a), Some(b)) => a.swap_bytes().cmp(&b.swap_bytes()),
                _ => self.variant_rank().cmp(&other.variant_rank()),
            },
        }
    }

    /// The 8-byte word a key stores for integers, symbols and stacks.
    fn raw_word(&self) -> Option<u64> {
        match self {
            Value::Int(v) => Some(*v as u64),
            Value::UInt(v) => Some(*v),
            Value::Ksym { addr, .. } | Value::Usym { addr, .. } => Some(*addr),
            Value::Stack(s) => Some(s.id),
            _ => None,
        }
    }

    /// bpftrace's `sort_by_key` for one key argument: integers as unsigned, strings by bytes,
    /// anything else is left where it is (`None`).
    pub(crate) fn key_arg_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            _ => match (self.int_bits(), other.int_bits()) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => None,
            },
        }
    }

    /// An integer's 64 bits (sign-extended for signed values).
    pub(crate) fn int_bits(&self) -> Option<u64> {
        match self {
            Value::Int(v) => Some(*v as u64),
            Value::UInt(v) => Some(*v),
            _ => None,
        }
    }
}

impl TextKind {
    fn quoted_in_json(self) -> bool {
        matches!(self, TextKind::Inet | TextKind::Username | TextKind::Probe | TextKind::CgroupPath)
    }
}

impl Stack {
    /// bpftrace's `get_stack`: a newline, then one frame per line.
    pub fn text(&self, indent: usize) -> String {
        let mut out = String::from("\n");
        for (addr, sym) in &self.frames {
            if self.perf {
                out.push_str(&format!("\t{addr:x} {sym}\n"));
            } else {
                out.push_str(&format!("{:indent$}{sym}\n", ""));
            }
        }
        out
    }
}

fn cmp_lists(a: &[Value], b: &[Value], cmp: fn(&Value, &Value) -> Ordering) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = cmp(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Compare two keys (lists of key arguments) in raw byte order.
pub(crate) fn raw_key_cmp(a: &[Value], b: &[Value]) -> Ordering {
    cmp_lists(a, b, Value::raw_cmp)
}

/// A buffer as bpftrace prints it: printable ASCII kept (when `keep_ascii`), every other byte
/// as `\xNN` (lowercase hex).
pub(crate) fn hex_format(bytes: &[u8], keep_ascii: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if keep_ascii && (0x20..0x7f).contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// bpftrace 0.17's JSON string escaping, quirks included: `"` `\` `\n` `\r` `\t` escaped,
/// other bytes below 0x20 as `\u00NN`, and every byte of 0x80 and above as `\uffffffNN`
/// (bpftrace sign-extends its `char`: `é` prints as `\uffffffc3\uffffffa9`).
pub fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0..=0x1f => out.push_str(&format!("\\u{b:04x}")),
            0x80..=0xff => out.push_str(&format!("\\u{:04x}", b as i8 as i32 as u32)),
            _ => out.push(char::from(b)),
        }
    }
    out
}
