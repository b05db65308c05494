//! Output in bpftrace 0.17's format, byte for byte: map dumps (`print(@x)` and the dump at
//! exit), histograms, `printf`, `time()`/`strftime()`, and the `-f json` records.
//!
//! This module is pure: the runtime reads the maps and events, decodes them into
//! [`Value`]s and [`Agg`]s (resolving symbols, stacks, user names... itself), and hands them
//! here. Nothing here touches the kernel.
//!
//! - [`value`]: the value model, how one value prints (text and JSON), key orders.
//! - [`map`]: maps, `hist`/`lhist` bars, the bucket functions the code generator mirrors.
//! - [`printf`]: `printf` formatting and its type check.
//! - [`time`]: `time()` and `strftime()` (local time through the C library).
//!
//! **Bucket indexes** (the code generator must compute exactly these in BPF):
//! [`hist_bucket`] and [`lhist_bucket`].

pub mod map;
pub mod printf;
mod sort;
pub mod time;
pub mod value;

pub use map::{
    format_map, format_map_json, format_maps_at_exit, format_maps_at_exit_json, hist_bucket, lhist_bucket, Agg,
    MapDump, MapKind, PrintOpts, HIST_BUCKETS,
};
pub use printf::{check_printf, format_printf, ArgKind, PrintfError};
pub use time::{format_strftime, format_time};
pub use value::{json_escape, Stack, TextKind, Value};

/// Text (bpftrace's default) or `-f json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// The kinds of one-line messages bpftrace prints for events, as named in JSON's `"type"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Printf,
    Time,
    Join,
    Cat,
    Syscall,
}

impl MessageKind {
    fn json_name(self) -> &'static str {
        match self {
            MessageKind::Printf => "printf",
            MessageKind::Time => "time",
            MessageKind::Join => "join",
            MessageKind::Cat => "cat",
            MessageKind::Syscall => "syscall",
        }
    }
}

/// An event's text as bpftrace prints it: in text mode the text itself (plus a newline for
/// `join`, whose text does not end in one), in JSON `{"type": "printf", "data": "..."}` and a
/// newline. `printf` and `time` texts are printed as they are, with no newline added.
pub fn format_message(kind: MessageKind, text: &str, format: Format) -> String {
    match format {
        Format::Text if kind == MessageKind::Join => format!("{text}\n"),
        Format::Text => text.to_string(),
        Format::Json => format!("{{\"type\": \"{}\", \"data\": \"{}\"}}\n", kind.json_name(), json_escape(text)),
    }
}

/// `join(arr, delim)`'s event: the strings joined by `delim` (bpftrace's default is `" "`).
pub fn format_join(parts: &[String], delim: &str, format: Format) -> String {
    format_message(MessageKind::Join, &parts.join(delim), format)
}

/// The line bpftrace prints once the probes are attached: `Attaching 1 probe...` /
/// `Attaching 3 probes...`, or `{"type": "attached_probes", "data": {"probes": 3}}`.
pub fn format_attached_probes(probes: u64, format: Format) -> String {
    match format {
        Format::Text if probes == 1 => "Attaching 1 probe...\n".to_string(),
        Format::Text => format!("Attaching {probes} probes...\n"),
        Format::Json => {
            format!("{{\"type\": \"attached_probes\", \"data\": {{\"probes\": {probes}}}}}\n")
        }
    }
}

/// Lost perf events: `Lost 5 events` or `{"type": "lost_events", "data": {"events": 5}}`.
pub fn format_lost_events(lost: u64, format: Format) -> String {
    match format {
        Format::Text => format!("Lost {lost} events\n"),
        Format::Json => format!("{{\"type\": \"lost_events\", \"data\": {{\"events\": {lost}}}}}\n"),
    }
}

/// `print(value)` of a non-map value: `5\n`, or `{"type": "value", "data": 5}\n`.
pub fn format_value(value: &Value, format: Format) -> String {
    match format {
        Format::Text => format!("{}\n", value.text(1)),
        Format::Json => format!("{{\"type\": \"value\", \"data\": {}}}\n", value.json(1)),
    }
}
