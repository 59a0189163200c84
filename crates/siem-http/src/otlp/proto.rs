//! The OTLP logs messages this destination sends and reads, declared with prost's derive at
//! the official field numbers (opentelemetry-proto: `collector/logs/v1/logs_service.proto`,
//! `logs/v1/logs.proto`, `common/v1/common.proto`, `resource/v1/resource.proto`), and their
//! OTLP/JSON form. Fields this destination never sets (trace ids, flags, dropped counts,
//! schema URLs) are left out: receivers read them as unset.

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use prost::Message;
use serde_json::{json, Value as Json};

/// `ExportLogsServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ExportLogsServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_logs: Vec<ResourceLogs>,
}

/// `ResourceLogs`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ResourceLogs {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_logs: Vec<ScopeLogs>,
}

/// `Resource`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct Resource {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

/// `ScopeLogs`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ScopeLogs {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub log_records: Vec<LogRecord>,
}

/// `InstrumentationScope`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct InstrumentationScope {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub version: String,
}

/// `LogRecord`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct LogRecord {
    #[prost(fixed64, tag = "1")]
    pub time_unix_nano: u64,
    /// `SeverityNumber`, an enum: a varint on the wire.
    #[prost(int32, tag = "2")]
    pub severity_number: i32,
    #[prost(string, tag = "3")]
    pub severity_text: String,
    #[prost(message, optional, tag = "5")]
    pub body: Option<AnyValue>,
    #[prost(message, repeated, tag = "6")]
    pub attributes: Vec<KeyValue>,
    #[prost(string, tag = "12")]
    pub event_name: String,
}

/// `KeyValue`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `AnyValue`, with the scalar members of its `value` oneof.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct AnyValue {
    #[prost(oneof = "Scalar", tags = "1, 2, 3, 4")]
    pub value: Option<Scalar>,
}

/// The `value` oneof of `AnyValue`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum Scalar {
    #[prost(string, tag = "1")]
    String(String),
    #[prost(bool, tag = "2")]
    Bool(bool),
    #[prost(int64, tag = "3")]
    Int(i64),
    #[prost(double, tag = "4")]
    Double(f64),
}

/// `ExportLogsServiceResponse`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ExportLogsServiceResponse {
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportLogsPartialSuccess>,
}

/// `ExportLogsPartialSuccess`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ExportLogsPartialSuccess {
    #[prost(int64, tag = "1")]
    pub rejected_log_records: i64,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

impl AnyValue {
    pub fn string(value: impl Into<String>) -> AnyValue {
        AnyValue {
            value: Some(Scalar::String(value.into())),
        }
    }

    /// The OTLP/JSON form: `{"stringValue": …}`, 64-bit integers as decimal strings.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Some(Scalar::String(s)) => json!({ "stringValue": s }),
            Some(Scalar::Bool(b)) => json!({ "boolValue": b }),
            Some(Scalar::Int(n)) => json!({ "intValue": n.to_string() }),
            Some(Scalar::Double(f)) => json!({ "doubleValue": f }),
            None => json!({}),
        }
    }
}

impl KeyValue {
    pub fn new(key: impl Into<String>, value: AnyValue) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(value),
        }
    }

    pub fn to_json(&self) -> Json {
        json!({
            "key": self.key,
            "value": self.value.as_ref().map_or_else(|| json!({}), AnyValue::to_json),
        })
    }
}

impl LogRecord {
    /// The OTLP/JSON form (`timeUnixNano` as a decimal string, `severityNumber` as a number).
    pub fn to_json(&self) -> Json {
        json!({
            "timeUnixNano": self.time_unix_nano.to_string(),
            "severityNumber": self.severity_number,
            "severityText": self.severity_text,
            "eventName": self.event_name,
            "body": self.body.as_ref().map_or_else(|| json!({}), AnyValue::to_json),
            "attributes": self.attributes.iter().map(KeyValue::to_json).collect::<Vec<_>>(),
        })
    }

    /// Appends the record as one `log_records` member of a `ScopeLogs` (field 2).
    pub fn encode_as_member(&self, out: &mut Vec<u8>) {
        prost::encoding::message::encode(LOG_RECORDS, self, out);
    }

    /// The length of [`encode_as_member`](LogRecord::encode_as_member)'s bytes.
    pub fn member_len(&self) -> usize {
        prost::encoding::message::encoded_len(LOG_RECORDS, self)
    }
}

/// `ScopeLogs.log_records`.
const LOG_RECORDS: u32 = 2;

/// The bytes of one `ExportLogsServiceRequest` around its log records: one resource, one
/// scope. Records are encoded one by one as `ScopeLogs` members; [`Wrapper::wrap`] then adds
/// the nesting whose lengths depend on them.
pub(crate) struct Wrapper {
    /// `ResourceLogs.resource`, encoded.
    resource: Vec<u8>,
    /// `ScopeLogs.scope`, encoded.
    scope: Vec<u8>,
}

impl Wrapper {
    pub fn new(resource: Resource, scope: InstrumentationScope) -> Wrapper {
        let mut r = Vec::new();
        prost::encoding::message::encode(1, &resource, &mut r);
        let mut s = Vec::new();
        prost::encoding::message::encode(1, &scope, &mut s);
        Wrapper {
            resource: r,
            scope: s,
        }
    }

    /// The most bytes [`wrap`](Wrapper::wrap) adds to `records` of up to `max` bytes.
    pub fn overhead(&self, max: usize) -> usize {
        let scope_logs = self.scope.len() + max;
        let resource_logs = self.resource.len() + nested_len(scope_logs);
        nested_len(resource_logs) - max
    }

    /// `ExportLogsServiceRequest { resource_logs: [ { resource, scope_logs: [ { scope,
    /// <records> } ] } ] }` for `records`, log records encoded by
    /// [`LogRecord::encode_as_member`].
    pub fn wrap(&self, records: &[u8]) -> Vec<u8> {
        let scope_logs = self.scope.len() + records.len();
        let resource_logs = self.resource.len() + nested_len(scope_logs);
        let mut out = Vec::with_capacity(nested_len(resource_logs));
        open_field(1, resource_logs, &mut out); // ExportLogsServiceRequest.resource_logs
        out.extend_from_slice(&self.resource);
        open_field(2, scope_logs, &mut out); // ResourceLogs.scope_logs
        out.extend_from_slice(&self.scope);
        out.extend_from_slice(records);
        out
    }
}

/// The size of a length-delimited field (tag 1 or 2) holding `len` bytes.
fn nested_len(len: usize) -> usize {
    key_len(1) + encoded_len_varint(len as u64) + len
}

fn open_field(tag: u32, len: usize, out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(message: &str) -> LogRecord {
        LogRecord {
            time_unix_nano: 1,
            severity_number: 9,
            body: Some(AnyValue::string(message)),
            ..LogRecord::default()
        }
    }

    #[test]
    fn wrapped_members_decode_as_one_request() {
        let wrapper = Wrapper::new(
            Resource {
                attributes: vec![KeyValue::new("service.name", AnyValue::string("s"))],
            },
            InstrumentationScope {
                name: "tracing-siem".into(),
                version: "0.1.0".into(),
            },
        );
        let mut records = Vec::new();
        let long = "x".repeat(300);
        for r in [record("a"), record(&long)] {
            r.encode_as_member(&mut records);
            assert_eq!(
                r.member_len(),
                r.encode_to_vec().len() + 1 + encoded_len_varint(r.encoded_len() as u64)
            );
        }
        let body = wrapper.wrap(&records);
        assert!(body.len() <= records.len() + wrapper.overhead(records.len()));
        let request = ExportLogsServiceRequest::decode(&body[..]).unwrap();
        let scope_logs = &request.resource_logs[0].scope_logs[0];
        assert_eq!(scope_logs.scope.as_ref().unwrap().name, "tracing-siem");
        assert_eq!(scope_logs.log_records, vec![record("a"), record(&long)]);
        assert_eq!(
            ExportLogsServiceRequest::decode(&wrapper.wrap(&[])[..])
                .unwrap()
                .resource_logs[0]
                .scope_logs[0]
                .log_records
                .len(),
            0
        );
    }
}
