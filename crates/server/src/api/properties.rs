//! `GET /cameras/{id}/properties`, `GET` and `PUT /cameras/{id}/properties/{name}`.
//!
//! Reads come from the service's snapshot of the camera's last read (never queued behind a
//! capture, never reaching the camera); a `PUT` goes through the service's set (by display
//! text, or by raw value) and answers with the property as the camera reports it once the
//! value is reached. Names are those `sonyctl set` takes (`iso`, `shutter`, `aperture`, `ev`,
//! `wb`, catalogue names, hex codes), resolved by `sonyctl_sony::codes::property_by_name`.

use std::borrow::Cow;

use axum::Json;
use axum::extract::State;
use serde::de::{self, Deserializer, Visitor};
use sonyctl_sony::PropertyReport;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{ApiJson, ApiPath, not_while_a_job_shoots};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_properties))
        .routes(routes!(get_property, set_property))
}

/// The longest display text a `PUT` takes.
const MAX_TEXT: usize = 64;

/// `{id}` and `{name}`: a camera and one of its properties.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PropertyPath {
    /// The camera's id.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,63}$", max_length = 64)]
    id: String,
    /// The property, as `sonyctl set` names it: an alias (`iso`, `shutter`, `aperture`, `ev`,
    /// `wb`, …), a catalogue name (`ShutterSpeed`, `FNumber`; case, `-` and `_` do not
    /// matter), or a hex code (`0xD21E`).
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$", max_length = 64, example = "iso")]
    name: String,
}

/// Every property.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PropertyList {
    /// One entry per property, as `sonyctl props --json` prints them.
    #[schema(value_type = Vec<PropertyReportSchema>)]
    properties: Vec<PropertyReport>,
}

/// One property as `sonyctl props --json` prints it (`sonyctl_sony::PropertyReport`).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = PropertyReport)]
pub(crate) struct PropertyReportSchema {
    /// The property code.
    #[schema(maximum = 65535)]
    code: u16,
    /// The public name, or null (the code then names it).
    name: Option<String>,
    /// The short names `sonyctl get/set` (and this API's `{name}`) accept for it, such as
    /// `iso` or `shutter`; left out when it has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["shutter", "shutter-speed"]))]
    aliases: Vec<String>,
    /// The PTP data type (`UINT16`, `STR`, …).
    datatype: String,
    /// The GetSet byte: 0 read-only, 1 settable, 0x81–0x84 a control.
    get_set: u8,
    /// The IsEnabled byte: 1 enabled, 0 disabled, 2 display-only.
    enabled: u8,
    /// True when the host can set it now with 0x9205.
    writable: bool,
    /// The current value, raw (a number, a string, or an array).
    current: serde_json::Value,
    /// The current value as displayed.
    display: String,
    /// The range, for a property with a range form.
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<RangeSchema>,
    /// The values settable now, for a property with an enumeration.
    #[serde(skip_serializing_if = "Option::is_none")]
    settable: Option<Vec<ShownSchema>>,
    /// Every value the property can take, for a property with an enumeration.
    #[serde(skip_serializing_if = "Option::is_none")]
    all: Option<Vec<ShownSchema>>,
}

/// A range form.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = PropertyRange)]
pub(crate) struct RangeSchema {
    /// The smallest value.
    min: ShownSchema,
    /// The largest value.
    max: ShownSchema,
    /// The step, raw.
    step: serde_json::Value,
}

/// A value both raw and as displayed.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ShownValue)]
pub(crate) struct ShownSchema {
    /// The raw value.
    value: serde_json::Value,
    /// As displayed.
    display: String,
}

/// A `PUT` of a property.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetRequest {
    /// The value: a string is display text as `sonyctl set` takes it (`"800"`, `"1/250"`,
    /// `"f/5.6"`, `"+0.7"`, `"daylight"`), a number the raw value as on the wire.
    value: PropertyValue,
}

/// Display text or a raw value.
#[derive(Debug, PartialEq)]
pub(crate) enum PropertyValue {
    /// Display text.
    Text(String),
    /// A raw value.
    Raw(i128),
}

impl<'de> serde::Deserialize<'de> for PropertyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PropertyValue, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PropertyValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "display text (a string of 1 to {MAX_TEXT} characters) or a raw value (an integer)"
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PropertyValue, E> {
                if s.trim().is_empty() || s.chars().count() > MAX_TEXT {
                    return Err(E::invalid_value(de::Unexpected::Str(s), &self));
                }
                Ok(PropertyValue::Text(s.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PropertyValue, E> {
                Ok(PropertyValue::Raw(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PropertyValue, E> {
                Ok(PropertyValue::Raw(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PropertyValue, E> {
                // 800.0 is 800; a fraction is no raw value.
                if v.fract() == 0.0 && v.abs() < 1.9e19 {
                    Ok(PropertyValue::Raw(v as i128))
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl utoipa::PartialSchema for PropertyValue {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("Display text, as `sonyctl set` takes it"))
                    .min_length(Some(1))
                    .max_length(Some(MAX_TEXT))
                    .pattern(Some("\\S")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .description(Some("The raw value, as on the wire"))
                    .minimum(Some(i64::MIN))
                    .maximum(Some(u64::MAX)),
            )
            .examples([serde_json::json!("800"), serde_json::json!(800)])
            .into()
    }
}

impl utoipa::ToSchema for PropertyValue {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PropertyValue")
    }
}

/// Every property, from the last read of the camera.
#[utoipa::path(
    get,
    path = "/cameras/{id}/properties",
    tag = "properties",
    params(crate::api::CameraPath),
    responses(
        (status = 200, description = "Every property", body = PropertyList),
        (status = 400, description = "A path parameter does not parse", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`: never read yet", body = ErrorBody),
    )
)]
pub(crate) async fn list_properties(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<crate::api::CameraPath>,
) -> Result<Json<PropertyList>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    let props = entry.service.cached_properties().ok_or_else(not_read)?;
    Ok(Json(PropertyList {
        properties: props
            .all
            .properties
            .iter()
            .map(PropertyReport::new)
            .collect(),
    }))
}

/// One property, from the last read of the camera.
#[utoipa::path(
    get,
    path = "/cameras/{id}/properties/{name}",
    tag = "properties",
    params(PropertyPath),
    responses(
        (status = 200, description = "The property", body = PropertyReportSchema),
        (status = 400, description = "A path parameter does not parse", body = ErrorBody),
        (status = 404, description = "`unknown_camera`, `unknown_property`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`: never read yet", body = ErrorBody),
    )
)]
pub(crate) async fn get_property(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<PropertyPath>,
) -> Result<Json<PropertyReport>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    let code = sonyctl_sony::codes::property_by_name(&path.name)
        .ok_or_else(|| unknown_property(&path.name))?;
    let props = entry.service.cached_properties().ok_or_else(not_read)?;
    let d = props
        .all
        .get(code)
        .ok_or_else(|| unknown_property(&path.name))?;
    Ok(Json(PropertyReport::new(d)))
}

/// Sets a property and answers once the camera reports the value.
#[utoipa::path(
    put,
    path = "/cameras/{id}/properties/{name}",
    tag = "properties",
    params(PropertyPath),
    request_body = SetRequest,
    responses(
        (status = 200, description = "The property as the camera reports it now", body = PropertyReportSchema),
        (status = 400, description = "`invalid_request`; `value_not_accepted` (with `settable`)", body = ErrorBody),
        (status = 404, description = "`unknown_camera`, `unknown_property`", body = ErrorBody),
        (status = 409, description = "`not_settable_now`, `read_only`, `busy` (a capture job shoots, or the camera stayed busy)", body = ErrorBody),
        (status = 415, description = "`invalid_request`: the body is not JSON", body = ErrorBody),
        (status = 502, description = "`camera_error`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`", body = ErrorBody),
    )
)]
pub(crate) async fn set_property(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<PropertyPath>,
    ApiJson(request): ApiJson<SetRequest>,
) -> Result<Json<PropertyReport>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    if sonyctl_sony::codes::property_by_name(&path.name).is_none() {
        return Err(unknown_property(&path.name));
    }
    not_while_a_job_shoots(&entry)?;
    let outcome = match &request.value {
        PropertyValue::Text(text) => entry.service.set(&path.name, text).await?,
        PropertyValue::Raw(raw) => entry.service.set_raw(&path.name, *raw).await?,
    };
    // The read that confirmed the value is in the snapshot before the set answers.
    if let Some(d) = entry
        .service
        .cached_properties()
        .and_then(|p| p.all.get(outcome.code).cloned())
    {
        return Ok(Json(PropertyReport::new(&d)));
    }
    let p = entry.service.get(&path.name).await?;
    Ok(Json(PropertyReport::new(&p.desc)))
}

fn unknown_property(name: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "unknown_property",
        format!(
            "the camera has no setting called {name:?}: try iso, shutter, aperture, ev, wb, a name \
             from GET …/properties, or a hex code"
        ),
    )
}

fn not_read() -> ApiError {
    ApiError::disconnected("the camera's settings have not been read yet; try again shortly")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(json: &str) -> Result<PropertyValue, String> {
        serde_json::from_str::<SetRequest>(json)
            .map(|r| r.value)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_string_is_text_and_a_number_raw() {
        assert_eq!(
            value(r#"{"value":"800"}"#),
            Ok(PropertyValue::Text("800".into()))
        );
        assert_eq!(value(r#"{"value":800}"#), Ok(PropertyValue::Raw(800)));
        assert_eq!(value(r#"{"value":-700}"#), Ok(PropertyValue::Raw(-700)));
        assert_eq!(value(r#"{"value":800.0}"#), Ok(PropertyValue::Raw(800)));
        assert_eq!(
            value(r#"{"value":18446744073709551615}"#),
            Ok(PropertyValue::Raw(u64::MAX.into()))
        );
        for bad in [
            r#"{"value":0.5}"#,
            r#"{"value":""}"#,
            r#"{"value":"  "}"#,
            r#"{"value":null}"#,
            r#"{"value":[1]}"#,
            r#"{"value":true}"#,
            r#"{}"#,
            r#"{"value":"800","more":1}"#,
        ] {
            assert!(value(bad).is_err(), "{bad}");
        }
        let long = format!(r#"{{"value":"{}"}}"#, "8".repeat(MAX_TEXT + 1));
        assert!(value(&long).is_err());
    }

    /// The schema names every field the Sony layer's report serialises.
    #[test]
    fn the_report_schema_is_the_reports_shape() {
        use sonyctl_ptp::{DataType, PropertyCode, Value};
        use sonyctl_sony::{Enabled, GetSet, SonyDevicePropDesc, SonyForm};
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(PropertyReportSchema::schema()).unwrap_or_default();
        let mut documented: Vec<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let d = SonyDevicePropDesc {
            code: PropertyCode(0xD21E),
            data_type: DataType::UINT32,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U32(0),
            current: Value::U32(800),
            form: SonyForm::Enumeration {
                settable: vec![Value::U32(800)],
                all: vec![Value::U32(800)],
            },
        };
        let mut served: Vec<String> = serde_json::to_value(PropertyReport::new(&d))
            .ok()
            .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
            .unwrap_or_default();
        served.push("range".into());
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
    }
}
