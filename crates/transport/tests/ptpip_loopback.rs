//! PTP/IP over real loopback TCP: sonyctl's client against the simulated camera's server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::time::Duration;

use sonyctl_ptp::{
    Codec, DeviceInfo, ObjectInfo, Operation, OperationCode, Params, PropertyCode, ResponseCode,
    Value,
};
use sonyctl_sim::{Fault, Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::values::PendingImages;
use sonyctl_sony::{AllPropInfo, SdioRequest, SdioVersion, SonyEvent};
use sonyctl_transport::{
    ConnectOptions, PtpIpClient, PtpIpServer, ServerOptions, Transport, TransportError,
};

const MAX: u64 = 64 << 20;

async fn serve(model: &str, faults: &[Fault], acts: &[&str]) -> SocketAddr {
    let options = SimOptions {
        faults: faults.iter().copied().collect(),
        actions: acts.iter().map(|a| a.parse().unwrap()).collect(),
        ..SimOptions::default()
    };
    let camera = SimulatedCamera::new(Profile::builtin(model).unwrap(), options);
    let server = PtpIpServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        camera,
        ServerOptions {
            time_scale: 20.0,
            verbose: false,
        },
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    addr
}

struct Host {
    client: PtpIpClient,
    tid: u32,
}

impl Host {
    async fn connect(addr: SocketAddr) -> Host {
        let client = PtpIpClient::connect(addr, &ConnectOptions::default())
            .await
            .unwrap();
        Host { client, tid: 0 }
    }

    async fn op(
        &mut self,
        code: u16,
        params: &[u32],
        data: Option<&[u8]>,
    ) -> Result<(ResponseCode, Option<Vec<u8>>), TransportError> {
        let op = Operation {
            code: OperationCode(code),
            transaction_id: self.tid,
            params: Params::new(params).unwrap(),
        };
        self.tid += 1;
        let (r, d) = self.client.transact(&op, data, MAX).await?;
        Ok((r.code, d))
    }

    async fn ok(&mut self, code: u16, params: &[u32]) -> Option<Vec<u8>> {
        let (c, d) = self.op(code, params, None).await.unwrap();
        assert_eq!(c, ResponseCode::OK, "{code:#06x}");
        d
    }

    async fn sdio(&mut self, r: SdioRequest) -> ResponseCode {
        let op = r.operation(self.tid);
        self.tid += 1;
        self.client
            .transact(&op, r.data(), MAX)
            .await
            .unwrap()
            .0
            .code
    }

    async fn handshake(&mut self) {
        self.ok(0x1002, &[1]).await;
        self.ok(0x9201, &[1, 0, 0]).await;
        self.ok(0x9201, &[2, 0, 0]).await;
        self.ok(0x9202, &[300]).await;
        self.ok(0x9201, &[3, 0, 0]).await;
    }

    async fn pending(&mut self) -> u64 {
        let data = self.ok(0x9209, &[]).await.unwrap();
        let v = AllPropInfo::decode_any(&data, 0).unwrap();
        v.get(PropertyCode(0xD215))
            .unwrap()
            .current
            .as_u64()
            .unwrap()
    }

    async fn shoot(&mut self) {
        for (code, pressed) in [(0xD2C1, true), (0xD2C2, true)] {
            assert_eq!(
                self.sdio(SdioRequest::button(PropertyCode(code), pressed))
                    .await,
                ResponseCode::OK
            );
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        for (code, pressed) in [(0xD2C2, false), (0xD2C1, false)] {
            self.sdio(SdioRequest::button(PropertyCode(code), pressed))
                .await;
        }
        for _ in 0..200 {
            if PendingImages::from_raw(self.pending().await as u16).is_ready() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("no shot");
    }
}

#[tokio::test]
async fn handshake_settings_events_and_capture() {
    let addr = serve("ilce-7sm3", &[], &[]).await;
    let mut h = Host::connect(addr).await;
    assert_eq!(h.client.camera_name, "ILCE-7SM3");
    let di = DeviceInfo::decode_exact(&h.ok(0x1001, &[]).await.unwrap()).unwrap();
    assert_eq!(di.model, "ILCE-7SM3");
    h.handshake().await;
    let props = AllPropInfo::decode(&h.ok(0x9209, &[]).await.unwrap(), SdioVersion::V300).unwrap();
    assert_eq!(props.properties.len(), 320);

    assert_eq!(
        h.sdio(SdioRequest::set(PropertyCode(0xD21E), &Value::U32(800)).unwrap())
            .await,
        ResponseCode::OK
    );
    let mut saw = false;
    for _ in 0..50 {
        if let Some(ev) = h.client.next_event(Duration::from_millis(100)).await {
            if SonyEvent::from_event(&ev)
                == (SonyEvent::PropertyChanged {
                    property: Some(PropertyCode(0xD21E)),
                })
            {
                saw = true;
                break;
            }
        }
    }
    assert!(saw, "0xC203 for ISO on the event connection");

    h.shoot().await;
    let info = ObjectInfo::decode_exact(&h.ok(0x1008, &[0xFFFF_C001]).await.unwrap()).unwrap();
    // Stream the file: pieces arrive in order and add up to the announced size.
    let op = Operation {
        code: OperationCode(0x1009),
        transaction_id: 1000,
        params: Params::new(&[0xFFFF_C001]).unwrap(),
    };
    let mut size = 0;
    let mut bytes = Vec::new();
    let resp = h
        .client
        .transact_streaming(
            &op,
            None,
            MAX,
            &mut |n| {
                size = n;
                Ok(())
            },
            &mut |p| {
                bytes.extend_from_slice(p);
                Ok(())
            },
        )
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::OK);
    assert_eq!(
        (size, bytes.len() as u64),
        (u64::from(info.object_compressed_size), size)
    );
    assert!(bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9]));
}

#[tokio::test]
async fn a_cut_transfer_keeps_the_image_for_the_next_connection() {
    let addr = serve("ilce-7sm3", &[Fault::DisconnectMidData], &[]).await;
    let mut h = Host::connect(addr).await;
    h.handshake().await;
    h.shoot().await;
    let err = h.op(0x1009, &[0xFFFF_C001], None).await.unwrap_err();
    assert!(err.is_disconnect(), "{err}");
    drop(h);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut again = Host::connect(addr).await;
    again.handshake().await;
    assert_eq!(again.pending().await, 0x8001, "still waiting");
    let (code, data) = again.op(0x1009, &[0xFFFF_C001], None).await.unwrap();
    assert_eq!(code, ResponseCode::OK);
    assert!(data.unwrap().ends_with(&[0xFF, 0xD9]));
}

#[tokio::test]
async fn garbage_is_an_error_not_a_crash() {
    let addr = serve("ilce-6000", &[Fault::Garbage], &[]).await;
    let mut h = Host::connect(addr).await;
    h.handshake().await;
    let err = h.op(0x9209, &[], None).await.unwrap_err();
    assert!(matches!(err, TransportError::Decode(_)), "{err}");
}

#[tokio::test]
async fn unplug_ends_the_connection() {
    let addr = serve("ilce-6000", &[], &["0s:unplug"]).await;
    let mut h = Host::connect(addr).await;
    h.handshake().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = h.op(0x9209, &[], None).await.unwrap_err();
    assert!(err.is_disconnect(), "{err}");
}

#[tokio::test]
async fn limits_and_timeouts() {
    let addr = serve("ilce-7sm3", &[], &[]).await;
    let mut h = Host::connect(addr).await;
    h.handshake().await;
    let op = Operation {
        code: OperationCode(0x9209),
        transaction_id: 77,
        params: Params::NONE,
    };
    let err = h.client.transact(&op, None, 100).await.unwrap_err();
    assert!(
        matches!(err, TransportError::TooLarge(n, 100) if n > 9000),
        "{err}"
    );

    // A listener that accepts and never answers: the ack wait times out.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let options = ConnectOptions {
        ack_timeout: Duration::from_millis(200),
        ..ConnectOptions::default()
    };
    let err = PtpIpClient::connect(silent_addr, &options)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, TransportError::Timeout(..)), "{err}");
}

/// Probe Request is answered on the command connection, between transactions.
#[tokio::test]
async fn probe_is_answered() {
    use sonyctl_ptp::ptpip::Packet;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = serve("ilce-6000", &[], &[]).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let init = Packet::InitCommandRequest {
        guid: [1; 16],
        friendly_name: "probe".into(),
        protocol_version: 0x0001_0000,
    };
    s.write_all(&init.to_bytes().unwrap()).await.unwrap();
    let mut ack = vec![0u8; 4];
    s.read_exact(&mut ack).await.unwrap();
    let len = u32::from_le_bytes([ack[0], ack[1], ack[2], ack[3]]) as usize;
    ack.resize(len, 0);
    s.read_exact(&mut ack[4..]).await.unwrap();
    assert!(matches!(
        Packet::decode_exact(&ack).unwrap(),
        Packet::InitCommandAck { .. }
    ));
    s.write_all(&Packet::ProbeRequest.to_bytes().unwrap())
        .await
        .unwrap();
    let mut resp = [0u8; 8];
    s.read_exact(&mut resp).await.unwrap();
    assert_eq!(Packet::decode_exact(&resp).unwrap(), Packet::ProbeResponse);
}

/// Live view over PTP/IP: every frame sent has its age, taken when the server had written its
/// whole data phase.
#[tokio::test]
async fn live_view_frames_are_aged_when_written() {
    let camera = SimulatedCamera::new(
        Profile::builtin("ilce-7sm3").unwrap(),
        SimOptions::default(),
    );
    let server = PtpIpServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        camera,
        ServerOptions::default(),
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.camera();
    tokio::spawn(server.run());
    let mut h = Host::connect(addr).await;
    h.handshake().await;
    let mut frames = 0;
    for _ in 0..20 {
        let (code, data) = h.op(0x1009, &[0xFFFF_C002], None).await.unwrap();
        if code == ResponseCode::OK {
            let data = data.unwrap();
            sonyctl_sony::LiveViewFrame::decode(&data).unwrap();
            frames += 1;
        } else {
            assert_eq!(code, ResponseCode::ACCESS_DENIED);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The last answer is in: ask something else so its note has surely been taken.
    h.ok(0x1001, &[]).await;
    let stats = handle.with(|c| c.all_stats());
    let lv = &stats.last().unwrap().1.live_view;
    assert_eq!(lv.frames_sent, frames);
    assert_eq!(lv.get_object, 20);
    assert_eq!(lv.frame_ages.len() as u64, frames);
    // Polls at least 20 ms apart and frames 33 ms apart: a new frame every other poll at least.
    assert!(frames >= 10, "{frames} frames in 20 polls");
}
