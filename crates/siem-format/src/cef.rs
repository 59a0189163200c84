//! ArcSight Common Event Format (`CEF:0`), per the CEF Implementation Standard (rev. 25/27).
//!
//! ```text
//! CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value key=value …
//! ```
//!
//! - Header: `\` → `\\`, `|` → `\|`; control characters (CR, LF, …) become spaces, since the
//!   standard allows none. Device Vendor ≤ 63 bytes, Product ≤ 63, Version ≤ 31, Signature ID
//!   ≤ 1023, Name ≤ 512.
//! - Extension values: `\` → `\\`, `=` → `\=`, CR → `\r`, LF → `\n`; other control characters
//!   become spaces; `|` is not escaped. Values are cut to the standard's lengths (`act`,
//!   `outcome` 63, `externalId` 40, `dvchost` 100, `cs1`…`cs6` 4000, most others 1023) before
//!   escaping, on a character boundary, so truncation never splits a character or an escape.
//!   Empty values are left out.
//! - In the header and in values, NEL (U+0085) and the other C1 controls, the Unicode line and
//!   paragraph separators (U+2028, U+2029) and the bidirectional controls (U+061C, U+200E,
//!   U+200F, U+202A–U+202E, U+2066–U+2069) become spaces too: CEF has no escape for them, and
//!   raw they would split a record for a consumer that breaks lines on them, or make a console
//!   show `user\u{202E}nimda` as `useradmin`.
//!
//! Mapping (seed 000's example is the model):
//!
//! | CEF | from |
//! |-----|------|
//! | Signature ID | the canonical event type (`auth.failure`); the type as the application named it (`authentication`) with the `signature: original` option ([`SignatureName`]) |
//! | Name | `Security Event: <that type>` |
//! | Severity | [`siem_event::Severity::cef`] (1, 3, 5, 7, 10) |
//! | `rt` | timestamp, epoch milliseconds |
//! | `msg` | message |
//! | `cat` (deviceEventCategory, the category "assigned by the originating device") | the event type as the application named it; the canonical type with `signature: original`, so that both spellings are always in the record |
//! | `act`, `outcome`, `reason` | action; `success` / `failure` (denied is a failure); reason |
//! | `suser`, `suid` | actor user, user id |
//! | `src` / `shost` | actor source IP when it is an IP address, else as a host name |
//! | `dst` / `dhost` | target destination IP likewise |
//! | `requestClientApplication` | user agent |
//! | `request`, `requestMethod` | target resource, method |
//! | `dvchost`, `deviceProcessName`, `deviceFacility` | host, app, source component |
//! | `cs1`/`cs1Label=TenantID`, `cs2`/`AgentID`, `cs3`/`CorrelationID` | tenant, agent, correlation id |
//! | `cs4`…`cs6` with `csNLabel` | the first three static labels, label in PascalCase (`ConstitutionalHash`) |
//! | custom keys | further labels and metadata: the name in camelCase of ASCII letters and digits (`auth_method` → `authMethod`), prefixed `meta` when that is a CEF dictionary key (`src` → `metaSrc`) or empty; a key already written is skipped |
//! | `externalId` | the event id (written last, so the record never ends in a value's spaces) |

use std::sync::OnceLock;

use siem_event::{Outcome, SecurityEvent};

use crate::keys::{KeyRules, WrittenKeys};
use crate::text::{escape_table, truncate, with_value_text, write_escaped, EscapeTable};
use crate::{Encoder, FormatError, FormatOptions, SignatureName};

/// Keys of the CEF dictionary (and consumer keys producers must not set): a metadata field whose
/// key matches one of these (ignoring case) is written with the `meta` prefix instead.
const CEF_KEYS: &[&str] = &[
    "act",
    "agt",
    "ahost",
    "aid",
    "amac",
    "app",
    "art",
    "at",
    "atz",
    "av",
    "c6a1",
    "c6a1Label",
    "c6a2",
    "c6a2Label",
    "c6a3",
    "c6a3Label",
    "c6a4",
    "c6a4Label",
    "cat",
    "cfp1",
    "cfp1Label",
    "cfp2",
    "cfp2Label",
    "cfp3",
    "cfp3Label",
    "cfp4",
    "cfp4Label",
    "cn1",
    "cn1Label",
    "cn2",
    "cn2Label",
    "cn3",
    "cn3Label",
    "cnt",
    "cs1",
    "cs1Label",
    "cs2",
    "cs2Label",
    "cs3",
    "cs3Label",
    "cs4",
    "cs4Label",
    "cs5",
    "cs5Label",
    "cs6",
    "cs6Label",
    "destinationDnsDomain",
    "destinationServiceName",
    "destinationTranslatedAddress",
    "destinationTranslatedPort",
    "deviceCustomDate1",
    "deviceCustomDate1Label",
    "deviceCustomDate2",
    "deviceCustomDate2Label",
    "deviceDirection",
    "deviceDnsDomain",
    "deviceExternalId",
    "deviceFacility",
    "deviceInboundInterface",
    "deviceNtDomain",
    "deviceOutboundInterface",
    "devicePayloadId",
    "deviceProcessName",
    "deviceTranslatedAddress",
    "dhost",
    "dlat",
    "dlong",
    "dmac",
    "dntdom",
    "dpid",
    "dpriv",
    "dproc",
    "dpt",
    "dst",
    "dtz",
    "duid",
    "duser",
    "dvc",
    "dvchost",
    "dvcmac",
    "dvcpid",
    "end",
    "eventId",
    "externalId",
    "fileCreateTime",
    "fileHash",
    "fileId",
    "fileModificationTime",
    "filePath",
    "filePermission",
    "fileType",
    "fname",
    "fsize",
    "in",
    "msg",
    "oldFileCreateTime",
    "oldFileHash",
    "oldFileId",
    "oldFileModificationTime",
    "oldFileName",
    "oldFilePath",
    "oldFilePermission",
    "oldFileSize",
    "oldFileType",
    "out",
    "outcome",
    "proto",
    "rawEvent",
    "reason",
    "request",
    "requestClientApplication",
    "requestContext",
    "requestCookies",
    "requestMethod",
    "rt",
    "shost",
    "slat",
    "slong",
    "smac",
    "sntdom",
    "sourceDnsDomain",
    "sourceServiceName",
    "sourceTranslatedAddress",
    "sourceTranslatedPort",
    "spid",
    "spriv",
    "sproc",
    "spt",
    "src",
    "start",
    "suid",
    "suser",
    "type",
];

static KEY_INDEX: OnceLock<Vec<Vec<&'static str>>> = OnceLock::new();

const KEY_RULES: KeyRules = KeyRules {
    max_len: 63,
    reserved: CEF_KEYS,
    by_len: &KEY_INDEX,
};

/// The custom-string slots for the first static labels (1–3 are tenant, agent, correlation).
const LABEL_SLOTS: [(&str, &str); 3] = [
    (" cs4=", " cs4Label="),
    (" cs5=", " cs5Label="),
    (" cs6=", " cs6Label="),
];

/// Encodes events as CEF records (see the module documentation for the mapping).
///
/// ```
/// use siem_event::{EventType, SecurityEvent, Severity};
/// use siem_format::{CefEncoder, Encoder, FormatOptions};
///
/// let mut event = SecurityEvent::new(EventType::parse("authentication_failure"), "a=b|c\nd");
/// event.severity = Severity::High;
/// let mut out = Vec::new();
/// CefEncoder::new(&FormatOptions::default()).unwrap().encode(&event, &mut out);
/// let line = String::from_utf8(out).unwrap();
/// assert!(line.starts_with("CEF:0|tracing-siem|tracing-siem|"));
/// assert!(line.contains("|auth.failure|Security Event: auth.failure|7|"));
/// assert!(line.contains(r"msg=a\=b|c\nd "));
/// assert!(line.contains(" cat=authentication_failure "));
/// ```
#[derive(Debug, Clone)]
pub struct CefEncoder {
    /// `CEF:0|vendor|product|version|`, escaped once at construction.
    header: Vec<u8>,
    signature: SignatureName,
}

impl CefEncoder {
    /// A CEF encoder naming the options' vendor, product and version.
    /// ```
    /// use siem_format::{CefEncoder, FormatOptions};
    /// let options = FormatOptions::default().vendor("Acme");
    /// assert!(CefEncoder::new(&options).is_ok());
    /// let too_long = FormatOptions::default().version("v".repeat(32));
    /// assert!(CefEncoder::new(&too_long).is_err());
    /// ```
    pub fn new(options: &FormatOptions) -> Result<CefEncoder, FormatError> {
        let product = options.product_info()?;
        let mut header = b"CEF:0|".to_vec();
        write_header_field(&mut header, &product.vendor, 63);
        header.push(b'|');
        write_header_field(&mut header, &product.product, 63);
        header.push(b'|');
        write_header_field(&mut header, &product.version, 31);
        header.push(b'|');
        Ok(CefEncoder {
            header,
            signature: options.signature,
        })
    }
}

/// Header: `\` and `|` escaped, control characters (CR and LF included) as spaces.
static HEADER: EscapeTable = escape_table(1, &[(b'\\', 2), (b'|', 3)]);
const HEADER_REPLACEMENTS: &[&[u8]] = &[b" ", b"\\\\", b"\\|"];

/// Extension value: `\`, `=`, CR and LF escaped, other control characters as spaces.
static EXTENSION: EscapeTable = escape_table(1, &[(b'\\', 2), (b'=', 3), (b'\n', 4), (b'\r', 5)]);
const EXTENSION_REPLACEMENTS: &[&[u8]] = &[b" ", b"\\\\", b"\\=", b"\\n", b"\\r"];

/// Appends a header field: truncated, then `\` and `|` escaped, control characters as spaces.
pub(crate) fn write_header_field(out: &mut Vec<u8>, s: &str, max: usize) {
    write_escaped(out, truncate(s, max), &HEADER, HEADER_REPLACEMENTS);
}

/// Appends an extension value: truncated, then `\`, `=`, CR, LF escaped, other controls as spaces.
pub(crate) fn write_ext_value(out: &mut Vec<u8>, s: &str, max: usize) {
    write_escaped(out, truncate(s, max), &EXTENSION, EXTENSION_REPLACEMENTS);
}

/// Writes `key=value` pairs after the first one (`rt`), so each starts with a space. Keys are
/// given as ` key=` literals: one copy instead of three small writes.
struct Extension;

impl Extension {
    fn pair(&self, out: &mut Vec<u8>, key: &str, value: &str, max: usize) {
        if !value.is_empty() {
            out.extend_from_slice(key.as_bytes());
            write_ext_value(out, value, max);
        }
    }

    fn opt(&self, out: &mut Vec<u8>, key: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.pair(out, key, v, max);
        }
    }

    /// An address as `ip_key` when it parses as an IP address, else as `host_key`.
    fn address(&self, out: &mut Vec<u8>, ip_key: &str, host_key: &str, value: Option<&str>) {
        if let Some(v) = value {
            let key = if crate::text::is_ip(v) {
                ip_key
            } else {
                host_key
            };
            self.pair(out, key, v, 1023);
        }
    }
}

impl Encoder for CefEncoder {
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>) {
        out.reserve(256 + event.message.len());
        out.extend_from_slice(&self.header);
        let signature = self.signature.of(&event.event_type);
        let category = match self.signature {
            SignatureName::Canonical => event.event_type.original(),
            SignatureName::Original => event.event_type.as_str(),
        };
        write_header_field(out, signature, 1023);
        out.extend_from_slice(b"|Security Event: ");
        write_header_field(out, signature, 512 - "Security Event: ".len());
        out.push(b'|');
        out.extend_from_slice(itoa::Buffer::new().format(event.severity.cef()).as_bytes());
        out.push(b'|');

        let ext = Extension;
        out.extend_from_slice(b"rt=");
        out.extend_from_slice(
            itoa::Buffer::new()
                .format(event.timestamp.unix_millis())
                .as_bytes(),
        );
        ext.pair(out, " msg=", &event.message, 1023);
        ext.pair(out, " cat=", category, 1023);
        ext.opt(out, " act=", event.action.as_deref(), 63);
        let outcome = match event.outcome {
            Outcome::Success => "success",
            Outcome::Failure | Outcome::Denied => "failure",
            Outcome::Unknown => "",
        };
        ext.pair(out, " outcome=", outcome, 63);
        ext.opt(out, " reason=", event.reason.as_deref(), 1023);
        ext.opt(out, " suser=", event.actor.user.as_deref(), 1023);
        ext.opt(out, " suid=", event.actor.user_id.as_deref(), 1023);
        ext.address(out, " src=", " shost=", event.actor.source_ip.as_deref());
        ext.opt(
            out,
            " requestClientApplication=",
            event.actor.user_agent.as_deref(),
            1023,
        );
        ext.opt(out, " request=", event.target.resource.as_deref(), 1023);
        ext.opt(out, " requestMethod=", event.target.method.as_deref(), 1023);
        ext.address(
            out,
            " dst=",
            " dhost=",
            event.target.destination_ip.as_deref(),
        );
        ext.pair(out, " dvchost=", &event.host, 100);
        ext.pair(out, " deviceProcessName=", &event.app, 1023);
        ext.opt(out, " deviceFacility=", event.source.as_deref(), 1023);
        for (slot, slot_label, label, value) in [
            (
                " cs1=",
                " cs1Label=",
                "TenantID",
                event.tenant_id.as_deref(),
            ),
            (" cs2=", " cs2Label=", "AgentID", event.agent_id.as_deref()),
            (
                " cs3=",
                " cs3Label=",
                "CorrelationID",
                event.correlation_id.as_deref(),
            ),
        ] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                ext.pair(out, slot, v, 4000);
                ext.pair(out, slot_label, label, 1023);
            }
        }

        let mut written = WrittenKeys::new();
        let mut slots = LABEL_SLOTS.iter();
        for (name, value) in event.labels.iter() {
            if value.is_empty() {
                continue;
            }
            let label = KEY_RULES.key(name, true);
            if let Some((slot, slot_label)) = slots.next() {
                ext.pair(out, slot, value, 4000);
                out.extend_from_slice(slot_label.as_bytes());
                out.extend_from_slice(label.as_bytes());
            } else {
                let key = KEY_RULES.key(name, false);
                write_custom(&mut written, out, key.as_bytes(), value);
            }
        }
        for field in &event.metadata {
            with_value_text(&field.value, |value| {
                if !value.is_empty() {
                    let key = KEY_RULES.key(&field.name, false);
                    write_custom(&mut written, out, key.as_bytes(), value);
                }
            });
        }

        out.extend_from_slice(b" externalId=");
        event.id.write_to(out);
    }
}

/// A custom key (further labels, metadata): skipped when the record already has it.
fn write_custom(written: &mut WrittenKeys, out: &mut Vec<u8>, key: &[u8], value: &str) {
    if written.contains(out, key) {
        return;
    }
    out.push(b' ');
    written.write_checked(out, key);
    out.push(b'=');
    write_ext_value(out, value, 1023);
}

#[cfg(test)]
mod tests;
