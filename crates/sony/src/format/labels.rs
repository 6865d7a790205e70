//! Label tables of enumerated properties (the names; the layouts behind them are in
//! `crate::values`).

pub(super) const WHITE_BALANCE: &[(u32, &str)] = &[
    (0x0001, "Manual"),
    (0x0002, "Auto"),
    (0x0003, "One-push auto"),
    (0x0004, "Daylight"),
    (0x0005, "Fluorescent"),
    (0x0006, "Incandescent"),
    (0x0007, "Flash"),
    (0x8001, "Fluorescent warm white"),
    (0x8002, "Fluorescent cool white"),
    (0x8003, "Fluorescent day white"),
    (0x8004, "Fluorescent daylight"),
    (0x8010, "Cloudy"),
    (0x8011, "Shade"),
    (0x8012, "Color temperature"),
    (0x8020, "Custom 1"),
    (0x8021, "Custom 2"),
    (0x8022, "Custom 3"),
    (0x8023, "Custom"),
    (0x8030, "Underwater auto"),
];

pub(super) const FOCUS_MODE: &[(u32, &str)] = &[
    (0x0001, "MF"),
    (0x0002, "AF-S"),
    (0x0003, "AF-Macro"),
    (0x8004, "AF-C"),
    (0x8005, "AF-A"),
    (0x8006, "DMF"),
    (0x8007, "MF-R"),
    (0x8008, "AF-D"),
    (0x8009, "Preset focus"),
];

pub(super) const METERING: &[(u32, &str)] = &[
    (0x0001, "Average"),
    (0x0002, "Center-weighted"),
    (0x0003, "Multi-spot"),
    (0x0004, "Center-spot"),
    (0x8001, "Multi"),
    (0x8002, "Center"),
    (0x8003, "Entire screen average"),
    (0x8004, "Spot"),
    (0x8005, "Spot large"),
    (0x8006, "Highlight"),
];

pub(super) const FLASH_MODE: &[(u32, &str)] = &[
    (0x0001, "Auto"),
    (0x0002, "Off"),
    (0x0003, "Fill"),
    (0x0004, "Auto red-eye"),
    (0x0005, "Red-eye fill"),
    (0x0006, "External sync"),
    (0x8001, "Slow sync"),
    (0x8003, "Rear sync"),
    (0x8004, "Wireless"),
    (0x8021, "HSS auto"),
    (0x8022, "HSS fill"),
    (0x8024, "HSS wireless"),
    (0x8031, "Slow sync red-eye on"),
    (0x8032, "Slow sync red-eye off"),
];

pub(super) const EXPOSURE_PROGRAM: &[(u32, &str)] = &[
    (0x0001, "M"),
    (0x0002, "P"),
    (0x0003, "A"),
    (0x0004, "S"),
    (0x0005, "Creative"),
    (0x0006, "Action"),
    (0x0007, "Portrait"),
    (0x8000, "iAuto"),
    (0x8001, "Superior auto"),
    (0x8011, "Sports"),
    (0x8012, "Sunset"),
    (0x8013, "Night scene"),
    (0x8014, "Landscape"),
    (0x8015, "Macro"),
    (0x8016, "Handheld twilight"),
    (0x8017, "Night portrait"),
    (0x8018, "Anti motion blur"),
    (0x8031, "Tele-zoom cont. priority AE"),
    (0x8032, "Tele-zoom cont. priority AE 2"),
    (0x8040, "3D"),
    (0x8041, "Sweep panorama"),
    (0x8050, "Movie P"),
    (0x8051, "Movie A"),
    (0x8052, "Movie S"),
    (0x8053, "Movie M"),
    (0x8054, "Movie scene"),
    (0x8059, "S&Q P"),
    (0x805A, "S&Q A"),
    (0x805B, "S&Q S"),
    (0x805C, "S&Q M"),
    (0x8060, "iAuto flash off"),
    (0x8070, "Picture effect"),
    (0x8080, "HFR P"),
    (0x8081, "HFR A"),
    (0x8082, "HFR S"),
    (0x8083, "HFR M"),
    (0x8084, "S&Q P 2"),
    (0x8085, "S&Q A 2"),
    (0x8086, "S&Q S 2"),
    (0x8087, "S&Q M 2"),
    (0x8088, "Movie"),
    (0x8089, "Still"),
];

pub(super) const DRIVE_MODE: &[(u32, &str)] = &[
    (0x0001, "Single"),
    (0x0002, "Cont. Hi"),
    (0x0003, "Timelapse"),
    (0x8003, "Self-timer 5s"),
    (0x8004, "Self-timer 10s"),
    (0x8005, "Self-timer 2s"),
    (0x8008, "Self-timer 10s x3"),
    (0x8009, "Self-timer 10s x5"),
    (0x800C, "Self-timer 5s x3"),
    (0x800D, "Self-timer 5s x5"),
    (0x800E, "Self-timer 2s x3"),
    (0x800F, "Self-timer 2s x5"),
    (0x8010, "Cont. Hi+"),
    (0x8011, "Cont. Hi Live"),
    (0x8012, "Cont. Lo"),
    (0x8013, "Cont."),
    (0x8014, "Cont. speed priority"),
    (0x8015, "Cont. Mid"),
    (0x8016, "Cont. Mid Live"),
    (0x8017, "Cont. Lo Live"),
    (0x8018, "WB bracket Lo"),
    (0x8028, "WB bracket Hi"),
    (0x8019, "DRO bracket Lo"),
    (0x8029, "DRO bracket Hi"),
    (0x801A, "LPF bracket"),
    (0x8040, "Focus bracket"),
];

pub(super) fn bracket_label(low: u16) -> Option<String> {
    let b = crate::values::DriveMode(u32::from(low)).bracket()?;
    let kind = if b.continuous { "cont." } else { "single" };
    Some(format!("Bracket {kind} {} x {} EV", b.frames, b.step))
}

pub(super) static COMPRESSION: &[(u32, &str)] = &[
    (0x01, "Light"),
    (0x02, "Standard"),
    (0x03, "Fine"),
    (0x04, "Extra fine"),
    (0x10, "RAW"),
    (0x11, "RAW+JPEG Light"),
    (0x12, "RAW+JPEG Standard"),
    (0x13, "RAW+JPEG Fine"),
    (0x14, "RAW+JPEG Extra fine"),
    (0x31, "HEIF Light"),
    (0x32, "HEIF Standard"),
    (0x33, "HEIF Fine"),
    (0x34, "HEIF Extra fine"),
    (0x41, "RAW+HEIF Light"),
    (0x42, "RAW+HEIF Standard"),
    (0x43, "RAW+HEIF Fine"),
    (0x44, "RAW+HEIF Extra fine"),
];

pub(super) const FILE_FORMAT: &[(u32, &str)] = &[
    (1, "RAW"),
    (2, "RAW+JPEG"),
    (3, "JPEG"),
    (4, "RAW+HEIF"),
    (5, "HEIF"),
];

pub(super) const JPEG_QUALITY: &[(u32, &str)] = &[
    (0, "n/a"),
    (1, "Extra fine"),
    (2, "Fine"),
    (3, "Standard"),
    (4, "Light"),
];

pub(super) const IMAGE_SIZE: &[(u32, &str)] = &[(1, "L"), (2, "M"), (3, "S")];

pub(super) const ASPECT_RATIO: &[(u32, &str)] = &[(1, "3:2"), (2, "16:9"), (3, "4:3"), (4, "1:1")];

pub(super) const FOCUS_INDICATION: &[(u32, &str)] = &[
    (1, "Not focused"),
    (2, "Focused"),
    (3, "Focus failed"),
    (5, "Tracking"),
    (6, "Tracking focused"),
    (7, "Tracking failed"),
    (8, "Unpaused"),
    (9, "Paused"),
];

pub(super) const BATTERY_INDICATOR: &[(u32, &str)] = &[
    (1, "Dummy"),
    (2, "Unusable"),
    (3, "Pre-end"),
    (4, "1/4"),
    (5, "2/4"),
    (6, "3/4"),
    (7, "4/4"),
    (8, "1/3"),
    (9, "2/3"),
    (10, "3/3"),
    (0x10, "USB power"),
];

pub(super) const SAVE_DESTINATION: &[(u32, &str)] =
    &[(0x01, "PC"), (0x10, "Camera"), (0x11, "PC+Camera")];

pub(super) const PRIORITY_KEY: &[(u32, &str)] = &[(0, "Camera"), (1, "PC remote")];

pub(super) const LIVE_VIEW_STATUS: &[(u32, &str)] = &[(0, "Unavailable"), (1, "Available")];

pub(super) const LIVE_VIEW_QUALITY: &[(u32, &str)] = &[(1, "Low"), (2, "High")];

pub(super) const MOVIE_STATE: &[(u32, &str)] = &[(0, "Not recording"), (1, "Recording")];

pub(super) const LOCK_INDICATION: &[(u32, &str)] = &[(1, "Unlocked"), (2, "Locked")];

pub(super) const BUTTON: &[(u32, &str)] = &[(1, "Released"), (2, "Pressed")];

pub(super) const ON_OFF_12: &[(u32, &str)] = &[(1, "Off"), (2, "On")];

pub(super) const SHUTTER_TYPE: &[(u32, &str)] =
    &[(1, "Auto"), (2, "Mechanical"), (3, "Electronic")];

pub(super) const LIVE_VIEW_EFFECT: &[(u32, &str)] = &[(1, "On"), (2, "Off")];

pub(super) const DRO: &[(u32, &str)] = &[
    (0x01, "Off"),
    (0x02, "DRO"),
    (0x10, "DRO+"),
    (0x11, "DRO Lv1"),
    (0x12, "DRO Lv2"),
    (0x13, "DRO Lv3"),
    (0x14, "DRO Lv4"),
    (0x15, "DRO Lv5"),
    (0x1F, "DRO Auto"),
    (0x20, "HDR Auto"),
    (0x21, "HDR 1.0 EV"),
    (0x22, "HDR 2.0 EV"),
    (0x23, "HDR 3.0 EV"),
    (0x24, "HDR 4.0 EV"),
    (0x25, "HDR 5.0 EV"),
    (0x26, "HDR 6.0 EV"),
];

pub(super) const FOCUS_AREA: &[(u32, &str)] = &[
    (0x001, "Wide"),
    (0x002, "Zone"),
    (0x003, "Center"),
    (0x101, "Flexible spot S"),
    (0x102, "Flexible spot M"),
    (0x103, "Flexible spot L"),
    (0x104, "Expand flexible spot"),
    (0x201, "Tracking wide"),
    (0x202, "Tracking zone"),
    (0x203, "Tracking center"),
    (0x204, "Tracking flexible spot S"),
    (0x205, "Tracking flexible spot M"),
    (0x206, "Tracking flexible spot L"),
    (0x207, "Tracking expand flexible spot"),
];

pub(super) const PC_SAVE_IMAGE_SIZE: &[(u32, &str)] = &[(1, "Original"), (2, "2M")];

pub(super) const PC_SAVE_IMAGE_FORMAT: &[(u32, &str)] = &[
    (0, "Disabled"),
    (1, "RAW+JPEG"),
    (2, "JPEG only"),
    (3, "RAW only"),
    (4, "RAW+HEIF"),
    (5, "HEIF only"),
];
