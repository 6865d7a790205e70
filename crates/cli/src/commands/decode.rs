//! `sonyctl decode`: bytes from a file or standard input (hex dump or raw binary) into a readable
//! table or one JSON object. Useful on its own for bug reports.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde_json::{Value as Json, json};
use sonyctl_ptp::container::{HEADER_LEN, UsbContainerHeader};
use sonyctl_ptp::ptpip::Packet;
use sonyctl_ptp::{
    Codec, ContainerKind, DecodeError, DeviceInfo, DevicePropDesc, Form, ObjectInfo, Reader,
    StorageInfo, UsbContainer,
};
use sonyctl_sony::codes::{describe, event_name, format_name, operation_name, response_name};
use sonyctl_sony::{
    AllPropInfo, ExtDeviceInfo, LiveViewFrame, SdioVersion, SonyEvent, format_value, property_name,
};

use crate::text::sanitize;

/// The largest input `decode` reads. PTP datasets are kilobytes; a decoded reply can take tens
/// of times its size in memory, so this bounds what a hostile file can cost.
const MAX_INPUT: u64 = 4 * 1024 * 1024;

/// What the bytes are.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// A USB container: header, then parameters or payload.
    Container,
    /// PTP/IP packets, back to back (never unwrapped as a USB container).
    Ptpip,
    /// GetDeviceInfo (0x1001) data.
    DeviceInfo,
    /// GetObjectInfo (0x1008) data.
    ObjectInfo,
    /// GetStorageInfo (0x1005) data.
    StorageInfo,
    /// A standard DevicePropDesc (0x1014, Sony's old 0x9203).
    PropDesc,
    /// Sony 0x9202 SDIO_GetExtDeviceInfo data.
    SonyExtDeviceInfo,
    /// Sony 0x9209 SDIO_GetAllExtDevicePropInfo data.
    SonyAllPropInfo,
    /// A live-view dataset (GetObject 0xFFFFC002).
    LiveView,
    /// An event (USB event container or PTP/IP event packet).
    Event,
    /// A Sony RAW file (ARW): body, size, kind, levels, CFA pattern, preview.
    Arw,
}

/// Protocol version for a 0x9209 reply.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Sdio {
    /// One enumeration list.
    #[value(name = "200")]
    V200,
    /// Two enumeration lists.
    #[value(name = "300")]
    V300,
}

/// Arguments of `sonyctl decode`.
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// What the bytes are; by default a file that starts as a TIFF is an ARW, and otherwise the
    /// USB container's operation code decides.
    #[arg(long = "as", value_enum)]
    kind: Option<Kind>,
    /// Layout of a 0x9209 reply; by default two lists (300) are tried, then one (200).
    #[arg(long, value_enum)]
    sdio: Option<Sdio>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Input file (hex dump or binary); `-` or nothing reads standard input.
    file: Option<PathBuf>,
}

/// What `decode` read: the bytes, and the text when it was a hex dump (trace files are text).
struct Input {
    bytes: Vec<u8>,
    text: String,
}

fn read_input(file: Option<&PathBuf>) -> Result<Input> {
    let (name, buf) = read_bounded(
        file,
        MAX_INPUT,
        ": decode reads PTP messages, not whole files",
    )?;
    if buf.is_empty() {
        bail!("{name} is empty");
    }
    // Text is a hex dump (binary PTP data always holds bytes below 0x20 that are not white
    // space); its mistakes are reported as such rather than decoded as binary.
    let text = std::str::from_utf8(&buf)
        .ok()
        .map(|t| t.strip_prefix('\u{feff}').unwrap_or(t));
    let is_text = text.is_some_and(|t| {
        t.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .all(|l| l.chars().all(|c| c.is_ascii_graphic() || c.is_whitespace()))
    });
    if let (true, Some(text)) = (is_text, text) {
        let bytes =
            sonyctl_ptp::hexdump::parse(text).with_context(|| format!("{name}: bad hex dump"))?;
        if bytes.is_empty() {
            bail!("{name} holds no hex digits");
        }
        return Ok(Input {
            bytes,
            text: text.to_string(),
        });
    }
    Ok(Input {
        bytes: buf,
        text: String::new(),
    })
}

/// One record of a `--trace` file.
struct TraceRecord {
    header: String,
    bytes: Vec<u8>,
    missing: u64,
}

/// Splits a `--trace` file into records: `None` if the text is not one.
fn trace_records(text: &str) -> Option<Vec<TraceRecord>> {
    let is_header = |l: &str| {
        l.starts_with("# ") && (l.contains(" host→camera ") || l.contains(" camera→host "))
    };
    if !text.lines().any(is_header) {
        return None;
    }
    let mut records: Vec<TraceRecord> = Vec::new();
    for line in text.lines() {
        if is_header(line) {
            records.push(TraceRecord {
                header: line.trim_start_matches("# ").to_string(),
                bytes: Vec::new(),
                missing: 0,
            });
        } else if let Some(rest) = line.strip_prefix("# … ") {
            if let (Some(r), Some(n)) = (records.last_mut(), rest.split_whitespace().next()) {
                r.missing = n.parse().unwrap_or(0);
            }
        } else if !line.trim_start().starts_with('#') {
            if let (Some(r), Ok(b)) = (records.last_mut(), sonyctl_ptp::hexdump::parse(line)) {
                r.bytes.extend(b);
            }
        }
    }
    Some(records)
}

/// Decodes every record of a trace: USB containers on the `usb` channel, PTP/IP packets on the
/// others.
fn write_trace(records: &[TraceRecord], json: bool, out: &mut dyn Write) -> Result<()> {
    let describe = |r: &TraceRecord| -> String {
        let usb = r.header.ends_with(" usb");
        let text = if usb {
            match UsbContainer::decode(&r.bytes) {
                Ok(c) => container_line(&c),
                Err(e) => format!("not a USB container: {e}"),
            }
        } else {
            match Packet::decode_exact(&r.bytes) {
                Ok(p) => sonyctl_sony::codes::describe_packet(&p),
                Err(_) if r.missing > 0 => {
                    let ty = r
                        .bytes
                        .get(4..8)
                        .and_then(|b| <[u8; 4]>::try_from(b).ok())
                        .map_or(0, u32::from_le_bytes);
                    format!(
                        "packet type {ty} ({} bytes recorded, {} left out of the trace)",
                        r.bytes.len(),
                        r.missing
                    )
                }
                Err(e) => format!("not a PTP/IP packet: {e}"),
            }
        };
        sanitize(&text)
    };
    if json {
        let recs: Vec<serde_json::Value> = records
            .iter()
            .map(|r| {
                let mut parts = r.header.split_whitespace();
                json!({
                    "time": parts.next(),
                    "direction": parts.next(),
                    "channel": parts.next(),
                    "length": r.bytes.len() as u64 + r.missing,
                    "description": describe(r),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &json!({ "kind": "trace", "records": recs }))?;
        out.write_all(b"\n")?;
    } else {
        writeln!(out, "{} record(s)", records.len())?;
        for r in records {
            writeln!(out, "{}  {}", r.header, describe(r))?;
        }
    }
    Ok(())
}

/// A container header that a person would recognise as one: a known container type and a code
/// in the range that type uses.
fn plausible_header(bytes: &[u8]) -> Option<UsbContainerHeader> {
    let h = UsbContainerHeader::decode(&mut Reader::new(bytes)).ok()?;
    let hi = h.code & 0xF000;
    let fits = match h.kind {
        ContainerKind::Command | ContainerKind::Data => matches!(hi, 0x1000 | 0x9000),
        ContainerKind::Response => matches!(hi, 0x2000 | 0xA000),
        ContainerKind::Event => matches!(hi, 0x4000 | 0xC000),
    };
    fits.then_some(h)
}

fn kind_for(container: &UsbContainer) -> Kind {
    match (container.kind, container.code) {
        (ContainerKind::Data, 0x1001) => Kind::DeviceInfo,
        (ContainerKind::Data, 0x1005) => Kind::StorageInfo,
        (ContainerKind::Data, 0x1008) => Kind::ObjectInfo,
        (ContainerKind::Data, 0x1014 | 0x9203) => Kind::PropDesc,
        (ContainerKind::Data, 0x9202) => Kind::SonyExtDeviceInfo,
        (ContainerKind::Data, 0x9209) => Kind::SonyAllPropInfo,
        (ContainerKind::Event, _) => Kind::Event,
        _ => Kind::Container,
    }
}

/// What one decode produced: a table for people and JSON for programs.
struct Rendered {
    text: String,
    json: Json,
}

/// The largest ARW file `decode --as arw` reads (a 61-megapixel uncompressed file is about
/// 125 MB).
const MAX_ARW: u64 = 512 * 1024 * 1024;

/// Runs `sonyctl decode`.
pub fn run(args: &DecodeArgs) -> Result<()> {
    // A file that starts as a TIFF is taken for an ARW without --as (a RAW file is far larger
    // than the PTP messages read otherwise); standard input is told apart after reading.
    let tiff_file = args.kind.is_none()
        && args
            .file
            .as_ref()
            .filter(|p| p.as_os_str() != "-")
            .and_then(|p| std::fs::File::open(p).ok())
            .and_then(|f| {
                let mut head = Vec::new();
                f.take(4).read_to_end(&mut head).ok()?;
                Some(is_tiff(&head))
            })
            .unwrap_or(false);
    if args.kind == Some(Kind::Arw) || tiff_file {
        let bytes = read_arw(args.file.as_ref())?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let rendered = render_arw(&bytes)?;
        if args.json {
            serde_json::to_writer_pretty(&mut out, &rendered.json)?;
            out.write_all(b"\n")?;
        } else {
            out.write_all(rendered.text.as_bytes())?;
        }
        out.flush()?;
        return Ok(());
    }
    let input = read_input(args.file.as_ref())?;
    if let Some(records) = trace_records(&input.text) {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        write_trace(&records, args.json, &mut out)?;
        out.flush()?;
        return Ok(());
    }
    let input = input.bytes;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    decode(&input, args.kind, args.sdio, args.json, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Decodes `input` and writes a table or (with `json`) one JSON object to `out`. Large outputs
/// (0x9209 replies, PTP/IP streams) are written as they are produced, so memory stays close to
/// the size of the decoded input.
fn decode(
    input: &[u8],
    kind: Option<Kind>,
    sdio: Option<Sdio>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    if kind == Some(Kind::Ptpip) {
        return write_ptpip(input, json, out);
    }
    // Unwrap a USB container whose length field is the input's length, or a data container
    // marked "until a short packet" (0xFFFFFFFF). Any other disagreement is reported, whatever
    // --as says: the bytes claim to be something they are not.
    let mut container = None;
    if let Some(h) = plausible_header(input) {
        if h.length as usize == input.len() {
            container = Some(UsbContainer::decode(input)?);
        } else if h.length == u32::MAX && h.kind == ContainerKind::Data {
            container = Some(UsbContainer {
                kind: h.kind,
                code: h.code,
                transaction_id: h.transaction_id,
                payload: input.get(HEADER_LEN..).unwrap_or(&[]).to_vec(),
            });
        } else {
            UsbContainer::decode(input)?;
        }
    }
    let kind = match (kind, &container) {
        (Some(k), _) => k,
        (None, Some(c)) => kind_for(c),
        (None, None) if is_tiff(input) => Kind::Arw,
        (None, None) => {
            if Packet::decode_stream(input).is_ok() {
                return write_ptpip(input, json, out);
            }
            bail!(
                "cannot tell what these {} bytes are (not a USB container, not PTP/IP packets); \
                 say it with --as KIND (container, ptpip, device-info, object-info, storage-info, \
                 prop-desc, sony-ext-device-info, sony-all-prop-info, live-view, event, arw)",
                input.len()
            );
        }
    };
    let (payload, base) = match &container {
        Some(c) => (&c.payload[..], HEADER_LEN),
        None => (input, 0),
    };
    let mut rendered = match kind {
        Kind::Container => match &container {
            Some(c) => render_container(c)?,
            None => {
                UsbContainer::decode(input)?;
                bail!("not a USB container")
            }
        },
        Kind::Ptpip => return write_ptpip(input, json, out),
        Kind::DeviceInfo => render_device_info(&exact::<DeviceInfo>(payload, base)?),
        Kind::ObjectInfo => render_object_info(&exact::<ObjectInfo>(payload, base)?),
        Kind::StorageInfo => render_storage_info(&exact::<StorageInfo>(payload, base)?),
        Kind::PropDesc => render_prop_desc(&exact::<DevicePropDesc>(payload, base)?),
        Kind::SonyExtDeviceInfo => render_ext_device_info(&exact::<ExtDeviceInfo>(payload, base)?),
        Kind::SonyAllPropInfo => {
            let (info, how) = match sdio {
                Some(Sdio::V200) => (
                    AllPropInfo::decode_at(payload, base, SdioVersion::V200)?,
                    "forced",
                ),
                Some(Sdio::V300) => (
                    AllPropInfo::decode_at(payload, base, SdioVersion::V300)?,
                    "forced",
                ),
                None => (AllPropInfo::decode_any(payload, base)?, "detected"),
            };
            return write_all_prop_info(&info, how, container.as_ref(), json, out);
        }
        Kind::LiveView => render_live_view(payload, base)?,
        Kind::Arw => render_arw(input)?,
        Kind::Event => match &container {
            Some(c) if c.kind == ContainerKind::Event => render_event(&c.to_event()?),
            _ => match Packet::decode_exact(input)? {
                Packet::Event {
                    code,
                    transaction_id,
                    params,
                } => render_event(&sonyctl_ptp::Event {
                    code,
                    transaction_id,
                    params,
                }),
                other => bail!("a PTP/IP {} packet, not an event", other.name()),
            },
        },
    };
    if let Some(c) = &container {
        if kind != Kind::Container {
            rendered.text = format!("{}\n{}", container_line(c), rendered.text);
            if let Json::Object(map) = &mut rendered.json {
                map.insert("container".into(), container_json(c));
            }
        }
    }
    if json {
        serde_json::to_writer_pretty(&mut *out, &rendered.json)?;
        out.write_all(b"\n")?;
    } else {
        out.write_all(rendered.text.as_bytes())?;
    }
    Ok(())
}

/// A whole ARW file (binary), bounded by [`MAX_ARW`].
fn read_arw(file: Option<&PathBuf>) -> Result<Vec<u8>> {
    Ok(read_bounded(file, MAX_ARW, "")?.1)
}

/// The bytes of `file` (standard input for none or `-`) and the name to use in messages, at
/// most `max` bytes: a longer input is refused ("larger than N MiB", then `why`).
fn read_bounded(file: Option<&PathBuf>, max: u64, why: &str) -> Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let (name, n) = match file.filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let n = f
                .take(max + 1)
                .read_to_end(&mut buf)
                .with_context(|| format!("cannot read {}", path.display()))?;
            (path.display().to_string(), n)
        }
        None => {
            let n = std::io::stdin()
                .lock()
                .take(max + 1)
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            ("standard input".to_string(), n)
        }
    };
    if n as u64 > max {
        bail!("{name} is larger than {} MiB{why}", max >> 20);
    }
    Ok((name, buf))
}

/// Whether `bytes` start with a TIFF header (`II*\0` or `MM\0*`), as ARW files do.
fn is_tiff(bytes: &[u8]) -> bool {
    matches!(bytes.get(..4), Some(b"II*\0" | b"MM\0*"))
}

/// What an ARW file says about itself (its structures only; the raster is not decoded).
fn render_arw(bytes: &[u8]) -> Result<Rendered> {
    let info = sonyctl_raw::identify(bytes).context("not an ARW file this decoder reads")?;
    if !info.make.eq_ignore_ascii_case("SONY") {
        bail!(
            "a TIFF file made by {:?}, not a Sony ARW",
            sanitize(&info.make)
        );
    }
    let preview = info.preview.clone().map(|r| {
        let size = bytes.get(r.clone()).and_then(sonyctl_raw::jpeg_dimensions);
        (r.len(), size)
    });
    let a = info.active;
    let preview_text = match preview {
        Some((len, Some((w, h)))) => format!("JPEG {w}x{h} ({len} bytes)"),
        Some((len, None)) => format!("JPEG ({len} bytes, size unknown)"),
        None => match &info.preview_problem {
            Some(why) => format!("unusable ({why})"),
            None => "none".to_string(),
        },
    };
    let (black_text, white_text) = match &info.levels {
        Ok(l) => (l.black.to_string(), l.white.to_string()),
        Err(why) => (format!("unknown ({why})"), "unknown".to_string()),
    };
    let text = format!(
        "ARW\n  Make              {}\n  Model             {}\n  Kind              {} ({} bits \
         per sample)\n  Raster            {}x{}\n  Active area       {}x{} at ({}, {})\n  \
         CFA pattern       {}\n  Black level       {}\n  White level       {}\n  \
         Preview           {}\n",
        sanitize(&info.make),
        sanitize(&info.model),
        info.kind.name(),
        info.bits_per_sample,
        info.raw_width,
        info.raw_height,
        a.width,
        a.height,
        a.x,
        a.y,
        info.cfa.name(),
        black_text,
        white_text,
        preview_text,
    );
    let json = json!({
        "kind": "arw",
        "arw": {
            "make": info.make,
            "model": info.model,
            "raw_kind": info.kind.name(),
            "bits_per_sample": info.bits_per_sample,
            "raw_width": info.raw_width,
            "raw_height": info.raw_height,
            "active": { "x": a.x, "y": a.y, "width": a.width, "height": a.height },
            "cfa": info.cfa.name(),
            "black_level": info.levels.as_ref().ok().map(|l| l.black),
            "white_level": info.levels.as_ref().ok().map(|l| l.white),
            "levels_problem": info.levels.as_ref().err().map(|e| e.to_string()),
            "preview_problem": info.preview_problem.as_ref().map(|e| e.to_string()),
            "preview": preview.map(|(len, size)| json!({
                "bytes": len,
                "width": size.map(|s| s.0),
                "height": size.map(|s| s.1),
            })),
        }
    });
    Ok(Rendered { text, json })
}

fn exact<T: Codec>(payload: &[u8], base: usize) -> Result<T, DecodeError> {
    let mut r = Reader::with_base(payload, base);
    let v = T::decode(&mut r)?;
    r.finish()?;
    Ok(v)
}

fn code_name(kind: ContainerKind, code: u16) -> String {
    match kind {
        ContainerKind::Command | ContainerKind::Data => describe(operation_name(code.into()), code),
        ContainerKind::Response => describe(response_name(code.into()), code),
        ContainerKind::Event => describe(event_name(code.into()), code),
    }
}

fn container_line(c: &UsbContainer) -> String {
    format!(
        "USB {:?} container: {} ({:#06X}), transaction {:#x}, {} payload byte(s)",
        c.kind,
        code_name(c.kind, c.code),
        c.code,
        c.transaction_id,
        c.payload.len()
    )
}

fn container_json(c: &UsbContainer) -> Json {
    json!({
        "type": c.kind,
        "code": c.code,
        "name": code_name(c.kind, c.code),
        "transaction_id": c.transaction_id,
        "payload_length": c.payload.len(),
    })
}

fn render_container(c: &UsbContainer) -> Result<Rendered> {
    let mut text = container_line(c) + "\n";
    let mut j = container_json(c);
    if c.kind != ContainerKind::Data {
        let params = match c.kind {
            ContainerKind::Command => c.to_operation()?.params,
            ContainerKind::Response => c.to_response()?.params,
            _ => c.to_event()?.params,
        };
        text += &format!(
            "parameters: {}\n",
            params
                .as_slice()
                .iter()
                .map(|p| format!("{p:#x}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Json::Object(map) = &mut j {
            map.insert("params".into(), json!(params.as_slice()));
        }
    } else {
        text += &format!("payload: {}\n", hex_preview(&c.payload, 64));
    }
    Ok(Rendered { text, json: j })
}

fn hex_preview(bytes: &[u8], max: usize) -> String {
    let mut s: Vec<String> = bytes.iter().take(max).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > max {
        s.push(format!("… ({} bytes)", bytes.len()));
    }
    s.join(" ")
}

fn write_ptpip(input: &[u8], json: bool, out: &mut dyn Write) -> Result<()> {
    let packets = Packet::decode_stream(input)?;
    if json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            kind: &'static str,
            count: usize,
            packets: &'a [Packet],
        }
        let doc = Doc {
            kind: "ptpip",
            count: packets.len(),
            packets: &packets,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")?;
        return Ok(());
    }
    writeln!(out, "{} PTP/IP packet(s)", packets.len())?;
    for p in &packets {
        writeln!(
            out,
            "{}",
            sanitize(&sonyctl_sony::codes::describe_packet(p))
        )?;
    }
    Ok(())
}

fn code_list<T: Copy>(
    items: &[T],
    raw: impl Fn(T) -> u16,
    name: impl Fn(T) -> Option<&'static str>,
) -> String {
    if items.is_empty() {
        return "(none)".into();
    }
    items
        .iter()
        .map(|&c| match name(c) {
            Some(n) => format!("{:#06X} {n}", raw(c)),
            None => format!("{:#06X}", raw(c)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn render_device_info(di: &DeviceInfo) -> Rendered {
    let mut text = String::from("DeviceInfo\n");
    let fields = [
        ("Manufacturer", di.manufacturer.clone()),
        ("Model", di.model.clone()),
        ("Firmware", di.device_version.clone()),
        ("Serial number", di.serial_number.clone()),
        ("PTP version", di.standard_version.to_string()),
        (
            "Vendor extension",
            format!(
                "{:#010x} v{} {:?}",
                di.vendor_extension_id, di.vendor_extension_version, di.vendor_extension_desc
            ),
        ),
        ("Functional mode", format!("{:#06x}", di.functional_mode)),
        (
            "Operations",
            code_list(&di.operations, |c| c.0, operation_name),
        ),
        ("Events", code_list(&di.events, |c| c.0, event_name)),
        (
            "Properties",
            code_list(&di.device_properties, |c| c.0, property_name),
        ),
        (
            "Capture formats",
            code_list(&di.capture_formats, |c| c.0, format_name),
        ),
        (
            "Image formats",
            code_list(&di.image_formats, |c| c.0, format_name),
        ),
    ];
    for (k, v) in fields {
        text += &format!("  {k:<17} {}\n", sanitize(&v));
    }
    Rendered {
        text,
        json: json!({ "kind": "device-info", "device_info": di }),
    }
}

fn render_object_info(oi: &ObjectInfo) -> Rendered {
    let text = format!(
        "ObjectInfo\n  Filename          {}\n  Format            {}\n  Size              {} bytes\n  \
         Image             {}x{} x{} bit\n  Thumbnail         {} ({} bytes, {}x{})\n  \
         Storage           {:#010x}\n  Parent            {:#010x}\n  Captured          {}\n  \
         Modified          {}\n  Keywords          {}\n",
        sanitize(&oi.filename),
        describe(format_name(oi.object_format), oi.object_format.0),
        oi.object_compressed_size,
        oi.image_pix_width,
        oi.image_pix_height,
        oi.image_bit_depth,
        describe(format_name(oi.thumb_format), oi.thumb_format.0),
        oi.thumb_compressed_size,
        oi.thumb_pix_width,
        oi.thumb_pix_height,
        oi.storage_id,
        oi.parent_object,
        sanitize(&oi.capture_date),
        sanitize(&oi.modification_date),
        sanitize(&oi.keywords),
    );
    Rendered {
        text,
        json: json!({ "kind": "object-info", "object_info": oi }),
    }
}

fn render_storage_info(si: &StorageInfo) -> Rendered {
    let text = format!(
        "StorageInfo\n  Description       {}\n  Label             {}\n  Type              {}\n  \
         Filesystem        {}\n  Access            {}\n  Capacity          {} bytes\n  \
         Free              {} bytes, {} images\n",
        sanitize(&si.storage_description),
        sanitize(&si.volume_label),
        si.storage_type,
        si.filesystem_type,
        si.access_capability,
        si.max_capacity,
        si.free_space_in_bytes,
        si.free_space_in_images,
    );
    Rendered {
        text,
        json: json!({ "kind": "storage-info", "storage_info": si }),
    }
}

fn render_prop_desc(d: &DevicePropDesc) -> Rendered {
    let show = |v| format_value(d.code, v);
    let form = match &d.form {
        Form::None => "(none)".to_string(),
        Form::Range { min, max, step } => format!("{} .. {} step {step}", show(min), show(max)),
        Form::Enumeration(vs) => vs.iter().map(show).collect::<Vec<_>>().join(", "),
    };
    let text = format!(
        "DevicePropDesc {} ({:#06X})\n  Type              {}\n  Access            {}\n  \
         Default           {}\n  Current           {}\n  Values            {}\n",
        describe(property_name(d.code), d.code.0),
        d.code.0,
        d.data_type,
        if d.get_set == 1 { "rw" } else { "ro" },
        sanitize(&show(&d.default)),
        sanitize(&show(&d.current)),
        sanitize(&form),
    );
    Rendered {
        text,
        json: json!({ "kind": "prop-desc", "prop_desc": d, "name": property_name(d.code) }),
    }
}

fn render_ext_device_info(e: &ExtDeviceInfo) -> Rendered {
    let text = format!(
        "Sony 0x9202 SDIO_GetExtDeviceInfo: protocol version {}\n  {} property codes: {}\n  \
         {} control codes: {}\n",
        e.version,
        e.properties.len(),
        code_list(&e.properties, |c| c.0, property_name),
        e.controls.len(),
        code_list(&e.controls, |c| c.0, sonyctl_sony::control_name),
    );
    let named = |codes: &[sonyctl_ptp::PropertyCode], name: fn(_) -> Option<&'static str>| {
        codes
            .iter()
            .map(|&c| json!({ "code": c.0, "name": name(c) }))
            .collect::<Vec<_>>()
    };
    Rendered {
        text,
        json: json!({
            "kind": "sony-ext-device-info",
            "version": e.version.0,
            "properties": named(&e.properties, property_name),
            "controls": named(&e.controls, sonyctl_sony::control_name),
        }),
    }
}

fn write_all_prop_info(
    info: &AllPropInfo,
    how: &str,
    container: Option<&UsbContainer>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    if json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            container: Option<Json>,
            kind: &'static str,
            sdio: u16,
            sdio_layout: &'a str,
            properties: crate::props::Reports<'a>,
        }
        let doc = Doc {
            container: container.map(container_json),
            kind: "sony-all-prop-info",
            sdio: info.version.0,
            sdio_layout: how,
            properties: crate::props::Reports(&info.properties),
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")?;
        return Ok(());
    }
    if let Some(c) = container {
        writeln!(out, "{}", container_line(c))?;
    }
    let layout = if info.version.has_two_lists() {
        "two enumeration lists"
    } else {
        "one enumeration list"
    };
    writeln!(
        out,
        "Sony 0x9209 SDIO_GetAllExtDevicePropInfo: {} properties, protocol {} layout ({layout}, {how})",
        info.properties.len(),
        info.version
    )?;
    out.write_all(crate::props::table(&info.properties).as_bytes())?;
    Ok(())
}

fn render_live_view(payload: &[u8], base: usize) -> Result<Rendered> {
    let lv = LiveViewFrame::decode(payload).map_err(|mut e| {
        e.offset += base;
        e
    })?;
    let jpeg = lv.jpeg(payload);
    let mut text = format!(
        "Live-view dataset\n  JPEG              at {:#x}, {} bytes to EOI (declared {}, {} bytes after EOI)\n",
        lv.jpeg_start,
        jpeg.len(),
        lv.image_size,
        (lv.image_size as usize).saturating_sub(jpeg.len()),
    );
    match &lv.focal_frames {
        Some(f) => {
            text += &format!(
                "  Focal frames      version {}.{:02}, {} group(s): {}\n",
                f.version / 100,
                f.version % 100,
                f.groups.len(),
                f.groups
                    .iter()
                    .map(|g| g.frames.len().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        None => text += "  Focal frames      (none)\n",
    }
    Ok(Rendered {
        text,
        json: json!({ "kind": "live-view", "live_view": lv }),
    })
}

fn render_event(ev: &sonyctl_ptp::Event) -> Rendered {
    let sony = SonyEvent::from_event(ev);
    let text = format!(
        "Event {} ({:#06X}), transaction {:#x}, params {:x?}\n  {}\n",
        describe(event_name(ev.code), ev.code.0),
        ev.code.0,
        ev.transaction_id,
        ev.params.as_slice(),
        sony.describe()
    );
    Rendered {
        text,
        json: json!({ "kind": "event", "event": ev, "name": event_name(ev.code), "meaning": sony }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arw_is_described_from_its_structures() {
        let spec = sonyctl_raw::ArwSpec {
            make: "SONY".into(),
            model: "ILCE-7SM3".into(),
            description: String::new(),
            software: String::new(),
            date_time: String::new(),
            kind: sonyctl_raw::RawKind::Uncompressed,
            bits_per_sample: 14,
            raw_width: 64,
            raw_height: 4,
            active: sonyctl_raw::Area {
                x: 1,
                y: 0,
                width: 62,
                height: 4,
            },
            black_level: 512,
            white_level: 16383,
            wb_rggb: [2400, 1024, 1024, 1700],
            tone_curve: [8000, 10400, 12900, 14100],
            // SOI, an SOF0 of 40 × 30, EOI.
            preview: vec![
                0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 30, 0, 40, 1, 1, 0x11, 0, 0xFF, 0xD9,
            ],
            padding: 0,
        };
        let file = sonyctl_raw::encode(spec.clone(), &[600; 256]).unwrap();
        let r = render_arw(&file).unwrap();
        for line in [
            "Model             ILCE-7SM3",
            "Kind              uncompressed (14 bits per sample)",
            "Active area       62x4 at (1, 0)",
            "CFA pattern       GRBG",
            "Black level       512",
            "Preview           JPEG 40x30 (17 bytes)",
        ] {
            assert!(r.text.contains(line), "{line} in {}", r.text);
        }
        assert_eq!(r.json["arw"]["preview"]["width"], 40);
        // Without --as, the TIFF header says it is an ARW.
        let mut out = Vec::new();
        decode(&file, None, None, false, &mut out).unwrap();
        assert!(String::from_utf8_lossy(&out).contains("Model             ILCE-7SM3"));
        // A TIFF from another maker is named as such.
        let other = sonyctl_raw::encode(
            sonyctl_raw::ArwSpec {
                make: "OTHER".into(),
                ..spec.clone()
            },
            &[600; 256],
        )
        .unwrap();
        let Err(err) = render_arw(&other) else {
            panic!("another maker's TIFF is not a Sony ARW");
        };
        assert!(format!("{err:#}").contains("not a Sony ARW"), "{err:#}");
        let Err(err) = render_arw(b"II*\0\x08\0\0\0") else {
            panic!("a TIFF without directories is not an ARW");
        };
        assert!(format!("{err:#}").contains("not an ARW"), "{err:#}");
    }

    #[test]
    fn plausibility_needs_matching_type_and_code() {
        let mut c = vec![12, 0, 0, 0, 1, 0, 0x01, 0x10, 0, 0, 0, 0];
        assert!(plausible_header(&c).is_some());
        c[7] = 0x50; // a command with a property code is not a container
        assert!(plausible_header(&c).is_none());
    }

    #[test]
    fn unknown_bytes_ask_for_a_kind() {
        let err = decode(&[1, 2, 3, 4, 5], None, None, false, &mut Vec::new())
            .err()
            .unwrap();
        assert!(err.to_string().contains("--as"), "{err}");
    }
}
