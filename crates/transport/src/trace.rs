//! Recording raw traffic for bug reports (`sonyctl --trace FILE`).
//!
//! One record per container or packet: a comment line `# <time> <host→camera|camera→host>
//! <channel>`, then its bytes in hex, 16 to a line. `sonyctl decode` reads such a file back,
//! taking the comment lines as record boundaries. Very large packets (whole images) are recorded
//! up to `MAX_RECORDED` bytes, with a comment saying how much was left out.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes of one packet recorded at most.
pub const MAX_RECORDED: usize = 1 << 20;

/// Which way the bytes went.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the host to the camera.
    ToCamera,
    /// From the camera to the host.
    ToHost,
}

/// A shared trace file; cloning shares it.
#[derive(Clone)]
pub struct Trace(Arc<Mutex<Box<dyn Write + Send>>>);

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trace")
    }
}

fn timestamp() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

impl Trace {
    /// Records into `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Trace {
        Trace(Arc::new(Mutex::new(out)))
    }

    /// Writes one record. Errors writing the trace are ignored: a full disk must not stop the
    /// camera session it is recording.
    pub fn record(&self, direction: Direction, channel: &str, bytes: &[u8]) {
        self.record_part(direction, channel, bytes, bytes.len());
    }

    /// Writes one record of a packet `total` bytes long of which `bytes` are at hand.
    pub fn record_part(&self, direction: Direction, channel: &str, bytes: &[u8], total: usize) {
        let arrow = match direction {
            Direction::ToCamera => "host→camera",
            Direction::ToHost => "camera→host",
        };
        let kept = bytes.get(..MAX_RECORDED).unwrap_or(bytes);
        let mut text = format!("# {} {arrow} {channel}\n", timestamp());
        for line in kept.chunks(16) {
            let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            text.push_str(&hex.join(" "));
            text.push('\n');
        }
        if kept.len() < total {
            text.push_str(&format!(
                "# … {} more bytes of this packet not recorded\n",
                total - kept.len()
            ));
        }
        let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}
