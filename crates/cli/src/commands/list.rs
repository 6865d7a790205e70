//! `sonyctl list`: the Sony cameras on USB, with their mode and what to do about it.

use std::io::Write;

use anyhow::{Result, bail};
use clap::Args;

use crate::open::runtime;
use crate::text::sanitize;

/// Arguments of `list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// One JSON object per camera per line.
    #[arg(long)]
    json: bool,
}

/// `sonyctl list`: Sony cameras on USB, with their mode and what to do about it.
pub fn run(args: &ListArgs) -> Result<()> {
    use sonyctl_transport::UsbMode;
    let devices = sonyctl_transport::usb::list_sony()?;
    runtime()?.block_on(async {
        let mut out = std::io::stdout().lock();
        if devices.is_empty() && !args.json {
            writeln!(
                out,
                "no Sony camera on USB (a camera must be on, with USB Connection set to PC Remote)"
            )?;
        }
        for d in &devices {
            let (mode, model, advice) = match d.mode {
                UsbMode::MassStorage => (
                    "mass storage",
                    d.product.clone().unwrap_or_default(),
                    Some(crate::advice::SET_PC_REMOTE),
                ),
                UsbMode::Other => (
                    "not a camera interface",
                    d.product.clone().unwrap_or_default(),
                    None,
                ),
                UsbMode::StillImage => match probe(d).await {
                    Ok((model, true)) => ("PC Remote", model, None),
                    Ok((model, false)) => ("MTP", model, Some(crate::advice::SET_PC_REMOTE)),
                    Err(e) => {
                        let reason = crate::advice::describe(e.as_ref());
                        stderr_line!("sonyctl: {}:{}: {}", d.bus, d.address, sanitize(&reason));
                        (
                            "unknown (cannot open)",
                            d.product.clone().unwrap_or_default(),
                            None,
                        )
                    }
                },
            };
            let serial = d.serial.clone().unwrap_or_default();
            if args.json {
                let v = serde_json::json!({
                    "model": model, "serial": serial, "mode": mode,
                    "bus": d.bus, "address": d.address,
                    "vendor_id": d.vendor_id, "product_id": d.product_id,
                    "camera": format!("usb:{serial}"),
                });
                writeln!(out, "{v}")?;
            } else {
                writeln!(
                    out,
                    "{:<14} serial {:<34} {:<11} bus {:03} address {:03}{}",
                    sanitize(&model),
                    sanitize(&serial),
                    mode,
                    d.bus,
                    d.address,
                    advice.map(|a| format!("  ({a})")).unwrap_or_default()
                )?;
            }
        }
        Ok(())
    })
}

/// The model, and whether the camera offers Sony's remote operations (PC Remote) or not (MTP).
async fn probe(d: &sonyctl_transport::UsbDevice) -> Result<(String, bool)> {
    // A camera that does not answer must not hold `list` up for long.
    let options = sonyctl_transport::UsbOptions {
        io_timeout: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    let mut c = sonyctl_transport::UsbClient::open(d, &options).await?;
    let op = sonyctl_ptp::Operation {
        code: sonyctl_ptp::OperationCode::GET_DEVICE_INFO,
        transaction_id: 0,
        params: sonyctl_ptp::Params::NONE,
    };
    let mut data = Vec::new();
    let resp = c
        .transact_streaming(&op, None, 1 << 20, &mut |_| Ok(()), &mut |p| {
            data.extend_from_slice(p);
            Ok(())
        })
        .await?;
    if resp.code != sonyctl_ptp::ResponseCode::OK {
        bail!("GetDeviceInfo answered {:#06X}", resp.code.0);
    }
    use sonyctl_ptp::Codec;
    let info = sonyctl_ptp::DeviceInfo::decode_exact(&data)?;
    Ok((
        info.model.clone(),
        info.supports(sonyctl_sony::codes::op::SDIO_CONNECT),
    ))
}
